"""Every write of the SMS gateway, and its side effects."""

import json
import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta
from functools import cache

from django.conf import settings
from django.contrib.gis.geos import Point
from django.core.files.base import ContentFile
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from reports.models import Report
from reports.photos import CleanPhoto, PhotoRejected, clean_photo
from reports.selectors import report_for_tracking
from reports.services import ArmsAnswers, report_create

from . import conversation as flow
from . import identity, replies
from .keywords import (
    HELP_WORDS,
    LANGUAGE_NAMES,
    LANGUAGE_WORDS,
    RESUME_WORDS,
    START_WORDS,
    STATUS_WORDS,
    STOP_WORDS,
    fold,
    language_of,
)
from .models import Conversation, InboundMedia, InboundMessage, OutboundMessage, Reporter
from .providers import SendError, backend

logger = logging.getLogger("convive.sms")


@dataclass(frozen=True)
class Inbound:
    """The fields of a provider's inbound message that Convive keeps (never the sender's name or city)."""

    message_sid: str
    address: identity.Address
    body: str
    media: list[dict]
    latitude: float | None
    longitude: float | None


@sensitive_variables()
def inbound_parse(params: dict) -> Inbound:
    """Raise identity.InvalidAddress or ValueError on a payload that cannot be a message."""
    sid = params.get("MessageSid") or params.get("SmsMessageSid") or ""
    if not sid or len(sid) > 64:
        raise ValueError("missing MessageSid")
    body = (params.get("Body") or "").replace("\x00", "")[: settings.SMS_MAX_BODY_CHARS].strip()
    try:
        count = min(int(params.get("NumMedia") or 0), settings.SMS_MEDIA_PER_MESSAGE)
    except ValueError:
        count = 0
    media = [
        {"url": params[f"MediaUrl{i}"], "content_type": params.get(f"MediaContentType{i}", "")}
        for i in range(count)
        if params.get(f"MediaUrl{i}", "").startswith("https://")
    ]
    return Inbound(
        message_sid=sid,
        address=identity.address_parse(params.get("From", "")),
        body=body,
        media=media,
        latitude=_coordinate(params.get("Latitude"), 90),
        longitude=_coordinate(params.get("Longitude"), 180),
    )


def _coordinate(raw: str | None, limit: float) -> float | None:
    try:
        value = float(raw) if raw not in (None, "") else None
    except ValueError:
        return None
    return value if value is not None and -limit <= value <= limit else None


WEBHOOK = "webhook"


def inbound_receive(*, inbound: Inbound) -> str:
    """The webhook's whole work: store the message, handle it and return the reply, in one transaction.

    Store first still holds: the row is inserted before any other work, and nothing is acknowledged
    before the commit. When the work fails (or the commit does), the transaction rolls back whole
    and the message is stored again on its own, with status failed (tasks.inbound_retry answers it
    by SMS), before the request answers 200. When the store itself fails, Twilio gets a 5xx,
    retries, then calls the fallback URL, and reconciliation stores what never arrived. One
    transaction instead of two saves a commit (a WAL flush) and locking the reporter and reading
    the message a second time; no savepoint around the work saves two more round trips on every
    message, for a second store on the rare one that fails.
    """
    stored = False
    try:
        with transaction.atomic():
            message, _created, conversation = _store(inbound=inbound, source=WEBHOOK)
            stored = True
            if message.status == InboundMessage.Status.PROCESSED:
                return message.reply
            return _answer(message.reporter, message, conversation)
    except Exception:
        if not stored:
            raise
        logger.exception("an inbound message could not be processed; it is stored as failed and will be retried")
    return _store_failed(inbound)


def _store_failed(inbound: Inbound) -> str:
    """Store a message whose handling failed, for tasks.inbound_retry; '' to answer with."""
    with transaction.atomic():
        message, _created, _conversation = _store(inbound=inbound, source=WEBHOOK)
        if message.status == InboundMessage.Status.PROCESSED:
            return message.reply  # a retry of it, handled meanwhile: answered as that one was
        InboundMessage.objects.filter(pk=message.pk).update(status=InboundMessage.Status.FAILED)
    return ""


