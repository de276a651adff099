"""Live pushes to committee boards over the channel layer (Redis when REDIS_URL is set).

Called only from transaction.on_commit: a board never shows a report that was rolled back.
"""

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from .models import Report
from .selectors import committee_ids_serving

logger = logging.getLogger("convive.live")


def committee_group(committee_id: int) -> str:
    return f"committee.{committee_id}"


def report_summary(report: Report) -> dict:
    """What a board row needs; sent only to committees that may see the report."""
    return {
        "id": report.id,
        "code": report.formatted_code(),
        "status": report.status,
        "category": report.category.code,
        "channel": report.channel,
        "area": report.area.name,
        "created_at": report.created_at.isoformat(),
        "lon": report.location.x if report.location else None,
        "lat": report.location.y if report.location else None,
    }


def report_push(report_id: int, event: str) -> None:
    report = Report.objects.select_related("category", "area").filter(pk=report_id).first()
    layer = get_channel_layer()
    if report is None or layer is None:
        return
    message = {"type": "report.event", "event": event, "report": report_summary(report)}
    for committee_id in committee_ids_serving(report):
        try:
            async_to_sync(layer.group_send)(committee_group(committee_id), message)
        except Exception:  # a board that misses a push still shows the report on reload
            logger.exception("live push to committee %s failed", committee_id)
