"""Twilio's inbound webhook through HTTP: only requests Twilio signed for our account and our public
URL get in; each MessageSid is stored exactly once and answered the same way however often Twilio
retries; a processing failure never loses the message; one phone's messages are handled one at a
time even when they arrive together."""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.utils import timezone
from twilio.request_validator import RequestValidator

from sms_gateway import conversation as flow
from sms_gateway import identity, services, tasks
from sms_gateway.models import Conversation, InboundMessage, OutboundMessage, Reporter

from .conftest import ACCOUNT_SID, AUTH_TOKEN, PHONE, PUBLIC, Phone, payload, reply_text, sign

INBOUND = "/sms/twilio/"
FALLBACK = "/sms/twilio/fallback/"
STATUS = "/sms/twilio/status/"
FORM = "application/x-www-form-urlencoded"
LONG_TEXT = "Se oyeron disparos cerca de la cancha anoche"


def post_form(client: Client, params: dict, path: str = INBOUND, signature: str | None = None, **headers):
    """Post url-encoded UTF-8, as Twilio does, signed over the public URL unless told otherwise."""
    if signature is None:
        signature = sign(PUBLIC + path, params)
    return client.post(path, urlencode(params), content_type=FORM, HTTP_X_TWILIO_SIGNATURE=signature, **headers)


def converse(send, first: str, answers: dict[str, str], limit: int = 15) -> list:
    """Send `first`, then answer whatever the conversation asks (by its state) until it is done."""
    responses = [send(first)]
    for _ in range(limit):
        assert responses[-1].status_code == 200
        state = Conversation.objects.order_by("-pk").first().state
        if state == Conversation.State.DONE:
            return responses
        assert state in answers, (state, reply_text(responses[-1]))
        responses.append(send(answers[state]))
    raise AssertionError("the conversation never finished")


def category_number(code: str) -> str:
    return str([category.code for category in flow.categories()].index(code) + 1)


def assert_nothing_stored() -> None:
    assert not InboundMessage.objects.exists()
    assert not Reporter.objects.exists()
    assert not Conversation.objects.exists()


# --- the signature ----------------------------------------------------------------------------------


def test_it_answers_a_signed_message_with_twiml(phone):
    response = phone.send("Hola")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/xml")
    assert "Disparos" in reply_text(response)
    message = InboundMessage.objects.get()
    assert message.body == "Hola"
    assert message.status == InboundMessage.Status.PROCESSED
    assert message.reply == reply_text(response)
    assert message.reporter.address_hash == identity.address_hash(PHONE)


def test_it_refuses_a_signature_made_with_another_token(phone):
    params = payload("Hola")

    response = phone.post(params, signature=sign(PUBLIC + INBOUND, params, token="not-" + AUTH_TOKEN))

    assert response.status_code == 403
    assert_nothing_stored()


def test_it_refuses_a_request_without_a_signature(client, geo):
    assert client.post(INBOUND, payload("Hola")).status_code == 403
    assert client.post(INBOUND, payload("Hola"), HTTP_X_TWILIO_SIGNATURE="").status_code == 403
    assert_nothing_stored()


def test_it_refuses_a_signature_or_account_with_characters_outside_ascii(phone):
    params = payload("Hola")
    assert phone.post(params, signature=sign(PUBLIC + INBOUND, params)[:-1] + "é").status_code == 403
    foreign = payload("Hola", AccountSid="AC" + "ñ" * 32)
    assert phone.post(foreign).status_code == 403
    assert_nothing_stored()


def test_it_refuses_a_field_changed_after_signing(phone):
    params = payload("Hola")
    signature = sign(PUBLIC + INBOUND, params)

    response = phone.post({**params, "Body": "Hola de nuevo"}, signature=signature)

    assert response.status_code == 403
    assert_nothing_stored()


def test_it_refuses_a_field_added_after_signing(phone):
    params = payload("Hola")
    signature = sign(PUBLIC + INBOUND, params)

    response = phone.post({**params, "FutureField": "x"}, signature=signature)

    assert response.status_code == 403
    assert_nothing_stored()


