from django.conf import settings
from django.contrib.gis.db import models
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from community.models import ActionPlan, Area

# No 0/O, 1/I/L: codes are read aloud, typed on keypads and copied from SMS.
TRACKING_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
TRACKING_LENGTH = 10


class Category(models.Model):
    """What happened, mapped to the UNODC International Classification of Crime (ICCS)."""

    class Group(models.TextChoices):
        ARMS = "arms", _("Firearms and arms")
        LETHAL = "lethal", _("Lethal violence")
        VIOLENCE = "violence", _("Violence against people")
        GENDER = "gender", _("Gender-based violence")
        PROPERTY = "property", _("Property crime")
        DRUGS = "drugs", _("Drugs")
        ENVIRONMENT = "environment", _("Unsafe places")
        OTHER = "other", _("Other")

    code = models.SlugField(_("code"), max_length=40, unique=True)
    iccs_code = models.CharField(_("ICCS code"), max_length=20, blank=True, help_text=_("Blank when not a crime."))
    group = models.CharField(_("group"), max_length=20, choices=Group.choices)
    names = models.JSONField(_("names"), help_text=_('Name per language code, e.g. {"en": "Gunfire"}.'))
    is_arms = models.BooleanField(_("asks the small-arms questions"), default=False)
    is_sensitive = models.BooleanField(
        _("sensitive"), default=False, help_text=_("Sexual or intimate-partner violence: stricter release rules.")
    )
    sort_order = models.PositiveSmallIntegerField(_("order"), default=0)
    is_active = models.BooleanField(_("offered to residents"), default=True)

    class Meta:
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        ordering = ["sort_order", "code"]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        """The name in the active language, falling back to English, then the code."""
        language = (get_language() or settings.LANGUAGE_CODE).split("-")[0]
        return self.names.get(language) or self.names.get("en") or self.code


class Report(models.Model):
    class Status(models.TextChoices):
        NEW = "new", _("New")
        VERIFIED = "verified", _("Verified")
        REJECTED = "rejected", _("Rejected")
        DUPLICATE = "duplicate", _("Duplicate")
        IN_ACTION = "in_action", _("In action")
        RESOLVED = "resolved", _("Resolved")

    class Channel(models.TextChoices):
        WEB = "web", _("Web")
        SMS = "sms", _("SMS")
        WHATSAPP = "whatsapp", _("WhatsApp")
        API = "api", _("API")

    class LocationSource(models.TextChoices):
        MAP = "map", _("Point on the map")
        GPS = "gps", _("Device location")
        PLACE = "place", _("Place name")
        AREA = "area", _("Area only")

    class Precision(models.TextChoices):
        TIME = "time", _("Date and time")
        DAY = "day", _("Date only")

    class Priority(models.IntegerChoices):
        LOW = 0, _("Low")
        NORMAL = 1, _("Normal")
        HIGH = 2, _("High")
        URGENT = 3, _("Urgent")

    class Sex(models.TextChoices):
        FEMALE = "female", _("Female")
        MALE = "male", _("Male")
        OTHER = "other", _("Other")

    class AgeBand(models.TextChoices):
        CHILD = "0-14", _("0–14")
        ADOLESCENT = "15-17", _("15–17")
        YOUNG_ADULT = "18-29", _("18–29")
        ADULT = "30-59", _("30–59")
        OLDER = "60+", _("60 or older")

    # Statuses that count in aggregates.
    VALIDATED = (Status.VERIFIED, Status.IN_ACTION, Status.RESOLVED)

    tracking_code = models.CharField(_("tracking code"), max_length=TRACKING_LENGTH, unique=True, editable=False)
    category = models.ForeignKey(Category, verbose_name=_("category"), on_delete=models.PROTECT, related_name="reports")
    description = models.TextField(_("description"), blank=True)
    occurred_at = models.DateTimeField(_("occurred at"))
    occurred_precision = models.CharField(
        _("precision"), max_length=10, choices=Precision.choices, default=Precision.DAY
    )
    # The exact point is committee-only: never shown to residents, institutions or the public.
    location = models.PointField(_("location"), srid=4326, null=True, blank=True)
    location_source = models.CharField(_("location source"), max_length=10, choices=LocationSource.choices)
    area = models.ForeignKey(Area, verbose_name=_("area"), on_delete=models.PROTECT, related_name="reports")
    # The area and all its ancestors, set on write: access checks and aggregates need no tree walk.
    area_path = ArrayField(models.BigIntegerField(), default=list, editable=False)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices, default=Channel.WEB)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.NEW)
    priority = models.PositiveSmallIntegerField(_("priority"), choices=Priority.choices, default=Priority.NORMAL)
    affected_sex = models.CharField(_("affected person's sex"), max_length=10, choices=Sex.choices, blank=True)
    affected_age_band = models.CharField(_("affected person's age"), max_length=6, choices=AgeBand.choices, blank=True)
    duplicate_of = models.ForeignKey(
        "self",
        verbose_name=_("duplicate of"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="duplicates",
    )
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assigned to"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_reports",
    )
    action_plan = models.ForeignKey(
        ActionPlan,
        verbose_name=_("action plan"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="reports",
    )
    language = models.CharField(_("language"), max_length=8, blank=True)
    # An SMS conversation that went quiet becomes a report with what it had.
    incomplete = models.BooleanField(_("incomplete"), default=False)
    created_at = models.DateTimeField(_("received at"), default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("report")
        verbose_name_plural = _("reports")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["area", "status", "-created_at"], name="report_area_status"),
            models.Index(fields=["status", "-created_at"], name="report_status_created"),
            GinIndex(fields=["area_path"], name="report_area_path_gin"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(status="duplicate") | models.Q(duplicate_of__isnull=False),
                name="report_duplicate_has_original",
            ),
        ]

    def __str__(self) -> str:
        return self.tracking_code

    def formatted_code(self) -> str:
        return format_tracking_code(self.tracking_code)


