from django.conf import settings
from django.contrib.gis.db import models
from django.contrib.postgres.indexes import GinIndex
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Area(models.Model):
    """One unit of the administrative hierarchy, with its official boundary."""

    class Level(models.IntegerChoices):
        COUNTRY = 0, _("Country")
        REGION = 1, _("Region")
        MUNICIPALITY = 2, _("Municipality")
        COMMUNITY = 3, _("Community")

    name = models.CharField(_("name"), max_length=200)
    code = models.CharField(_("code"), max_length=64, unique=True, help_text=_("Official P-code or geocode."))
    level = models.PositiveSmallIntegerField(_("level"), choices=Level.choices)
    parent = models.ForeignKey(
        "self", verbose_name=_("parent"), null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    boundary = models.MultiPolygonField(_("boundary"), srid=4326)
    # A simplified copy keeps maps light on slow connections.
    boundary_display = models.MultiPolygonField(_("display boundary"), srid=4326, null=True, blank=True)
    population = models.PositiveIntegerField(_("population"), null=True, blank=True)

    class Meta:
        verbose_name = _("area")
        verbose_name_plural = _("areas")
        ordering = ["level", "name"]
        constraints = [
            models.CheckConstraint(condition=models.Q(level__gte=0, level__lte=3), name="area_level_known"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_level_display()})"

    def ancestors(self) -> list["Area"]:
        """This area's parents, nearest first (one query per level; the tree is shallow)."""
        chain, node = [], self.parent
        while node is not None:
            chain.append(node)
            node = node.parent
        return chain


class Place(models.Model):
    """A gazetteer entry, so that "Barrio La Ceiba" finds a spot on the map."""

    name = models.CharField(_("name"), max_length=200)
    aliases = models.JSONField(_("aliases"), default=list, blank=True)
    point = models.PointField(_("point"), srid=4326)
    area = models.ForeignKey(Area, verbose_name=_("area"), on_delete=models.PROTECT, related_name="places")

    class Meta:
        verbose_name = _("place")
        verbose_name_plural = _("places")
        ordering = ["name"]
        indexes = [GinIndex(fields=["aliases"], name="place_aliases_gin")]

    def __str__(self) -> str:
        return self.name


class Committee(models.Model):
    """A local committee that triages the reports of the areas it serves."""

    name = models.CharField(_("name"), max_length=200)
    areas = models.ManyToManyField(Area, verbose_name=_("areas served"), related_name="committees")
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="Membership", related_name="committees", verbose_name=_("members")
    )

    class Meta:
        verbose_name = _("committee")
        verbose_name_plural = _("committees")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    class Role(models.TextChoices):
        MEMBER = "member", _("Member")
        COORDINATOR = "coordinator", _("Coordinator")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    committee = models.ForeignKey(Committee, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.MEMBER)
    joined_at = models.DateTimeField(_("joined at"), auto_now_add=True)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [models.UniqueConstraint(fields=["user", "committee"], name="membership_unique")]

    def __str__(self) -> str:
        return f"{self.user} @ {self.committee}"


class Institution(models.Model):
    """A security institution whose analysts see anonymised aggregates of its jurisdiction."""

    name = models.CharField(_("name"), max_length=200)
    jurisdiction = models.ManyToManyField(Area, verbose_name=_("jurisdiction"), related_name="institutions")
    analysts = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="institutions", verbose_name=_("analysts")
    )

    class Meta:
        verbose_name = _("institution")
        verbose_name_plural = _("institutions")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ActionPlan(models.Model):
    """A committee's proposed solution to a pattern of reports, and its follow-up."""

    class Status(models.TextChoices):
        DRAFT = "draft", pgettext_lazy("plan status", "Draft")
        SUBMITTED = "submitted", pgettext_lazy("plan status", "Submitted")
        ACCEPTED = "accepted", pgettext_lazy("plan status", "Accepted")
        DECLINED = "declined", pgettext_lazy("plan status", "Declined")
        IN_PROGRESS = "in_progress", pgettext_lazy("plan status", "In progress")
        DONE = "done", pgettext_lazy("plan status", "Done")
        VERIFIED = "verified", pgettext_lazy("plan status", "Verified by the community")

    committee = models.ForeignKey(
        Committee, on_delete=models.PROTECT, related_name="plans", verbose_name=_("committee")
    )
    title = models.CharField(_("title"), max_length=200)
    problem_summary = models.TextField(_("problem summary"))
    measures = models.TextField(_("proposed measures"))
    responsible_party = models.CharField(_("responsible party"), max_length=200)
    support_requested = models.TextField(_("support requested from institutions"), blank=True)
    due_date = models.DateField(_("due date"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.DRAFT)
    decline_reason = models.TextField(_("reason for declining"), blank=True)
    verification = models.TextField(_("community verification"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("created by")
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("action plan")
        verbose_name_plural = _("action plans")
        ordering = ["-updated_at"]

    def __str__(self) -> str:
        return self.title


class ActionPlanEvent(models.Model):
    """Every change of an action plan: status moves, progress reports, verification."""

    plan = models.ForeignKey(ActionPlan, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField(_("at"), auto_now_add=True)
    from_status = models.CharField(_("previous status"), max_length=12, choices=ActionPlan.Status.choices, blank=True)
    to_status = models.CharField(_("new status"), max_length=12, choices=ActionPlan.Status.choices)
    note = models.TextField(_("note"), blank=True)

    class Meta:
        verbose_name = _("action plan event")
        verbose_name_plural = _("action plan events")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.plan}: {self.from_status or '∅'} → {self.to_status}"