def inbound_store(*, inbound: Inbound, source: str = WEBHOOK) -> tuple[InboundMessage, bool]:
    """Store the message exactly once per MessageSid, before anything else is done with it."""
    if source != WEBHOOK:
        # Reconciliation lists mostly messages the webhook stored long ago: leave their reporter alone.
        existing = InboundMessage.objects.filter(message_sid=inbound.message_sid).first()
        if existing is not None:
            return existing, False
    with transaction.atomic():
        message, created, _conversation = _store(inbound=inbound, source=source)
        return message, created


# What _converse reads for itself when the caller has not read it already.
UNREAD = object()


def _store(*, inbound: Inbound, source: str) -> tuple[InboundMessage, bool, Conversation | None | object]:
    """Insert the message, or find it, and read the reporter's open conversation (None if there is none).

    The caller's transaction holds the reporter's row lock from here on, so the conversation read
    stays as it is until the caller is done with this message.
    """
    reporter = reporter_touch(address=inbound.address)
    received_at = timezone.now()
    message_id, conversation = _message_insert(inbound, reporter.pk, source, received_at)
    if message_id is None:
        # Stored before: Twilio's retry or its fallback URL. A first delivery still running held the
        # reporter lock that reporter_touch waited for, so it has committed and is read whole here.
        existing = InboundMessage.objects.get(message_sid=inbound.message_sid)
        if existing.reporter_id == reporter.pk:
            existing.reporter = reporter
            return existing, False, conversation
        # The same MessageSid from another number: never seen, but lock its reporter all the same.
        existing.reporter = Reporter.objects.select_for_update().get(pk=existing.reporter_id)
        return existing, False, UNREAD
    message = InboundMessage(
        id=message_id,
        message_sid=inbound.message_sid,
        reporter=reporter,
        channel=inbound.address.channel,
        body=inbound.body,
        media=inbound.media,
        latitude=inbound.latitude,
        longitude=inbound.longitude,
        received_at=received_at,
        source=source,
    )
    message._state.adding, message._state.db = False, connection.alias
    if inbound.media:
        InboundMedia.objects.bulk_create(
            InboundMedia(message=message, index=i, url=m["url"], content_type=m["content_type"][:100])
            for i, m in enumerate(inbound.media)
        )
        transaction.on_commit(lambda: _enqueue_media(message_id), robust=True)
    return message, True, conversation


def _message_insert(
    inbound: Inbound, reporter_id: int, source: str, received_at
) -> tuple[int | None, Conversation | None]:
    """The new row's id (None when the MessageSid is stored already), and the reporter's open conversation.

    Raw SQL: ON CONFLICT DO NOTHING lets the unique constraint decide in one statement, where the
    ORM needs a SELECT first and still has to catch the race; and the open conversation comes in the
    same round trip. The statement starts after reporter_touch took the reporter's lock, so it sees
    what the previous message from this phone committed.
    """
    messages, conversations = InboundMessage._meta.db_table, Conversation._meta.db_table
    columns = ", ".join(f"conversation.{column}" for column in _conversation_columns())
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH inserted AS (
                INSERT INTO {messages} (message_sid, reporter_id, channel, body, media, latitude, longitude,
                                        received_at, source, status, reply, attempts)
                VALUES (%s, %s, %s, %s, %s::jsonb, %s, %s, %s, %s, %s, '', 0)
                ON CONFLICT (message_sid) DO NOTHING
                RETURNING id
            )
            SELECT (SELECT id FROM inserted), {columns}
            FROM (SELECT 1) AS this_message
            LEFT JOIN {conversations} AS conversation ON conversation.reporter_id = %s AND conversation.is_open
            """,  # noqa: S608 - the table names are the models', every value a parameter
            [
                inbound.message_sid,
                reporter_id,
                inbound.address.channel,
                inbound.body,
                json.dumps(inbound.media),
                inbound.latitude,
                inbound.longitude,
                received_at,
                source,
                InboundMessage.Status.RECEIVED,
                reporter_id,
            ],
        )
        message_id, *conversation = cursor.fetchone()
    return message_id, _conversation_from_row(conversation)


def _enqueue_media(message_id: int) -> None:
    from .tasks import media_fetch

    for media_id in InboundMedia.objects.filter(message_id=message_id).values_list("id", flat=True):
        media_fetch.delay(media_id)


@sensitive_variables()
def reporter_touch(*, address: identity.Address) -> Reporter:
    """The reporter for this address, with a fresh encrypted reply address and expiry.

    One upsert (raw SQL: the ORM's get_or_create and save take three statements and a savepoint on
    every message). It also takes the reporter's row lock, held until the caller's transaction
    ends: the same lock inbound_process takes, so one phone's messages are handled in order.
    """
    now = timezone.now()
    fields = {
        "address_hash": identity.address_hash(address.e164),
        "channel": address.channel,
        "reply_address": identity.reply_address_encrypt(address),
        "reply_address_expires_at": now + timedelta(days=settings.SMS_REPLY_ADDRESS_RETENTION_DAYS),
        "last_message_at": now,
    }
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {Reporter._meta.db_table} (address_hash, channel, reply_address, reply_address_expires_at,
                                                   last_message_at, language, opted_out, created_at)
            VALUES (%s, %s, %s, %s, %s, '', false, %s)
            ON CONFLICT (address_hash) DO UPDATE SET channel = EXCLUDED.channel,
                reply_address = EXCLUDED.reply_address, reply_address_expires_at = EXCLUDED.reply_address_expires_at,
                last_message_at = EXCLUDED.last_message_at
            RETURNING id, language, opted_out, opted_out_at, created_at
            """,  # noqa: S608 - the table name is the model's, every value a parameter
            [*fields.values(), now],
        )
        pk, language, opted_out, opted_out_at, created_at = cursor.fetchone()
    reporter = Reporter(
        id=pk, language=language, opted_out=opted_out, opted_out_at=opted_out_at, created_at=created_at, **fields
    )
    reporter._state.adding, reporter._state.db = False, connection.alias
    return reporter