def test_it_refuses_a_field_removed_after_signing(phone):
    params = payload("Hola", Latitude="15.5", Longitude="-88.1")
    signature = sign(PUBLIC + INBOUND, params)
    del params["Latitude"]

    assert phone.post(params, signature=signature).status_code == 403
    assert_nothing_stored()


def test_it_accepts_fields_it_does_not_know_when_twilio_signed_them(phone):
    response = phone.send("Hola", FutureField="whatever Twilio adds next", ChannelMetadata='{"type": "x"}')

    assert response.status_code == 200
    assert InboundMessage.objects.get().status == InboundMessage.Status.PROCESSED


def test_it_accepts_an_hmac_sha256_signature_and_refuses_an_unknown_algorithm(client, geo):
    params = payload("Hola")
    sha256 = sign_with(params, "HMAC_SHA256")
    header = "key=webhooks_sharedkey_1,algorithm=HMAC_SHA256"

    refused = post_form(client, params, signature=sha256, HTTP_X_TWILIO_WEBHOOKS_SIGNATURE_SETTINGS="algorithm=MD5")
    assert refused.status_code == 403
    assert not InboundMessage.objects.exists()
    accepted = post_form(client, params, signature=sha256, HTTP_X_TWILIO_WEBHOOKS_SIGNATURE_SETTINGS=header)
    assert accepted.status_code == 200
    assert InboundMessage.objects.count() == 1


def sign_with(params: dict, algorithm: str) -> str:
    return RequestValidator(AUTH_TOKEN).compute_signature(PUBLIC + INBOUND, params, algorithm)


# --- the URL Twilio signed: the public one, behind a TLS-terminating proxy --------------------------


def test_it_checks_the_signature_against_the_public_url(client, geo):
    params = payload("Hola")

    # The request reaches Django as http://testserver/..., Twilio signed https://convive.example.org/...
    response = post_form(client, params, signature=sign(PUBLIC + INBOUND, params))

    assert response.status_code == 200
    assert InboundMessage.objects.count() == 1


def test_it_refuses_a_signature_over_the_internal_url(client, geo):
    params = payload("Hola")

    response = post_form(client, params, signature=sign("http://testserver" + INBOUND, params))

    assert response.status_code == 403
    assert_nothing_stored()


def test_it_accepts_the_public_url_with_its_default_port(client, geo):
    params = payload("Hola")
    host = PUBLIC.removeprefix("https://")

    response = post_form(client, params, signature=sign(f"https://{host}:443{INBOUND}", params))

    assert response.status_code == 200


def test_it_includes_the_query_string_in_what_is_signed(client, geo):
    path = INBOUND + "?source=primary&n=1"
    params = payload("Hola")

    without_query = post_form(client, params, path, signature=sign(PUBLIC + INBOUND, params))
    other_query = post_form(client, params, path, signature=sign(PUBLIC + INBOUND + "?source=other&n=1", params))
    assert without_query.status_code == other_query.status_code == 403
    assert_nothing_stored()

    assert post_form(client, params, path).status_code == 200
    assert InboundMessage.objects.count() == 1


# --- the account ------------------------------------------------------------------------------------


@pytest.mark.parametrize("account_sid", ["AC" + "2" * 32, "", None])
def test_it_refuses_a_message_for_another_account(phone, account_sid):
    params = payload("Hola", AccountSid=account_sid)
    if account_sid is None:
        del params["AccountSid"]

    response = phone.post(params)

    assert response.status_code == 403
    assert_nothing_stored()


def test_it_refuses_a_status_callback_with_a_bad_signature_or_account(client, db):
    params = {"MessageSid": "SM" + "a" * 32, "MessageStatus": "delivered", "AccountSid": ACCOUNT_SID}
    other = {**params, "AccountSid": "AC" + "2" * 32}

    assert post_form(client, params, STATUS, signature=sign(PUBLIC + INBOUND, params)).status_code == 403
    assert post_form(client, other, STATUS).status_code == 403
    assert post_form(client, params, STATUS).status_code == 204


# --- the same MessageSid again: Twilio's retries and its fallback URL --------------------------------


