"""Reads of reports, and the one access check per object kind."""

from dataclasses import dataclass
from datetime import datetime

from django.utils.translation import gettext_lazy as _

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