def inbound_process(*, message_id: int) -> str:
    """Handle one stored message and return the reply ('' for none). Idempotent."""
    try:
        with transaction.atomic():
            # One phone's messages are handled one at a time, in order: the reporter's row lock first
            # (the webhook's upsert takes the same), then the message as the last holder left it.
            reporter = Reporter.objects.select_for_update(of=("self",)).get(inbound=message_id)
            message = InboundMessage.objects.get(pk=message_id)
            message.reporter = reporter
            return _answer(reporter, message)
    except Exception:
        return _failed(message_id)


def _answer(reporter: Reporter, message: InboundMessage, conversation: Conversation | None | object = UNREAD) -> str:
    """Under the reporter's lock: handle the message once and keep the reply for retries."""
    if message.status == InboundMessage.Status.PROCESSED:
        return message.reply
    reply, conversation = _dispatch(reporter, message, conversation)
    message.reply, message.status, message.processed_at = reply, InboundMessage.Status.PROCESSED, timezone.now()
    message.attempts += 1
    _message_answered(message, conversation)
    return reply


def _failed(message_id: int) -> str:
    logger.exception("inbound message %s could not be processed; it is stored and will be retried", message_id)
    InboundMessage.objects.filter(pk=message_id).exclude(status=InboundMessage.Status.PROCESSED).update(
        status=InboundMessage.Status.FAILED
    )
    return ""


def _dispatch(
    reporter: Reporter, message: InboundMessage, conversation: Conversation | None | object
) -> tuple[str, Conversation | None]:
    """The reply, and the conversation this message opened or moved on (saved with the message)."""
    folded = fold(message.body)
    words = folded.split()
    first = words[0] if words else ""
    if len(words) == 1 and any(first in w for w in STOP_WORDS.values()):
        reporter_opt_out(reporter=reporter, language=language_of(first, STOP_WORDS))
        return "", None
    if len(words) == 1 and any(first in w for w in RESUME_WORDS.values()):
        # START is understood everywhere: it says nothing about the reporter's language.
        language = reporter.language or language_of(first, RESUME_WORDS) or _language(reporter)
        reporter_opt_in(reporter=reporter, language=language)
        return replies.resumed(language), None
    reply, changed = _command(reporter, words, first), None
    if reply is None:
        reply, changed = _converse(reporter, message, folded, conversation)
    # Twilio would refuse to deliver to an opted-out number anyway; say nothing.
    return ("" if reporter.opted_out else reply), changed


def _language(reporter: Reporter) -> str:
    return reporter.language or settings.SMS_DEFAULT_LANGUAGE


