"""The gateway's background work: sending with backoff, idle conversations becoming reports,
reconciliation of messages the webhook missed, erasing reply addresses, and photos fetched from
Twilio with its credentials and cleaned before they join a report. Twilio is reached only through
stubs of its HTTP edges."""

import io
from datetime import timedelta
from email.utils import format_datetime

import pytest
from celery.exceptions import Retry
from django.utils import timezone
from PIL import Image

from reports.models import Report
from sms_gateway import identity, replies, services, tasks
from sms_gateway.models import Conversation, InboundMedia, InboundMessage, OutboundMessage, Reporter
from sms_gateway.providers import twilio as twilio_provider

from .conftest import ACCOUNT_SID, AUTH_TOKEN, OUR_NUMBER, PHONE, FakeTwilioHttp, new_sid

MESSAGES_URL = f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
OTHER_PHONE = "+50433445566"
DESCRIPTION = "Dos hombres golpearon a un vecino en la esquina"


def reporter_for(address: str = PHONE) -> Reporter:
    return services.reporter_touch(address=identity.address_parse(address))


# --- sending with backoff -----------------------------------------------------------------------


@pytest.fixture
def pending(db) -> OutboundMessage:
    return services.outbound_queue(reporter=reporter_for(), body="Convive: novedades.")


def unavailable(twilio_http: FakeTwilioHttp, times: int = 1) -> None:
    for _ in range(times):
        twilio_http.queue(503, {"code": 20503, "message": "Service Unavailable", "status": 503})


def test_it_schedules_a_retry_with_backoff(pending, twilio_http, settings):
    settings.SMS_SEND_MAX_ATTEMPTS = 10
    unavailable(twilio_http, 7)
    countdowns = []
    for retries in range(7):
        # Eager tasks propagate celery's Retry instead of sleeping: the countdown is on it.
        with pytest.raises(Retry) as retry:
            tasks.outbound_send_task.apply(args=[pending.id], retries=retries)
        countdowns.append(retry.value.when)
    assert countdowns == [15, 60, 300, 900, 3600, 3600, 3600]
    pending.refresh_from_db()
    assert (pending.status, pending.attempts) == ("pending", 7)


def test_it_keeps_a_message_pending_for_the_sweep_when_the_first_send_fails(
    pending, twilio_http, django_capture_on_commit_callbacks
):
    unavailable(twilio_http)
    # The request that queued the message does not fail: the send error stays with the worker.
    with django_capture_on_commit_callbacks(execute=True):
        services.outbound_queue(reporter=pending.reporter, body="Convive: otra novedad.")
    message = OutboundMessage.objects.get(body="Convive: otra novedad.")
    assert (message.status, message.attempts, message.error_code) == ("pending", 1, "20503")

    OutboundMessage.objects.update(created_at=timezone.now() - timedelta(minutes=5))
    assert tasks.outbound_sweep() == 2
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("queued", 2)


@pytest.mark.parametrize("max_attempts", [3, 8])
def test_it_fails_the_message_after_the_last_attempt(pending, twilio_http, settings, max_attempts):
    settings.SMS_SEND_MAX_ATTEMPTS = max_attempts
    unavailable(twilio_http, max_attempts)
    for retries in range(max_attempts - 1):
        with pytest.raises(Retry):
            tasks.outbound_send_task.apply(args=[pending.id], retries=retries)
    result = tasks.outbound_send_task.apply(args=[pending.id], retries=max_attempts - 1)
    assert result.successful()
    pending.refresh_from_db()
    assert (pending.status, pending.attempts, pending.error_code) == ("failed", max_attempts, "20503")
    assert len(twilio_http.requests) == max_attempts


def test_it_does_not_retry_an_invalid_number(pending, twilio_http):
    twilio_http.queue(400, {"code": 21211, "message": "The 'To' number is not a valid phone number.", "status": 400})
    assert tasks.outbound_send_task.apply(args=[pending.id]).successful()
    pending.refresh_from_db()
    assert (pending.status, pending.attempts, pending.error_code) == ("failed", 1, "21211")
    assert len(twilio_http.requests) == 1


# --- idle conversations -------------------------------------------------------------------------


def go_idle(minutes: int = 31) -> None:
    Conversation.objects.filter(is_open=True).update(last_message_at=timezone.now() - timedelta(minutes=minutes))


