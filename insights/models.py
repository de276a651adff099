from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from community.models import Area


class RollupCell(models.Model):
    """One count of validated reports for one cell of one pre-aggregated cuboid.

    Kept up to date in the transaction that validates or un-validates a report, so aggregates never
    scan report rows or join points to boundaries. `dims` is a bit mask of the dimensions this
    cuboid is keyed by (see insights.rollup.DIMENSION_BITS); columns outside the mask hold "".
    `area` is the report's area at `level`: its ancestor at that level, or its own area when the
    report is located only more coarsely (so that each level partitions the one above).
    """

    class PeriodKind(models.TextChoices):
        WEEK = "w", _("ISO week")
        MONTH = "m", _("Month")

    dims = models.PositiveSmallIntegerField()
    level = models.PositiveSmallIntegerField(choices=Area.Level.choices)
    area = models.ForeignKey(Area, on_delete=models.CASCADE, related_name="+")
    period_kind = models.CharField(max_length=1, choices=PeriodKind.choices)
    period = models.DateField()
    # Sensitive categories (sexual and intimate-partner violence) are counted and released apart.
    sensitive = models.BooleanField(default=False)
    group = models.CharField(max_length=20, blank=True, default="")
    category = models.CharField(max_length=40, blank=True, default="")
    channel = models.CharField(max_length=10, blank=True, default="")
    sex = models.CharField(max_length=10, blank=True, default="")
    age_band = models.CharField(max_length=6, blank=True, default="")
    count = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "dims",
                    "level",
                    "period_kind",
                    "sensitive",
                    "period",
                    "area",
                    "group",
                    "category",
                    "channel",
                    "sex",
                    "age_band",
                ],
                name="rollup_cell_key",
            ),
            models.CheckConstraint(condition=models.Q(count__gte=0), name="rollup_count_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.dims}/{self.level}/{self.period_kind} {self.area_id} {self.period}: {self.count}"


class RollupState(models.Model):
    """A single row whose version moves with every change to the rollup: released tables are
    cached per version, so a cached table is never older than the counts it came from."""

    version = models.BigIntegerField(default=0)
    rebuilt_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"rollup v{self.version}"


class AwarenessCampaign(models.Model):
    """Weeks when an awareness campaign invited reports in an area: they stay out of early-warning
    baselines there, so a campaign does not make the weeks after it look quiet."""

    area = models.ForeignKey(Area, on_delete=models.CASCADE, related_name="campaigns", verbose_name=_("area"))
    starts_on = models.DateField(_("starts on"))
    ends_on = models.DateField(_("ends on"))
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("awareness campaign")
        verbose_name_plural = _("awareness campaigns")
        ordering = ["-starts_on"]
        constraints = [
            models.CheckConstraint(condition=models.Q(ends_on__gte=models.F("starts_on")), name="campaign_ordered"),
        ]

    def __str__(self) -> str:
        return f"{self.area} {self.starts_on}–{self.ends_on}"


class Alert(models.Model):
    """An early warning: an area's count for a category group in one ISO week, far above its baseline."""

    area = models.ForeignKey(Area, on_delete=models.CASCADE, related_name="alerts", verbose_name=_("area"))
    group = models.CharField(_("category group"), max_length=20)
    week = models.DateField(_("week (Monday)"))
    observed = models.PositiveIntegerField(_("observed"))
    expected = models.FloatField(_("expected"))
    threshold = models.PositiveIntegerField(_("alert threshold"), help_text=_("The smallest count that alerts."))
    p_value = models.FloatField(_("p-value"))
    dispersion = models.FloatField(_("dispersion"), default=1.0)
    created_at = models.DateTimeField(_("raised at"), auto_now_add=True)
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    acknowledgement = models.CharField(_("acknowledgement note"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("early-warning alert")
        verbose_name_plural = _("early-warning alerts")
        ordering = ["-week", "area__name", "group"]
        constraints = [models.UniqueConstraint(fields=["area", "group", "week"], name="alert_once_per_week")]

    def __str__(self) -> str:
        return f"{self.area} {self.group} {self.week}: {self.observed} (expected {self.expected:.1f})"