def _command(reporter: Reporter, words: list[str], first: str) -> str | None:
    if len(words) == 1 and any(first in w for w in HELP_WORDS.values()):
        language = reporter.language or language_of(first, HELP_WORDS) or _language(reporter)
        return replies.help_text(language)
    if len(words) >= 2 and any(first in w for w in STATUS_WORDS.values()):
        return _status(reporter, "".join(words[1:]))
    if len(words) >= 2 and first in LANGUAGE_WORDS and " ".join(words[1:]) in LANGUAGE_NAMES:
        language = LANGUAGE_NAMES[" ".join(words[1:])]
        reporter.language = language
        reporter.save(update_fields=["language"])
        Conversation.objects.filter(reporter=reporter, is_open=True).update(language=language)
        return replies.language_set(language)
    return None


def _status(reporter: Reporter, code: str) -> str:
    report = report_for_tracking(code)
    language = _language(reporter)
    if report is None:
        return replies.status_unknown(language)
    return replies.status(language, report.tracking_code, report.status)


def _converse(
    reporter: Reporter, message: InboundMessage, folded: str, conversation: Conversation | None | object
) -> tuple[str, Conversation | None]:
    turn = flow.Turn(
        text=message.body,
        point=_point(message),
        has_media=bool(message.media),
        message=message,
    )
    if conversation is UNREAD:
        conversation = _open_conversation(reporter.pk)
    if conversation is not None and flow.is_idle(conversation, now=message.received_at):
        conversation_expire(conversation=conversation)
        conversation = None
    if conversation is None and turn.has_media and not turn.text:
        finished = _recently_reported(reporter, message)
        if finished is not None:
            # A photo sent just after the report joins that report (media_attach, once fetched).
            message.conversation = finished  # saved by _answer with the reply
            return replies.photo_received(finished.language), None
    if conversation is None:
        greeting_language = language_of(folded, START_WORDS)
        if greeting_language and greeting_language != reporter.language:
            _reporter_language_set(reporter, greeting_language)
        language = greeting_language or _language(reporter)
        conversation, reply = flow.conversation_start(
            reporter=reporter, turn=turn, language=language, greeting=greeting_language is not None
        )
    else:
        reply = flow.conversation_step(conversation=conversation, turn=turn)
    message.conversation = conversation
    # Saved by _answer with the message, in one statement, one that became a report included.
    return reply, conversation


# --- the statements (nearly) every message runs ------------------------------------------------------
# Written out: building one through the ORM costs 0.4-0.9 ms of CPU (measured, against 0.1-0.2 ms
# written out), as much as the rest of a message's work, and under load the webhook is bound by
# its CPU. Rarer paths use the ORM.


def _conversation_fields() -> list:
    return Conversation._meta.concrete_fields


@cache
def _conversation_columns() -> list[str]:
    """The quoted columns, in _conversation_fields() order (the same for the process's life)."""
    return [connection.ops.quote_name(field.column) for field in _conversation_fields()]


@cache
def _conversation_converters() -> tuple[list[str], list]:
    """Attribute names, and per field what the ORM would convert a value with (the JSON answers;
    psycopg gives dates and the rest as they are) or None."""
    fields = _conversation_fields()
    return [field.attname for field in fields], [getattr(field, "from_db_value", None) for field in fields]


def _open_conversation(reporter_id: int) -> Conversation | None:
    columns = ", ".join(_conversation_columns())
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {columns} FROM {Conversation._meta.db_table} WHERE reporter_id = %s AND is_open",  # noqa: S608
            [reporter_id],
        )
        return _conversation_from_row(cursor.fetchone())


def _conversation_from_row(row) -> Conversation | None:
    """A conversation from its columns in _conversation_fields() order; None for none (or all NULL)."""
    if row is None or row[0] is None:
        return None
    attnames, converters = _conversation_converters()
    values = [
        convert(value, None, connection) if convert is not None else value
        for convert, value in zip(converters, row, strict=True)
    ]
    return Conversation.from_db(connection.alias, attnames, values)


_CONVERSATION_STEP = (
    "state = %s, language = %s, data = %s::jsonb, is_open = %s, notify = %s, report_id = %s,"
    " last_message_at = %s, closed_at = %s"
)