def test_it_turns_an_idle_conversation_into_an_incomplete_report(phone):
    phone.say(DESCRIPTION)
    phone.say("5")
    go_idle()
    assert tasks.conversations_expire() == 1
    conversation = Conversation.objects.get()
    assert (conversation.state, conversation.is_open) == ("expired", False)
    report = conversation.report
    assert report.incomplete and report.channel == "sms"
    assert (report.category.code, report.description) == ("assault", DESCRIPTION)
    assert (report.area.code, report.location, report.location_source) == ("TL", None, "area")


def test_it_puts_an_expired_report_in_the_default_area(phone, settings):
    settings.SMS_DEFAULT_AREA_CODE = "TL0101"
    phone.say(DESCRIPTION)
    go_idle()
    tasks.conversations_expire()
    report = Report.objects.get()
    assert (report.area.code, report.category.code, report.incomplete) == ("TL0101", "other", True)


def test_it_puts_an_expired_report_at_the_place_named(phone, geo):
    for text in ("Hola", "5", "Parque Central", DESCRIPTION):
        phone.say(text)
    go_idle()
    tasks.conversations_expire()
    report = Report.objects.get()
    assert (report.area, report.location, report.location_source) == (geo["west"], geo["place"].point, "place")
    assert report.incomplete and report.description == DESCRIPTION


def test_it_expires_an_empty_conversation_without_a_report(phone):
    phone.say("Hola")
    go_idle()
    assert tasks.conversations_expire() == 1
    conversation = Conversation.objects.get()
    assert (conversation.state, conversation.is_open, conversation.report) == ("expired", False, None)
    assert not Report.objects.exists()


def test_it_leaves_a_conversation_that_is_not_idle_yet(phone):
    phone.say(DESCRIPTION)
    go_idle(minutes=29)
    assert tasks.conversations_expire() == 0
    assert Conversation.objects.get().is_open
    assert not Report.objects.exists()


def test_it_starts_afresh_after_expiry(phone):
    phone.say(DESCRIPTION)
    go_idle()
    tasks.conversations_expire()
    assert phone.say("Hola").startswith("Convive:")
    old, new = Conversation.objects.order_by("id")
    assert (old.is_open, new.is_open, new.state, new.report) == (False, True, "category", None)
    assert Report.objects.count() == 1


def test_it_expires_an_idle_conversation_when_the_next_message_comes_first(phone):
    phone.say(DESCRIPTION)
    phone.say("5")
    go_idle()
    phone.say("Hola")
    old, new = Conversation.objects.order_by("id")
    assert (old.state, old.report.incomplete, old.report.description) == ("expired", True, DESCRIPTION)
    assert (new.is_open, new.state, new.data.get("category")) == (True, "category", None)
    assert tasks.conversations_expire() == 0


# --- reconciliation -----------------------------------------------------------------------------


def twilio_message(sid: str, body: str, *, minutes_ago: int, from_: str = PHONE, direction: str = "inbound") -> dict:
    """A Message resource as Twilio's list returns it."""
    sent = format_datetime(timezone.now() - timedelta(minutes=minutes_ago), usegmt=True)
    return {
        "sid": sid,
        "account_sid": ACCOUNT_SID,
        "from": from_ if direction == "inbound" else OUR_NUMBER,
        "to": OUR_NUMBER if direction == "inbound" else from_,
        "body": body,
        "direction": direction,
        "num_media": "0",
        "num_segments": "1",
        "status": "received" if direction == "inbound" else "delivered",
        "date_created": sent,
        "date_sent": sent,
        "date_updated": sent,
        "api_version": "2010-04-01",
        "uri": f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{sid}.json",
    }


def messages_page(*messages: dict) -> dict:
    # Newest first, as Twilio lists them; one page.
    uri = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json?PageSize=100&Page=0"
    return {
        "messages": list(messages),
        "first_page_uri": uri,
        "next_page_uri": None,
        "previous_page_uri": None,
        "page": 0,
        "page_size": 100,
        "start": 0,
        "end": len(messages) - 1,
        "uri": uri,
    }


def reconcile(twilio_http, page: dict, django_capture_on_commit_callbacks, whatsapp: dict | None = None) -> int:
    """One listing for the SMS number, one for its WhatsApp address."""
    twilio_http.queue(200, page)
    twilio_http.queue(200, whatsapp or messages_page())
    with django_capture_on_commit_callbacks(execute=True):
        return tasks.reconcile()


