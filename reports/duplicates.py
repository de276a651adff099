"""Possible duplicates of a report: the same thing, reported again, near in place and time."""

from datetime import timedelta

from django.contrib.gis.db.models import PointField
from django.contrib.gis.db.models.functions import Distance
from django.contrib.gis.measure import D
from django.db.models import DurationField, F, QuerySet, Value
from django.db.models.functions import Cast, Greatest

from .models import Report

# Report.location is geometry in degrees; a geography cast measures in metres on the spheroid.
GEOGRAPHY = PointField(geography=True, srid=4326)


def duplicate_candidates(
    report: Report,
    *,
    among: QuerySet[Report],
    distance_m: float = 300,
    window: timedelta = timedelta(hours=48),
    limit: int = 10,
) -> list[Report]:
    """Reports of the same category that happened within `window` of this one and within
    `distance_m` of its point (or, without a point, in the same area), nearest first.

    `among` is what the member may see (`reports_for_user`): suggestions never leak other reports.
    Candidates carry `distance_m` (None without a point) and `gap` (time apart). One query.
    """
    at = report.occurred_at
    gap = Greatest(F("occurred_at") - Value(at), Value(at) - F("occurred_at"), output_field=DurationField())
    candidates = (
        among.filter(category_id=report.category_id, occurred_at__range=(at - window, at + window))
        .exclude(pk=report.pk)
        # A report already merged into this one cannot be its original.
        .exclude(duplicate_of_id=report.pk)
        .select_related("area", "duplicate_of")
        .annotate(gap=gap)
    )
    if report.location is None:
        candidates = candidates.filter(area_id=report.area_id)
        ordering = ["gap", "-id"]
    else:
        here = Value(report.location, output_field=GEOGRAPHY)
        candidates = (
            candidates.alias(geography=Cast("location", GEOGRAPHY))
            .filter(geography__dwithin=(here, D(m=distance_m)))
            .annotate(distance=Distance("geography", here))
        )
        ordering = ["distance", "gap", "-id"]
    rows = list(candidates.order_by(*ordering)[:limit])
    for row in rows:
        distance = getattr(row, "distance", None)
        row.distance_m = round(distance.m) if distance is not None else None
    return rows