def format_tracking_code(code: str) -> str:
    """Groups of five read more easily aloud and on a small screen."""
    return f"{code[:5]}-{code[5:]}"


class ArmsSighting(models.Model):
    """The small-arms questions, answered for reports in an arms category."""

    class WeaponType(models.TextChoices):
        HANDGUN = "handgun", _("Handgun (pistol, revolver)")
        LONG_GUN = "long_gun", _("Rifle or long gun")
        SHOTGUN = "shotgun", _("Shotgun")
        AUTOMATIC = "automatic", _("Automatic weapon")
        CRAFT = "craft", _("Homemade or craft weapon")
        EXPLOSIVE = "explosive", _("Grenade or explosive")
        AMMUNITION = "ammunition", _("Ammunition only")
        UNKNOWN = "unknown", _("I don't know")

    class CountBand(models.TextChoices):
        ONE = "1", _("One")
        FEW = "2-5", _("2 to 5")
        MANY = "6+", _("6 or more")
        UNKNOWN = "unknown", _("I don't know")

    class Activity(models.TextChoices):
        CARRIED = "carried", _("Carried")
        BRANDISHED = "brandished", _("Shown or pointed at someone")
        FIRED = "fired", _("Fired")
        TRADED = "traded", _("Sold or exchanged")
        STORED = "stored", _("Stored or hidden (cache)")
        TRANSPORTED = "transported", _("Transported")
        UNKNOWN = "unknown", _("I don't know")

    report = models.OneToOneField(Report, on_delete=models.CASCADE, related_name="arms")
    weapon_type = models.CharField(_("type of weapon"), max_length=12, choices=WeaponType.choices)
    weapon_count = models.CharField(_("number of weapons"), max_length=8, choices=CountBand.choices)
    activity = models.CharField(_("what was done with it"), max_length=12, choices=Activity.choices)
    people_count = models.CharField(_("people involved"), max_length=8, choices=CountBand.choices)

    class Meta:
        verbose_name = _("arms sighting")
        verbose_name_plural = _("arms sightings")

    def __str__(self) -> str:
        return f"{self.report} · {self.get_weapon_type_display()}"


def photo_path(instance: "Photo", filename: str) -> str:
    # Random names only: nothing in a path says who sent what, or when.
    return f"photos/{filename}"


class Photo(models.Model):
    """A re-encoded photo with no metadata; the bytes the resident sent are never stored."""

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="photos")
    image = models.ImageField(_("image"), upload_to=photo_path)
    thumbnail = models.ImageField(_("thumbnail"), upload_to=photo_path)
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("photo")
        verbose_name_plural = _("photos")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.image.name


class TriageEvent(models.Model):
    """One change of a report's status: the audit trail, and the resident's history."""

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="triage_events"
    )
    at = models.DateTimeField(_("at"), default=timezone.now)
    from_status = models.CharField(_("from"), max_length=12, choices=Report.Status.choices, blank=True)
    to_status = models.CharField(_("to"), max_length=12, choices=Report.Status.choices)
    # Internal: committee-only, never shown on the tracking page.
    note = models.TextField(_("internal note"), blank=True)

    class Meta:
        verbose_name = _("triage event")
        verbose_name_plural = _("triage events")
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["report", "at"], name="triage_report_at")]

    def __str__(self) -> str:
        return f"{self.report}: {self.from_status or '∅'} → {self.to_status}"


class Note(models.Model):
    """An internal committee note on a report: never shown to the resident or outside the committee."""

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    text = models.TextField(_("note"))
    created_at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        verbose_name = _("note")
        verbose_name_plural = _("notes")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"note {self.pk} on {self.report_id}"


class AuditEntry(models.Model):
    """Who looked at or did what, and when: every view of a report's detail and every action."""

    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField(_("at"), default=timezone.now, db_index=True)
    action = models.CharField(_("action"), max_length=40, db_index=True)
    report = models.ForeignKey(Report, null=True, blank=True, on_delete=models.SET_NULL, related_name="audit")
    plan = models.ForeignKey(ActionPlan, null=True, blank=True, on_delete=models.SET_NULL, related_name="audit")
    detail = models.JSONField(_("detail"), default=dict, blank=True)

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor} {self.action}"