def _conversation_step_values(conversation: Conversation) -> list:
    """What a step may change, in _CONVERSATION_STEP's order (reporter, channel and start are set once)."""
    return [
        conversation.state,
        conversation.language,
        json.dumps(conversation.data),
        conversation.is_open,
        conversation.notify,
        conversation.report_id,
        conversation.last_message_at,
        conversation.closed_at,
    ]


def _reporter_language_set(reporter: Reporter, language: str) -> None:
    """The greeting's language kept for the reporter: on every new reporter's first message."""
    reporter.language = language
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {Reporter._meta.db_table} SET language = %s WHERE id = %s", [language, reporter.pk])  # noqa: S608


def _conversation_update(conversation: Conversation) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Conversation._meta.db_table} SET {_CONVERSATION_STEP} WHERE id = %s",  # noqa: S608
            [*_conversation_step_values(conversation), conversation.pk],
        )


def _message_answered(message: InboundMessage, conversation: Conversation | None) -> None:
    """One statement for all the message learnt (reply, status, attempts, conversation) and for the
    conversation it opened or moved on, written by a data-modifying WITH."""
    messages, conversations = InboundMessage._meta.db_table, Conversation._meta.db_table
    answer = "reply = %s, status = %s, processed_at = %s, attempts = %s"
    values = [message.reply, message.status, message.processed_at, message.attempts]
    if conversation is None:
        sql = f"UPDATE {messages} SET {answer}, conversation_id = %s WHERE id = %s RETURNING conversation_id"  # noqa: S608
        params = [*values, message.conversation_id, message.pk]
    elif conversation.pk is None:
        sql = f"""
            WITH opened AS (
                INSERT INTO {conversations} (reporter_id, channel, started_at, state, language, data, is_open,
                                             notify, report_id, last_message_at, closed_at)
                VALUES (%s, %s, %s, %s, %s, %s::jsonb, %s, %s, %s, %s, %s)
                RETURNING id
            )
            UPDATE {messages} SET {answer}, conversation_id = (SELECT id FROM opened) WHERE id = %s
            RETURNING conversation_id
        """  # noqa: S608 - the table names are the models', every value a parameter
        start = [conversation.reporter_id, conversation.channel, conversation.started_at]
        params = [*start, *_conversation_step_values(conversation), *values, message.pk]
    else:
        sql = f"""
            WITH stepped AS (UPDATE {conversations} SET {_CONVERSATION_STEP} WHERE id = %s)
            UPDATE {messages} SET {answer}, conversation_id = %s WHERE id = %s
            RETURNING conversation_id
        """  # noqa: S608
        params = [*_conversation_step_values(conversation), conversation.pk, *values, conversation.pk, message.pk]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        conversation_id = cursor.fetchone()[0]
    if conversation is not None and conversation.pk is None:
        conversation.pk, conversation._state.adding, conversation._state.db = conversation_id, False, connection.alias
        message.conversation = conversation


def _recently_reported(reporter: Reporter, message: InboundMessage) -> Conversation | None:
    since = message.received_at - timedelta(minutes=settings.SMS_CONVERSATION_IDLE_MINUTES)
    return (
        Conversation.objects.filter(reporter=reporter, is_open=False, report__isnull=False, closed_at__gte=since)
        .order_by("-closed_at")
        .first()
    )


def _point(message: InboundMessage) -> Point | None:
    if message.latitude is None or message.longitude is None:
        return None
    return Point(message.longitude, message.latitude, srid=4326)


def conversation_submit(*, conversation: Conversation, incomplete: bool = False, save: bool = True) -> Report:
    """Turn the conversation's answers into a report, with its photos, and close it.

    save=False leaves writing the closed conversation to the caller (a message's handling, which
    writes it with the message)."""
    data = conversation.data
    category = flow.category_by_code(data.get("category") or "other")
    point, source, area = flow.resolve_location(conversation)
    description = "\n".join([*data.get("description", []), *data.get("place_text", [])])
    arms = ArmsAnswers(**flow.arms_answers(conversation)) if category.is_arms and data.get("arms") else None
    media = _stored_media(conversation)
    report = report_create(
        category=category,
        description=description,
        occurred_at=conversation.started_at,
        occurred_precision=Report.Precision.DAY,
        location=point,
        location_source=source,
        area=area,
        channel=conversation.channel,
        arms=arms,
        photos=[_clean_photo_from(item) for item in media],
        language=conversation.language,
        incomplete=incomplete,
    )
    if media:
        # Only the items read above: one stored meanwhile joins through media_attach instead.
        InboundMedia.objects.filter(id__in=[item.id for item in media]).update(attached=True)
    conversation.report = report
    conversation.state = Conversation.State.EXPIRED if incomplete else Conversation.State.DONE
    conversation.is_open = False
    conversation.closed_at = timezone.now()
    if save:
        _conversation_update(conversation)
    return report


