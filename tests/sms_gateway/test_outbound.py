"""Messages Convive sends outside a webhook reply: a row first, sent by a worker through Twilio's
REST API (stubbed at its HTTP edge), moved forward only by Twilio's status callbacks; a reporter
who opted out gets nothing; status news is generic and goes only to those who asked for it."""

import logging

import pytest
import requests

from reports.models import Report
from sms_gateway import identity, services
from sms_gateway.models import Conversation, OutboundMessage, Reporter

from .conftest import ACCOUNT_SID, AUTH_TOKEN, OUR_NUMBER, PHONE, PUBLIC, new_sid, sign

MESSAGES_URL = f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
STATUS_PATH = "/sms/twilio/status/"
BODY = "Convive: novedades del reporte ABCDE-FGHJK: confirmado por el comite."


def reporter_for(address: str = PHONE) -> Reporter:
    return services.reporter_touch(address=identity.address_parse(address))


def queued(reporter: Reporter, body: str = BODY) -> OutboundMessage:
    """A pending row; under the `db` fixture its on-commit send never runs unless captured."""
    message = services.outbound_queue(reporter=reporter, body=body)
    assert message is not None
    return message


def twilio_error(status: int, code: int, text: str = "error") -> tuple[int, dict]:
    return status, {
        "code": code,
        "message": text,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


def assert_sent(request: dict, *, to: str = PHONE, body: str = BODY) -> None:
    assert request["method"] == "POST"
    assert request["url"] == MESSAGES_URL
    assert request["data"] == {"To": to, "From": OUR_NUMBER, "Body": body, "StatusCallback": PUBLIC + STATUS_PATH}


def reload(message: OutboundMessage) -> OutboundMessage:
    message.refresh_from_db()
    return message


# --- sending ------------------------------------------------------------------------------------


def test_it_sends_a_queued_message_after_commit(db, twilio_http, django_capture_on_commit_callbacks):
    reporter = reporter_for()
    sid = new_sid()
    twilio_http.queue(201, {"sid": sid, "status": "accepted", "account_sid": ACCOUNT_SID, "body": BODY})
    with django_capture_on_commit_callbacks(execute=True):
        message = queued(reporter)
        assert twilio_http.requests == []
    assert len(twilio_http.requests) == 1
    assert_sent(twilio_http.requests[0])
    message = reload(message)
    assert (message.status, message.provider_sid, message.attempts) == ("accepted", sid, 1)
    assert message.sent_at is not None


def test_it_sends_to_the_decrypted_whatsapp_address(db, twilio_http):
    message = queued(reporter_for(f"whatsapp:{PHONE}"))
    services.outbound_send(message_id=message.id)
    assert_sent(twilio_http.requests[0], to=f"whatsapp:{PHONE}")
    assert reload(message).status == "queued"


def test_it_sends_a_message_only_once(db, twilio_http):
    message = queued(reporter_for())
    services.outbound_send(message_id=message.id)
    services.outbound_send(message_id=message.id)
    assert len(twilio_http.requests) == 1
    assert reload(message).attempts == 1


@pytest.mark.parametrize("status, code", [(500, 20500), (503, 20503), (429, 20429)])
def test_it_keeps_the_message_pending_when_twilio_says_try_later(db, twilio_http, status, code):
    message = queued(reporter_for())
    twilio_http.queue(*twilio_error(status, code))
    with pytest.raises(services.RetryLater):
        services.outbound_send(message_id=message.id)
    message = reload(message)
    assert (message.status, message.attempts, message.error_code, message.provider_sid) == ("pending", 1, str(code), "")
    services.outbound_send(message_id=message.id)
    message = reload(message)
    assert (message.status, message.attempts) == ("queued", 2)
    assert len(twilio_http.requests) == 2


def test_it_keeps_the_message_pending_when_twilio_cannot_be_reached(db, twilio_http, monkeypatch):
    message = queued(reporter_for())

    def unreachable(*args, **kwargs):
        raise requests.ConnectionError("connection refused")

    monkeypatch.setattr(twilio_http, "request", unreachable)
    with pytest.raises(services.RetryLater):
        services.outbound_send(message_id=message.id)
    assert (reload(message).status, message.attempts) == ("pending", 1)


def test_it_fails_the_message_after_the_last_attempt(db, twilio_http, settings):
    settings.SMS_SEND_MAX_ATTEMPTS = 3
    message = queued(reporter_for())
    for _ in range(3):
        twilio_http.queue(*twilio_error(503, 20503))
    for _ in range(2):
        with pytest.raises(services.RetryLater):
            services.outbound_send(message_id=message.id)
    services.outbound_send(message_id=message.id)
    message = reload(message)
    assert (message.status, message.attempts, message.error_code) == ("failed", 3, "20503")
    services.outbound_send(message_id=message.id)
    assert len(twilio_http.requests) == 3


def test_it_fails_at_once_on_an_invalid_number(db, twilio_http):
    message = queued(reporter_for())
    twilio_http.queue(*twilio_error(400, 21211, f"The 'To' number {PHONE} is not a valid phone number."))
    services.outbound_send(message_id=message.id)
    message = reload(message)
    assert (message.status, message.attempts, message.error_code) == ("failed", 1, "21211")
    services.outbound_send(message_id=message.id)
    assert len(twilio_http.requests) == 1
    assert not Reporter.objects.get().opted_out


# --- opting out -----------------------------------------------------------------------------------


def test_it_opts_the_reporter_out_when_twilio_says_they_did(db, twilio_http, django_capture_on_commit_callbacks):
    reporter = reporter_for()
    first, second = queued(reporter), queued(reporter, "Convive: otra novedad.")
    twilio_http.queue(*twilio_error(400, 21610, "Attempt to send to unsubscribed recipient"))
    services.outbound_send(message_id=first.id)
    assert (reload(first).status, first.error_code) == ("failed", "21610")
    assert reload(second).status == "cancelled"
    reporter.refresh_from_db()
    assert reporter.opted_out and reporter.opted_out_at is not None
    services.outbound_send(message_id=second.id)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.outbound_queue(reporter=reporter, body=BODY) is None
    assert len(twilio_http.requests) == 1
    assert OutboundMessage.objects.count() == 2


def test_it_cancels_pending_messages_when_the_reporter_opts_out(db, twilio_http):
    reporter = reporter_for()
    message = queued(reporter)
    services.reporter_opt_out(reporter=reporter)
    assert reload(message).status == "cancelled"
    services.outbound_send(message_id=message.id)
    assert twilio_http.requests == []


def test_it_sends_nothing_once_the_reply_address_is_erased(db, twilio_http):
    reporter = reporter_for()
    message = queued(reporter)
    Reporter.objects.filter(pk=reporter.pk).update(reply_address=None)
    services.outbound_send(message_id=message.id)
    assert reload(message).status == "cancelled"
    reporter.refresh_from_db()
    assert services.outbound_queue(reporter=reporter, body=BODY) is None
    assert twilio_http.requests == []


# --- status callbacks -------------------------------------------------------------------------------


@pytest.fixture
def sent(db, twilio_http) -> OutboundMessage:
    message = queued(reporter_for())
    services.outbound_send(message_id=message.id)
    return reload(message)


def callback(client, sid: str, status: str, error_code: str = "", token: str = AUTH_TOKEN):
    """The fields Twilio posts to a message's StatusCallback."""
    params = {
        "MessageSid": sid,
        "SmsSid": sid,
        "MessageStatus": status,
        "SmsStatus": status,
        "AccountSid": ACCOUNT_SID,
        "From": OUR_NUMBER,
        "To": PHONE,
        "ApiVersion": "2010-04-01",
    }
    if error_code:
        params["ErrorCode"] = error_code
    signature = sign(PUBLIC + STATUS_PATH, params, token)
    return client.post(STATUS_PATH, params, HTTP_X_TWILIO_SIGNATURE=signature)


def test_it_moves_the_status_forward_in_order(client, sent):
    for status in ("sending", "sent", "delivered"):
        assert callback(client, sent.provider_sid, status).status_code == 204
        assert reload(sent).status == status


def test_it_ignores_a_status_that_arrives_late(client, sent):
    assert callback(client, sent.provider_sid, "delivered").status_code == 204
    assert callback(client, sent.provider_sid, "sent").status_code == 204
    assert callback(client, sent.provider_sid, "queued").status_code == 204
    assert reload(sent).status == "delivered"


def test_it_records_a_failure_reported_by_callback(client, sent):
    assert callback(client, sent.provider_sid, "undelivered", "30003").status_code == 204
    assert (reload(sent).status, sent.error_code) == ("undelivered", "30003")
    assert not sent.reporter.opted_out


def test_it_opts_out_on_a_failed_callback_with_21610(client, sent):
    other = queued(sent.reporter, "Convive: otra novedad.")
    assert callback(client, sent.provider_sid, "failed", "21610").status_code == 204
    assert (reload(sent).status, sent.error_code) == ("failed", "21610")
    assert Reporter.objects.get().opted_out
    assert reload(other).status == "cancelled"


def test_it_answers_204_to_an_unknown_message(client, sent):
    before = list(OutboundMessage.objects.values())
    assert callback(client, new_sid(), "delivered").status_code == 204
    assert list(OutboundMessage.objects.values()) == before


def test_it_refuses_a_forged_callback(client, sent):
    assert callback(client, sent.provider_sid, "failed", "21610", token="not-the-token").status_code == 403
    assert reload(sent).status == "queued"
    assert not Reporter.objects.get().opted_out


# --- status news --------------------------------------------------------------------------------------

ARMS_CONVERSATION = ["Hola", "1", "Parque Central", "Un hombre con una pistola frente a la escuela", "1", "1", "1", "1"]
PRIVATE_WORDS = ("hombre", "pistola", "escuela", "parque", "central", "ceiba", "arma", "revolver")


def report_by_sms(phone, last: str) -> Report:
    replies = [phone.say(text) for text in ARMS_CONVERSATION]
    assert replies[-1].startswith("Responda 1"), replies[-1]
    phone.say(last)
    return Conversation.objects.get().report


def change_status(report: Report, status: str) -> OutboundMessage | None:
    report.status = status
    report.save(update_fields=["status"])
    return services.report_status_notify(report=report)


def test_it_sends_generic_news_of_each_status_change(phone, twilio_http, django_capture_on_commit_callbacks):
    report = report_by_sms(phone, "2")
    with django_capture_on_commit_callbacks(execute=True):
        verified = change_status(report, Report.Status.VERIFIED)
        in_action = change_status(report, Report.Status.IN_ACTION)
    assert OutboundMessage.objects.count() == 2
    for message in (verified, in_action):
        message = reload(message)
        assert message.report == report and message.status == "queued"
        assert report.formatted_code() in message.body
        generic = message.body.replace(report.formatted_code(), "").lower()
        assert not any(word in generic for word in PRIVATE_WORDS), message.body
    assert verified.body != in_action.body
    assert [r["data"]["Body"] for r in twilio_http.requests] == [verified.body, in_action.body]
    assert_sent(twilio_http.requests[0], body=verified.body)


def test_it_sends_no_news_to_who_did_not_ask(phone, twilio_http, django_capture_on_commit_callbacks):
    report = report_by_sms(phone, "1")
    with django_capture_on_commit_callbacks(execute=True):
        assert change_status(report, Report.Status.VERIFIED) is None
    assert not OutboundMessage.objects.exists()
    assert twilio_http.requests == []


def test_it_sends_no_news_to_who_opted_out_since(phone, twilio_http, django_capture_on_commit_callbacks):
    report = report_by_sms(phone, "2")
    assert phone.say("STOP") == ""
    with django_capture_on_commit_callbacks(execute=True):
        assert change_status(report, Report.Status.VERIFIED) is None
    assert twilio_http.requests == []


# --- console backend ----------------------------------------------------------------------------------


def test_it_logs_the_body_but_never_the_number_on_the_console(db, settings, caplog, django_capture_on_commit_callbacks):
    settings.SMS_BACKEND = "console"
    caplog.set_level(logging.DEBUG)
    with django_capture_on_commit_callbacks(execute=True):
        message = queued(reporter_for())
    message = reload(message)
    assert message.status == "sent" and message.provider_sid.startswith("CONSOLE")
    assert BODY in caplog.text
    assert PHONE[1:] not in caplog.text and PHONE[-8:] not in caplog.text