def test_it_stores_and_answers_a_retried_message_once(phone):
    phone.say("Hola")
    params = payload("2", from_=phone.address)

    first = phone.post(params)
    conversation = Conversation.objects.get()
    after_first = (conversation.state, conversation.data, conversation.last_message_at)
    again = phone.post(params)
    fallback = phone.post(params, FALLBACK)

    assert first.status_code == again.status_code == fallback.status_code == 200
    assert first.content == again.content == fallback.content
    assert InboundMessage.objects.filter(message_sid=params["MessageSid"]).count() == 1
    assert InboundMessage.objects.count() == 2
    conversation.refresh_from_db()
    assert (conversation.state, conversation.data, conversation.last_message_at) == after_first
    assert conversation.state == Conversation.State.WHERE
    assert "place_text" not in conversation.data  # the retried "2" was not taken as a place name
    message = InboundMessage.objects.get(message_sid=params["MessageSid"])
    assert message.attempts == 1
    assert message.reply == reply_text(first)


def test_it_answers_the_fallback_url_like_the_primary(phone):
    response = phone.post(payload("Hola", from_=phone.address), FALLBACK)

    assert response.status_code == 200
    assert "Disparos" in reply_text(response)
    assert InboundMessage.objects.get().status == InboundMessage.Status.PROCESSED


# --- what the request may carry ----------------------------------------------------------------------


@pytest.mark.parametrize("path", [INBOUND, FALLBACK, STATUS])
def test_it_answers_get_with_405(client, db, path):
    response = client.get(path, payload("Hola"))

    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert_nothing_stored()


def test_it_refuses_a_body_over_the_limit_with_413(client, geo):
    params = payload("x" * settings.SMS_MAX_REQUEST_BYTES)

    response = post_form(client, params)

    assert response.status_code == 413
    assert_nothing_stored()


def test_it_refuses_too_many_fields_with_413(client, geo, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 50
    params = payload("Hola", **{f"Extra{i}": "1" for i in range(60)})

    assert post_form(client, params).status_code == 413
    assert_nothing_stored()


def test_it_accepts_the_largest_message_twilio_sends(client, geo):
    # 1,600 four-byte characters, percent-encoded: the biggest body Twilio can post for one message.
    body = "🔫" * settings.SMS_MAX_BODY_CHARS

    response = post_form(client, payload(body))

    assert response.status_code == 200
    assert InboundMessage.objects.get().body == body


def test_it_strips_nul_bytes_from_the_body(client, geo):
    response = post_form(client, payload("Dis\x00paros\x00 en el parque"))

    assert response.status_code == 200
    assert InboundMessage.objects.get().body == "Disparos en el parque"


def test_it_stores_emoji_and_any_utf8_exactly(client, geo):
    text = "Disparos 🔫 cerca — ñandú"

    State = Conversation.State
    answers = {State.CATEGORY: category_number("other"), State.WHERE: "Parque Central", State.WHAT: text}
    converse(lambda body: post_form(client, payload(body)), "Hola", {**answers, State.CONFIRM: "1"})

    assert InboundMessage.objects.filter(body=text).count() == 1
    conversation = Conversation.objects.get()
    assert conversation.state == Conversation.State.DONE
    assert conversation.report.description == text


def test_it_takes_whatsapp_and_sms_from_one_number_as_one_reporter(client, geo):
    whatsapp = Phone(client, channel="whatsapp")

    assert whatsapp.send("Hola", ProfileName="Maria Lopez", WaId=PHONE[1:]).status_code == 200
    reporter = Reporter.objects.get()
    assert reporter.channel == "whatsapp"
    assert InboundMessage.objects.get().channel == "whatsapp"
    assert identity.reply_address_decrypt(reporter.reply_address) == "whatsapp:" + PHONE

    assert Phone(client).send("2").status_code == 200
    assert Reporter.objects.get().pk == reporter.pk
    reporter.refresh_from_db()
    assert reporter.address_hash == identity.address_hash(PHONE)
    assert reporter.channel == "sms"
    assert identity.reply_address_decrypt(reporter.reply_address) == PHONE
    assert list(InboundMessage.objects.values_list("channel", flat=True)) == ["whatsapp", "sms"]
    assert Conversation.objects.get().state == Conversation.State.WHERE


def test_it_answers_a_signed_message_without_a_usable_sender_with_empty_twiml(phone):
    response = phone.post(payload("Hola", from_="not a number"))

    assert response.status_code == 200
    assert reply_text(response) == ""
    assert_nothing_stored()


# --- many messages from one phone at once --------------------------------------------------------------


def _post_concurrently(all_params: list[dict]) -> list:
    barrier = threading.Barrier(len(all_params))

    def post(params: dict):
        try:
            barrier.wait(timeout=10)
            return post_form(Client(), params)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(all_params)) as pool:
        return list(pool.map(post, all_params))