def test_it_stores_only_the_messages_the_webhook_missed(phone, twilio_http, django_capture_on_commit_callbacks):
    seen, missed = new_sid(), new_sid()
    phone.say("Hola", sid=seen)
    page = messages_page(
        twilio_message(new_sid(), "Convive: gracias.", minutes_ago=1, direction="outbound-reply"),
        twilio_message(missed, "5", minutes_ago=2),
        twilio_message(seen, "Hola", minutes_ago=3),
    )
    assert reconcile(twilio_http, page, django_capture_on_commit_callbacks) == 1

    listing, whatsapp_listing, reply = twilio_http.requests
    assert (listing["method"], listing["url"]) == ("GET", MESSAGES_URL)
    assert listing["params"]["To"] == OUR_NUMBER and "DateSent>" in listing["params"]
    assert whatsapp_listing["params"]["To"] == f"whatsapp:{OUR_NUMBER}"
    message = InboundMessage.objects.get(message_sid=missed)
    assert (message.source, message.status, message.body) == ("reconcile", "processed", "5")
    assert message.conversation == InboundMessage.objects.get(message_sid=seen).conversation
    assert message.conversation.data["category"] == "assault"
    outbound = OutboundMessage.objects.get()
    assert outbound.body == message.reply == replies.ask_where("es")
    assert (outbound.status, reply["data"]["To"], reply["data"]["Body"]) == ("queued", PHONE, outbound.body)

    assert reconcile(twilio_http, page, django_capture_on_commit_callbacks) == 0
    assert InboundMessage.objects.count() == 2 and OutboundMessage.objects.count() == 1
    assert len(twilio_http.requests) == 5


def test_it_recovers_a_missed_whatsapp_message_with_its_media(
    db, geo, twilio_http, django_capture_on_commit_callbacks, monkeypatch
):
    missed = new_sid()
    message = twilio_message(missed, "", minutes_ago=2, from_=f"whatsapp:{PHONE}")
    message.update(to=f"whatsapp:{OUR_NUMBER}", num_media="1")
    media_uri = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{missed}/Media/ME{'b' * 32}.json"
    twilio_http.queue(200, messages_page())
    twilio_http.queue(200, messages_page(message))
    twilio_http.queue(
        200,
        {
            "media_list": [{"sid": "ME" + "b" * 32, "content_type": "image/jpeg", "uri": media_uri}],
            "next_page_uri": None,
            "page": 0,
            "page_size": 10,
            "uri": media_uri,
        },
    )
    downloads = []
    monkeypatch.setattr(services, "_enqueue_media", lambda message_id: downloads.append(message_id))
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.reconcile() == 1
    stored = InboundMessage.objects.get(message_sid=missed)
    assert (stored.channel, stored.source) == ("whatsapp", "reconcile")
    assert stored.media_items.get().url == "https://api.twilio.com" + media_uri.removesuffix(".json")
    assert downloads == [stored.id]


def test_it_handles_missed_messages_oldest_first(db, geo, twilio_http, django_capture_on_commit_callbacks):
    page = messages_page(
        twilio_message(new_sid(), "5", minutes_ago=2),
        twilio_message(new_sid(), "Hola", minutes_ago=3),
        twilio_message(new_sid(), "Hola", minutes_ago=4, from_=OTHER_PHONE),
    )
    assert reconcile(twilio_http, page, django_capture_on_commit_callbacks) == 3
    conversation = Conversation.objects.get(messages__body="5")
    assert (conversation.state, conversation.data.get("category")) == ("where", "assault")
    assert [m.body for m in conversation.messages.order_by("id")] == ["Hola", "5"]
    assert OutboundMessage.objects.filter(reporter=conversation.reporter).count() == 2


def test_it_handles_a_stored_message_that_was_never_processed(db, geo, twilio_http, django_capture_on_commit_callbacks):
    inbound = services.inbound_parse({"MessageSid": new_sid(), "From": PHONE, "Body": "Hola"})
    message, _ = services.inbound_store(inbound=inbound)
    InboundMessage.objects.filter(pk=message.pk).update(received_at=timezone.now() - timedelta(minutes=2))
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.inbound_retry() == 1
    message.refresh_from_db()
    assert message.status == "processed" and message.reply.startswith("Convive:")
    assert OutboundMessage.objects.get().body == message.reply
    assert twilio_http.requests[0]["data"]["Body"] == message.reply


# --- retention ----------------------------------------------------------------------------------


