"""Reads of reports, and the one access check per object kind."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _

from community.models import Committee
from community.selectors import served_area_ids

from .models import TRACKING_ALPHABET, TRACKING_LENGTH, Report


@dataclass(frozen=True)
class TrackingStep:
    status: str
    label: str
    at: datetime


def normalise_tracking_code(raw: str) -> str | None:
    """Accept what people type: lower case, spaces and dashes are fine."""
    code = "".join(ch for ch in raw.upper() if ch.isalnum())
    if len(code) != TRACKING_LENGTH or any(ch not in TRACKING_ALPHABET for ch in code):
        return None
    return code


def report_for_tracking(raw_code: str) -> Report | None:
    """The report a resident may see by its code, or None; malformed and unknown codes look the same."""
    code = normalise_tracking_code(raw_code)
    if code is None:
        return None
    return Report.objects.filter(tracking_code=code).first()


# What a resident reads: plain words, and "closed" rather than "rejected".
RESIDENT_LABELS = {
    Report.Status.NEW: _("Received"),
    Report.Status.VERIFIED: _("Confirmed"),
    Report.Status.REJECTED: _("Closed"),
    Report.Status.DUPLICATE: _("Joined with another report"),
    Report.Status.IN_ACTION: _("In action"),
    Report.Status.RESOLVED: _("Resolved"),
}


def tracking_history(report: Report) -> list[TrackingStep]:
    """Status changes only: never notes, actors or places."""
    labels = RESIDENT_LABELS
    return [
        TrackingStep(status=status, label=str(labels[status]), at=at)
        for status, at in report.events.order_by("at", "id").values_list("to_status", "at")
    ]


def reports_for_user(user) -> QuerySet[Report]:
    """The one access check for reports, used by every entry point.

    Committee members see the reports whose area lies within an area their committee serves
    (at any depth: each report carries its area's ancestors); administrators see all; everyone
    else, institution analysts included, sees none.
    """
    if not user.is_authenticated:
        return Report.objects.none()
    if user.is_superuser:
        return Report.objects.all()
    areas = served_area_ids(user)
    if not areas:
        return Report.objects.none()
    return Report.objects.filter(area_path__overlap=areas)


def report_for_user(user, report_id: int) -> Report:
    """One report the user may see, or 404 (never 403: existence does not leak)."""
    queryset = reports_for_user(user).select_related("category", "area", "area__parent", "assigned_to", "arms")
    return get_object_or_404(queryset, pk=report_id)


def committee_ids_serving(report: Report) -> list[int]:
    """Committees whose areas contain the report's area: who hears about it live."""
    return sorted(
        set(Committee.areas.through.objects.filter(area_id__in=report.area_path).values_list("committee_id", flat=True))
    )