def _stored_media(conversation: Conversation) -> list[InboundMedia]:
    if not conversation.data.get("media_messages"):
        return []  # every message with media is listed there (conversation._remember_message)
    return list(
        InboundMedia.objects.select_for_update(of=("self",))
        .filter(message__conversation=conversation, status=InboundMedia.Status.STORED, attached=False)
        .order_by("message_id", "index")
    )


def _clean_photo_from(media: InboundMedia) -> CleanPhoto:
    with media.image.open("rb") as image, media.thumbnail.open("rb") as thumb:
        return CleanPhoto(image=image.read(), thumbnail=thumb.read(), width=media.width, height=media.height)


def conversation_expire(*, conversation: Conversation) -> Report | None:
    """An idle conversation becomes a report with what it has, marked incomplete; nothing is lost."""
    if flow.has_content(conversation) and flow.default_area() is not None:
        return conversation_submit(conversation=conversation, incomplete=True)
    conversation.state = Conversation.State.EXPIRED
    conversation.is_open = False
    conversation.closed_at = timezone.now()
    conversation.save()
    return None


def reporter_opt_out(*, reporter: Reporter, language: str | None = None) -> None:
    reporter.opted_out, reporter.opted_out_at = True, timezone.now()
    reporter.save(update_fields=["opted_out", "opted_out_at"])
    OutboundMessage.objects.filter(reporter=reporter, status=OutboundMessage.Status.PENDING).update(
        status=OutboundMessage.Status.CANCELLED
    )


def reporter_opt_in(*, reporter: Reporter, language: str) -> None:
    reporter.opted_out, reporter.opted_out_at, reporter.language = False, None, language
    reporter.save(update_fields=["opted_out", "opted_out_at", "language"])


def outbound_queue(*, reporter: Reporter, body: str, report: Report | None = None) -> OutboundMessage | None:
    """Queue a message; it is sent by a worker after this transaction commits."""
    if reporter.opted_out or not reporter.reply_address:
        return None
    message = OutboundMessage.objects.create(reporter=reporter, report=report, body=body)
    # robust: a broker hiccup must not fail the request that queued the message; the row stays
    # pending and tasks.outbound_sweep sends it.
    transaction.on_commit(lambda: _enqueue_send(message.id), robust=True)
    return message


def _enqueue_send(message_id: int) -> None:
    from .tasks import outbound_send_task

    outbound_send_task.delay(message_id)


def report_status_notify(*, report: Report) -> OutboundMessage | None:
    """One generic message per status change, to an SMS reporter who asked for news."""
    conversation = Conversation.objects.select_related("reporter").filter(report=report, notify=True).first()
    if conversation is None:
        return None
    reporter = conversation.reporter
    body = replies.status_update(reporter.language or conversation.language, report.tracking_code, report.status)
    return outbound_queue(reporter=reporter, body=body, report=report)


class RetryLater(Exception):
    """The provider asked us to try again (429, 5xx, network)."""


@sensitive_variables()
def outbound_send(*, message_id: int) -> OutboundMessage:
    """Send one queued message. Raise RetryLater when trying again can help."""
    retry = False
    with transaction.atomic():
        # The row lock makes a second worker wait, then see the message is no longer pending.
        message = OutboundMessage.objects.select_for_update().select_related("reporter").get(pk=message_id)
        if message.status != OutboundMessage.Status.PENDING:
            return message
        reporter = message.reporter
        to = identity.reply_address_decrypt(reporter.reply_address)
        if reporter.opted_out or to is None:
            message.status = OutboundMessage.Status.CANCELLED
            message.save(update_fields=["status", "updated_at"])
            return message
        message.attempts += 1
        try:
            sent = backend().send(to=to, body=message.body, status_callback=_status_callback_url())
        except SendError as exc:
            retry = _send_failed(message, exc)
        else:
            message.provider_sid, message.sent_at = sent.provider_sid, timezone.now()
            message.status = _forward(message.status, sent.status)
            message.save(update_fields=["provider_sid", "sent_at", "status", "attempts", "updated_at"])
    if retry:
        raise RetryLater(message.error_code)
    return message


