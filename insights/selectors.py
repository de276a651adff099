"""Reads for insights, and the one access check per object kind."""

from dataclasses import dataclass
from datetime import date, datetime

from django.conf import settings
from django.db import connection
from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _

from community.models import Area, Institution
from community.selectors import area_descendant_ids, jurisdiction_area_ids, served_area_ids
from reports.models import Category

from .models import Alert

# --- Early warning ----------------------------------------------------------------------------


def area_family_ids(area_ids: list[int]) -> set[int]:
    """The areas, every area below them and every area above them, in one recursive query."""
    if not area_ids:
        return set()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH RECURSIVE down(id) AS (
                SELECT id FROM community_area WHERE id = ANY(%(ids)s)
                UNION SELECT child.id FROM community_area child JOIN down ON child.parent_id = down.id
            ), up(id, parent_id) AS (
                SELECT id, parent_id FROM community_area WHERE id = ANY(%(ids)s)
                UNION SELECT area.id, area.parent_id FROM community_area area JOIN up ON area.id = up.parent_id
            )
            SELECT id FROM down UNION SELECT id FROM up
            """,
            {"ids": list(area_ids)},
        )
        return {row[0] for row in cursor.fetchall()}


def alert_visibility(user) -> Q | None:
    return alert_scope(user)[0]


def alert_scope(user) -> tuple[Q | None, bool]:
    """alert_visibility's filter, and whether the user serves on a committee (one set of reads)."""
    if not user.is_authenticated:
        return None, False
    if user.is_superuser:
        return Q(), True
    served_ids = served_area_ids(user)
    return _visibility(user, served_ids), bool(served_ids)


def _visibility(user, served_ids: list[int]) -> Q | None:
    """Which alerts the user sees, as a filter; None for someone with no part in them.

    Committee members see the alerts of the areas their committees serve, and of the areas below
    and above them (a surge in the municipality concerns each of its communities' committees, and a
    community's surge its municipality's). Analysts see the alerts of their jurisdiction and every
    area below it, but only as tier B would show the count: a week of fewer reports than the
    suppression threshold is for the committees alone, and sexual and intimate-partner violence no
    finer than municipality. Administrators see all.
    """
    served = area_family_ids(served_ids)
    jurisdiction = area_descendant_ids(jurisdiction_area_ids(user))
    if not served and not jurisdiction:
        return None
    visible = Q(area_id__in=served) if served else Q(pk__in=[])
    if jurisdiction:
        sensitive = Category.objects.filter(is_sensitive=True).values("group")
        coarse_enough = ~Q(group__in=sensitive) | Q(area__level__lte=Area.Level.MUNICIPALITY)
        visible |= Q(area_id__in=jurisdiction, observed__gte=settings.INSIGHTS_SUPPRESSION_THRESHOLD) & coarse_enough
    return visible


def alerts_for_user(user) -> QuerySet[Alert]:
    """The one access check for early-warning alerts, used by every entry point."""
    visible = alert_visibility(user)
    return Alert.objects.none() if visible is None else Alert.objects.filter(visible)


def alert_for_user(user, alert_id: int) -> Alert:
    """One alert the user may see, or 404 (never 403: existence does not leak)."""
    return get_object_or_404(alerts_for_user(user).select_related("area"), pk=alert_id)


@dataclass(frozen=True)
class AlertRow:
    id: int
    area: str
    level: str
    group: str
    week: date
    iso_week: str
    observed: int
    expected: float
    threshold: int
    p_value: float
    dispersion: float
    raised_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str
    acknowledgement: str

    @property
    def is_open(self) -> bool:
        return self.acknowledged_at is None


def iso_week_label(monday: date) -> str:
    year, week, _day = monday.isocalendar()
    return f"{year}-W{week:02d}"


def alert_list(alerts: QuerySet[Alert]) -> QuerySet[Alert]:
    """The alerts with what their rows show, newest week first, boundaries left out."""
    return alerts.select_related("area", "acknowledged_by").defer("area__boundary", "area__boundary_display")


def alert_rows(alerts, *, committee_viewer: bool = True) -> list[AlertRow]:
    """Rows for the alerts page, from alert_list() (or a page of it).

    Someone who serves on no committee (an analyst) is told that a committee acknowledged an
    alert, never which member or in what words: institutions see no committee member's free text."""
    alerts = list(alerts)
    labels = dict(Category.Group.choices)
    hide_committee = not committee_viewer
    analysts = set()
    if hide_committee:
        ids = {alert.acknowledged_by_id for alert in alerts if alert.acknowledged_by_id}
        through = Institution.analysts.through.objects.filter(user_id__in=ids)
        analysts = set(through.values_list("user_id", flat=True))
    rows = [
        _alert_row(alert, labels, hidden=hide_committee and alert.acknowledged_by_id not in analysts)
        for alert in alerts
    ]
    return rows


def _alert_row(alert: Alert, labels: dict, *, hidden: bool) -> AlertRow:
    by = alert.acknowledged_by.get_username() if alert.acknowledged_by else ""
    return AlertRow(
        id=alert.id,
        area=alert.area.name,
        level=alert.area.get_level_display(),
        group=str(labels.get(alert.group, alert.group)),
        week=alert.week,
        iso_week=iso_week_label(alert.week),
        observed=alert.observed,
        expected=alert.expected,
        threshold=alert.threshold,
        p_value=alert.p_value,
        dispersion=alert.dispersion,
        raised_at=alert.created_at,
        acknowledged_at=alert.acknowledged_at,
        acknowledged_by=str(_("the committee")) if hidden and alert.acknowledged_at else by,
        acknowledgement="" if hidden else alert.acknowledgement,
    )
