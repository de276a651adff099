"""Development backend: messages are written to the log instead of sent."""

import logging
import uuid

from . import Sent

logger = logging.getLogger("convive.sms.console")


def send(*, to: str, body: str, status_callback: str) -> Sent:
    # The address is never logged: only the text, which is generic by design.
    logger.info("SMS (console backend): %s", body)
    return Sent(provider_sid=f"CONSOLE{uuid.uuid4().hex[:26]}", status="sent")


def list_inbound(*, since) -> list[dict]:
    return []


def media_download(url: str) -> tuple[bytes, str]:
    raise OSError("the console backend cannot fetch media")
