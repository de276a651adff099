"""Writes for insights: every write and every side effect."""

import logging
from datetime import date

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation

from community.models import Committee
from reports.live import committee_group
from reports.models import Category

from .models import Alert
from .selectors import area_family_ids

logger = logging.getLogger("convive.insights")

# --- Early warning ----------------------------------------------------------------------------


class AlertRefused(ValueError):
    """The alert cannot take this step (it was acknowledged meanwhile)."""


def alert_raise(
    *,
    area_id: int,
    group: str,
    week: date,
    observed: int,
    expected: float,
    threshold: int,
    p_value: float,
    dispersion: float,
) -> tuple[Alert, bool]:
    """Store an alert once per area, group and week; (alert, created). A new one is pushed, after
    commit, to the boards of every committee serving its area or an area below or above it."""
    with transaction.atomic():
        # get_or_create settles a concurrent run's insert through the unique constraint.
        alert, created = Alert.objects.get_or_create(
            area_id=area_id,
            group=group,
            week=week,
            defaults={
                "observed": observed,
                "expected": expected,
                "threshold": threshold,
                "p_value": p_value,
                "dispersion": dispersion,
            },
        )
        if created:
            alert_id = alert.id
            transaction.on_commit(lambda: alert_push(alert_id), robust=True)
    return alert, created


def alert_acknowledge(*, alert: Alert, actor, note: str = "") -> Alert:
    """Record who acknowledged the alert, when, and their note; an alert is acknowledged once."""
    with transaction.atomic():
        locked = Alert.objects.select_for_update().get(pk=alert.pk)
        if locked.acknowledged_at is not None:
            raise AlertRefused("already acknowledged")
        locked.acknowledged_at = timezone.now()
        locked.acknowledged_by = actor
        locked.acknowledgement = note.strip()
        locked.save(update_fields=["acknowledged_at", "acknowledged_by", "acknowledgement"])
    return locked


def alert_committee_ids(alert: Alert) -> list[int]:
    areas = area_family_ids([alert.area_id])
    return sorted(set(Committee.areas.through.objects.filter(area_id__in=areas).values_list("committee_id", flat=True)))


def alert_summary(alert: Alert) -> dict:
    """What a board's banner needs. Pushed once to many boards, so worded in the project language."""
    with translation.override(settings.LANGUAGE_CODE):
        group = str(dict(Category.Group.choices).get(alert.group, alert.group))
    return {
        "id": alert.id,
        "area": alert.area.name,
        "group": group,
        "week": alert.week.isoformat(),
        "observed": alert.observed,
        "expected": round(alert.expected, 2),
        "threshold": alert.threshold,
    }


def alert_push(alert_id: int) -> None:
    """Called only from transaction.on_commit: a board never shows an alert that was rolled back."""
    alert = Alert.objects.select_related("area").defer("area__boundary", "area__boundary_display")
    alert = alert.filter(pk=alert_id).first()
    layer = get_channel_layer()
    if alert is None or layer is None:
        return
    message = {"type": "alert.event", "alert": alert_summary(alert)}
    for committee_id in alert_committee_ids(alert):
        try:
            async_to_sync(layer.group_send)(committee_group(committee_id), message)
        except Exception:  # a board that misses a push still lists the alert on the alerts page
            logger.exception("alert push to committee %s failed", committee_id)
