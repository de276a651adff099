"""Background work of the SMS gateway: sending, media, and the periodic safety nets."""

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from . import services
from .models import Conversation, InboundMessage, OutboundMessage, Reporter
from .providers import backend

logger = logging.getLogger("convive.sms")
RETRY_BACKOFF = (15, 60, 300, 900, 3600)


# No retry limit here: outbound_send stops raising RetryLater after SMS_SEND_MAX_ATTEMPTS and marks
# the message failed; a lower limit here would leave it pending forever once that setting exceeds it.
@shared_task(bind=True, max_retries=None, acks_late=True)
def outbound_send_task(self, message_id: int) -> None:
    try:
        services.outbound_send(message_id=message_id)
    except services.RetryLater as exc:
        countdown = RETRY_BACKOFF[min(self.request.retries, len(RETRY_BACKOFF) - 1)]
        raise self.retry(exc=exc, countdown=countdown) from exc


@shared_task(bind=True, max_retries=4, acks_late=True)
def media_fetch(self, media_id: int) -> None:
    try:
        services.media_store(media_id=media_id)
    except OSError as exc:
        raise self.retry(exc=exc, countdown=30 * (self.request.retries + 1)) from exc


@shared_task
def conversations_expire() -> int:
    """Idle conversations become incomplete reports, so nothing a resident sent is lost."""
    cutoff = timezone.now() - timedelta(minutes=settings.SMS_CONVERSATION_IDLE_MINUTES)
    expired = 0
    for reporter_id in Conversation.objects.filter(is_open=True, last_message_at__lt=cutoff).values_list(
        "reporter_id", flat=True
    ):
        with transaction.atomic():
            # The same lock as message handling: a message arriving now waits, then starts afresh.
            Reporter.objects.select_for_update().get(pk=reporter_id)
            conversation = Conversation.objects.filter(
                reporter_id=reporter_id, is_open=True, last_message_at__lt=cutoff
            ).first()
            if conversation is not None:
                services.conversation_expire(conversation=conversation)
                expired += 1
    return expired


@shared_task
def inbound_retry() -> int:
    """Messages stored but not handled (a crash, a deploy) are handled now; replies go as SMS."""
    stale = timezone.now() - timedelta(minutes=1)
    ids = InboundMessage.objects.filter(
        status__in=[InboundMessage.Status.RECEIVED, InboundMessage.Status.FAILED],
        received_at__lt=stale,
        attempts__lt=5,
    ).values_list("id", flat=True)
    for message_id in ids:
        _process_and_reply(message_id)
    return len(ids)


def _process_and_reply(message_id: int) -> None:
    reply = services.inbound_process(message_id=message_id)
    message = InboundMessage.objects.select_related("reporter").get(pk=message_id)
    if message.status == InboundMessage.Status.PROCESSED:
        with transaction.atomic():
            services.reply_queue_for(message=message, reply=reply)
    else:
        InboundMessage.objects.filter(pk=message_id).update(attempts=message.attempts + 1)


@shared_task
def reconcile() -> int:
    """Store any recent inbound message the webhook never saw (Twilio gave up on us)."""
    since = timezone.now() - timedelta(hours=settings.SMS_RECONCILE_WINDOW_HOURS)
    stored = 0
    for params in backend().list_inbound(since=since):
        try:
            inbound = services.inbound_parse(params)
        except ValueError:
            continue
        message, created = services.inbound_store(inbound=inbound, source="reconcile")
        if created:
            stored += 1
            _process_and_reply(message.id)
    if stored:
        logger.warning("reconciliation stored %d message(s) the webhook missed", stored)
    return stored


@shared_task
def outbound_sweep() -> int:
    """Send messages left pending (the broker was down when they were queued, or a worker died)."""
    stale = timezone.now() - timedelta(minutes=2)
    ids = list(
        OutboundMessage.objects.filter(status=OutboundMessage.Status.PENDING, created_at__lt=stale)
        .order_by("created_at")
        .values_list("id", flat=True)[:500]
    )
    for message_id in ids:
        try:
            services.outbound_send(message_id=message_id)
        except services.RetryLater:
            continue
    return len(ids)


@shared_task
def retention_purge() -> int:
    """Erase reply addresses past their retention period."""
    return Reporter.objects.filter(reply_address__isnull=False, reply_address_expires_at__lt=timezone.now()).update(
        reply_address=None, reply_address_expires_at=None
    )
