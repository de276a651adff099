"""Reads of reports, and the one access check per object kind."""

from dataclasses import dataclass
from datetime import datetime

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


def tracking_history(report: Report) -> list[TrackingStep]:
    """Status changes only: never notes, actors or places."""
    labels = dict(Report.Status.choices)
    return [
        TrackingStep(status=status, label=str(labels[status]), at=at)
        for status, at in report.events.order_by("at", "id").values_list("to_status", "at")
    ]