def test_it_handles_messages_from_one_phone_arriving_together_one_at_a_time(
    transactional_db, django_db_serialized_rollback, geo
):
    bodies = [f"Mensaje {i}: {LONG_TEXT}" for i in range(6)]

    responses = _post_concurrently([payload(body) for body in bodies])

    assert [r.status_code for r in responses] == [200] * 6
    assert all(reply_text(r) for r in responses)
    reporter = Reporter.objects.get()
    messages = InboundMessage.objects.filter(reporter=reporter)
    assert messages.count() == 6
    assert set(messages.values_list("status", flat=True)) == {InboundMessage.Status.PROCESSED}
    conversation = Conversation.objects.get(reporter=reporter, is_open=True)
    assert Conversation.objects.count() == 1
    assert set(messages.values_list("conversation_id", flat=True)) == {conversation.pk}
    # Every message was applied exactly once, none overwritten by a concurrent one.
    assert sorted(conversation.data["description"]) == sorted(bodies)


def test_it_stores_one_message_when_twilio_retries_it_while_the_first_is_running(
    transactional_db, django_db_serialized_rollback, geo
):
    params = payload("Hola")

    responses = _post_concurrently([params] * 4)

    assert [r.status_code for r in responses] == [200] * 4
    assert len({r.content for r in responses}) == 1
    message = InboundMessage.objects.get()
    assert message.status == InboundMessage.Status.PROCESSED
    assert message.attempts == 1
    assert Conversation.objects.count() == 1
    assert Reporter.objects.count() == 1


# --- a failure while processing ------------------------------------------------------------------------


def _broken(*args, **kwargs):
    raise RuntimeError("the conversation broke")


def test_it_keeps_a_message_it_failed_to_process_and_answers_it_later(
    phone, monkeypatch, twilio_http, django_capture_on_commit_callbacks
):
    with monkeypatch.context() as patch:
        patch.setattr(services, "_converse", _broken)
        response = phone.send("Hola")

    assert response.status_code == 200
    assert reply_text(response) == ""
    message = InboundMessage.objects.get()
    assert (message.status, message.body, message.reply) == (InboundMessage.Status.FAILED, "Hola", "")
    assert not Conversation.objects.exists()

    assert tasks.inbound_retry() == 0  # too fresh: the webhook may still be answering it
    InboundMessage.objects.update(received_at=timezone.now() - timedelta(minutes=2))
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.inbound_retry() == 1

    message.refresh_from_db()
    assert message.status == InboundMessage.Status.PROCESSED
    assert "Disparos" in message.reply
    assert Conversation.objects.get().state == Conversation.State.CATEGORY
    outbound = OutboundMessage.objects.get()
    assert outbound.body == message.reply
    assert outbound.status == OutboundMessage.Status.QUEUED
    assert outbound.provider_sid
    [request] = twilio_http.requests
    assert request["data"]["To"] == PHONE
    assert request["data"]["Body"] == message.reply


def test_it_processes_a_failed_message_when_twilio_retries_it(phone, monkeypatch):
    params = payload("Hola", from_=phone.address)
    with monkeypatch.context() as patch:
        patch.setattr(services, "_converse", _broken)
        assert reply_text(phone.post(params)) == ""

    response = phone.post(params, FALLBACK)

    assert response.status_code == 200
    assert "Disparos" in reply_text(response)
    message = InboundMessage.objects.get()
    assert message.status == InboundMessage.Status.PROCESSED
    assert message.reply == reply_text(response)
    assert Conversation.objects.count() == 1
