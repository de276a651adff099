"""Reads for insights, and the one access check per object kind."""

from dataclasses import dataclass
from datetime import date, datetime

from django.conf import settings
from django.db import connection
from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404

from community.models import Area
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
    """Which alerts the user sees, as a filter; None for someone with no part in them.

    Committee members see the alerts of the areas their committees serve, and of the areas below
    and above them (a surge in the municipality concerns each of its communities' committees, and a
    community's surge its municipality's). Analysts see the alerts of their jurisdiction and every
    area below it, but only as tier B would show the count: a week of fewer reports than the
    suppression threshold is for the committees alone, and sexual and intimate-partner violence no
    finer than municipality. Administrators see all.
    """
    if not user.is_authenticated:
        return None
    if user.is_superuser:
        return Q()
    served = area_family_ids(served_area_ids(user))
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


def alert_rows(alerts) -> list[AlertRow]:
    """Rows for the alerts page, from alert_list() (or a page of it)."""
    labels = dict(Category.Group.choices)
    return [
        AlertRow(
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
            acknowledged_by=alert.acknowledged_by.get_username() if alert.acknowledged_by else "",
            acknowledgement=alert.acknowledgement,
        )
        for alert in alerts
    ]