def _send_failed(message: OutboundMessage, exc: SendError) -> bool:
    """Record the failure; True when the message stays pending for another try."""
    from .providers.twilio import OPTED_OUT

    message.error_code = exc.code[:12]
    retry = exc.retry and message.attempts < settings.SMS_SEND_MAX_ATTEMPTS
    if exc.code == OPTED_OUT:
        reporter_opt_out(reporter=message.reporter)
        retry = False
    if not retry:
        message.status = OutboundMessage.Status.FAILED
    message.save(update_fields=["attempts", "error_code", "status", "updated_at"])
    return retry


def _status_callback_url() -> str:
    return settings.PUBLIC_BASE_URL + reverse("sms_gateway:twilio_status")


def _forward(current: str, new: str) -> str:
    rank = OutboundMessage.RANK
    return new if new in rank and rank[new] > rank.get(current, 0) else current


def outbound_status_update(*, provider_sid: str, status: str, error_code: str = "") -> bool:
    """Apply a provider status callback; statuses only move forward, whatever the arrival order."""
    with transaction.atomic():
        message = OutboundMessage.objects.select_for_update().filter(provider_sid=provider_sid).first()
        if message is None:
            return False
        moved = _forward(message.status, status)
        if moved != message.status:
            message.status = moved
            message.error_code = (error_code or message.error_code)[:12]
            message.save(update_fields=["status", "error_code", "updated_at"])
        if error_code == "21610":
            reporter_opt_out(reporter=message.reporter)
        return True


def reply_queue_for(*, message: InboundMessage, reply: str) -> None:
    """A reply that could not go back in the webhook response goes as an outbound message."""
    if reply:
        outbound_queue(reporter=message.reporter, body=reply)


def media_store(*, media_id: int) -> InboundMedia:
    """Fetch one media item with the provider's credentials and clean it like a web photo."""
    media = InboundMedia.objects.select_related("message").get(pk=media_id)
    if media.status != InboundMedia.Status.PENDING:
        return media
    media.attempts += 1
    try:
        content, content_type = backend().media_download(media.url)
        photo = clean_photo(ContentFile(content, name="media"))
    except PhotoRejected as exc:
        return _media_done(media, InboundMedia.Status.REJECTED, str(exc))
    stem = uuid.uuid4().hex
    media.image.save(f"{stem}.jpg", ContentFile(photo.image), save=False)
    media.thumbnail.save(f"{stem}_thumb.jpg", ContentFile(photo.thumbnail), save=False)
    media.width, media.height = photo.width, photo.height
    media = _media_done(media, InboundMedia.Status.STORED, "")
    media_attach(media_id=media.id)
    return media


def _media_done(media: InboundMedia, status: str, error: str) -> InboundMedia:
    media.status, media.error = status, error[:200]
    media.save()
    return media


def media_attach(*, media_id: int) -> None:
    """A photo that arrives after its conversation became a report joins that report."""
    from reports.services import photo_add

    with transaction.atomic():
        # Lock only the media row: PostgreSQL refuses FOR UPDATE on the nullable side of the outer join.
        media = (
            InboundMedia.objects.select_for_update(of=("self",))
            .select_related("message__conversation")
            .get(pk=media_id)
        )
        conversation = media.message.conversation
        if media.attached or media.status != InboundMedia.Status.STORED or conversation is None:
            return
        if conversation.report_id is None:
            return
        photo_add(report=conversation.report, photo=_clean_photo_from(media))
        media.attached = True
        media.save(update_fields=["attached"])


def report_status_changed(report_id: int) -> None:
    """Status listener (after commit): news for the SMS reporter who asked for it."""
    report = Report.objects.filter(pk=report_id).first()
    if report is not None:
        with transaction.atomic():
            report_status_notify(report=report)
