"""Live pushes to committee boards over the channel layer (Redis when REDIS_URL is set).

Called only from transaction.on_commit: a board never shows a report that was rolled back.
"""

import asyncio
import logging
import os

from asgiref.sync import SyncToAsync, async_to_sync
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
    """The report as the database holds it now (after a change), to the committees serving it."""
    report = Report.objects.select_related("category", "area").filter(pk=report_id).first()
    if report is not None:
        summary_push(report, report_summary(report), event)


def summary_push(report: Report, summary: dict, event: str) -> None:
    """A summary the caller took of the report it wrote in the transaction that just committed:
    nothing to read back. `report` gives the area path that says who hears about it."""
    layer = get_channel_layer()
    if layer is None:
        return
    groups = [committee_group(committee_id) for committee_id in committee_ids_serving(report)]
    if groups:
        _send(layer, groups, {"type": "report.event", "event": event, "report": summary})


# Sends handed to the server's event loop and not finished yet: the loop holds its tasks weakly.
_in_flight: set = set()


def _send(layer, groups: list[str], message: dict) -> None:
    """On the event loop that serves this request when there is one (daphne's): scheduled there, and
    the request thread goes on at once instead of waiting for the channel layer. Elsewhere (a
    management command, a worker) the send runs to its end here."""
    loop = _request_event_loop()
    if loop is not None:
        try:
            future = asyncio.run_coroutine_threadsafe(_send_all(layer, groups, message), loop)
        except RuntimeError:  # the loop closed meanwhile: send here instead
            pass
        else:
            _in_flight.add(future)
            future.add_done_callback(_in_flight.discard)
            return
    async_to_sync(_send_all)(layer, groups, message)


async def _send_all(layer, groups: list[str], message: dict) -> None:
    for group in groups:
        try:
            await layer.group_send(group, message)
        except Exception:  # a board that misses a push still shows the report on reload
            logger.exception("live push to %s failed", group)


def _request_event_loop() -> asyncio.AbstractEventLoop | None:
    """The running event loop whose SyncToAsync runs this thread's code, or None.

    The same loop async_to_sync would send through (asgiref records it per thread): the one the
    websocket consumers and the channel layer live on, which matters for the in-memory layer.
    """
    loop = getattr(SyncToAsync.threadlocal, "main_event_loop", None)
    if loop is None or getattr(SyncToAsync.threadlocal, "main_event_loop_pid", None) != os.getpid():
        return None
    return loop if loop.is_running() else None