def test_it_erases_reply_addresses_past_their_retention(db):
    expired, current = reporter_for(PHONE), reporter_for(OTHER_PHONE)
    Reporter.objects.filter(pk=expired.pk).update(reply_address_expires_at=timezone.now() - timedelta(minutes=1))
    assert tasks.retention_purge() == 1
    expired.refresh_from_db()
    current.refresh_from_db()
    assert (expired.reply_address, expired.reply_address_expires_at) == (None, None)
    assert services.outbound_queue(reporter=expired, body="Convive: novedades.") is None
    assert identity.reply_address_decrypt(current.reply_address) == OTHER_PHONE
    assert current.reply_address_expires_at > timezone.now()
    assert tasks.retention_purge() == 0


# --- media --------------------------------------------------------------------------------------

MEDIA_URL = f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/MM{'a' * 32}/Media/ME123"
GPS_DATUM = "WGS-84-CONVIVE-TEST"


def jpeg_with_gps() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "ConviveTestCam"
    exif.get_ifd(0x8825).update({1: "N", 2: (15.0, 30.0, 12.5), 3: "W", 4: (88.0, 6.0, 3.25), 0x12: GPS_DATUM})
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 40, 40)).save(out, "JPEG", exif=exif)
    return out.getvalue()


class MediaResponse:
    def __init__(self, content: bytes, content_type: str) -> None:
        self.content, self.headers = content, {"Content-Type": content_type}

    def raise_for_status(self) -> None:
        pass


class MediaSession:
    """Twilio's media edge: records each download and answers with one file."""

    def __init__(self, content: bytes, content_type: str) -> None:
        self.content, self.content_type, self.calls = content, content_type, []

    def get(self, url, auth=None, timeout=None):
        self.calls.append({"url": url, "auth": auth, "timeout": timeout})
        return MediaResponse(self.content, self.content_type)


@pytest.fixture
def media(monkeypatch) -> MediaSession:
    session = MediaSession(jpeg_with_gps(), "image/jpeg")
    monkeypatch.setattr(twilio_provider, "media_session", lambda: session)
    return session


def send_media(phone, content_type: str = "image/jpeg", body: str = "") -> str:
    return phone.say(body, NumMedia="1", MediaUrl0=MEDIA_URL, MediaContentType0=content_type)


def finish_report(phone) -> Report:
    for text in ("5", "Parque Central", DESCRIPTION):
        phone.say(text)
    assert "Codigo" in phone.say("1")
    return Conversation.objects.get(report__isnull=False).report


def assert_no_metadata(data: bytes) -> None:
    assert b"Exif" not in data and GPS_DATUM.encode() not in data and b"ConviveTestCam" not in data
    assert not Image.open(io.BytesIO(data)).getexif()


def test_it_fetches_a_photo_with_twilio_credentials_and_cleans_it(phone, media, django_capture_on_commit_callbacks):
    assert GPS_DATUM.encode() in media.content
    with django_capture_on_commit_callbacks(execute=True):
        assert send_media(phone).startswith("Convive:")
    assert media.calls == [{"url": MEDIA_URL, "auth": (ACCOUNT_SID, AUTH_TOKEN), "timeout": 20}]
    item = InboundMedia.objects.get()
    assert (item.status, item.content_type, item.message.body) == ("stored", "image/jpeg", "")
    report = finish_report(phone)
    photo = report.photos.get()
    with photo.image.open("rb") as image:
        assert_no_metadata(image.read())
    item.refresh_from_db()
    assert item.attached


def test_it_attaches_a_photo_fetched_after_the_report(phone, media, django_capture_on_commit_callbacks):
    phone.say("Hola")
    with django_capture_on_commit_callbacks() as fetches:
        send_media(phone)
    report = finish_report(phone)
    assert not report.photos.exists()
    for fetch in fetches:
        fetch()
    assert InboundMedia.objects.get().attached
    with report.photos.get().image.open("rb") as image:
        assert_no_metadata(image.read())


def test_it_rejects_media_that_is_not_a_photo(phone, monkeypatch, django_capture_on_commit_callbacks):
    session = MediaSession(b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n", "application/pdf")
    monkeypatch.setattr(twilio_provider, "media_session", lambda: session)
    menu = phone.say("Hola")
    with django_capture_on_commit_callbacks(execute=True):
        assert send_media(phone, "application/pdf").endswith(menu)
    item = InboundMedia.objects.get()
    assert (item.status, item.attached, bool(item.image)) == ("rejected", False, False)
    assert Conversation.objects.get().state == "category"
    report = finish_report(phone)
    assert not report.photos.exists() and report.description == DESCRIPTION
