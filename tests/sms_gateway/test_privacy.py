"""No phone number in clear anywhere: after a whole SMS/WhatsApp exchange, every column of every
table and every log record is searched for the number in all its usual spellings, and for the
WhatsApp profile name Twilio sends along."""

import logging
from datetime import timedelta

from django.db import connection
from django.utils import timezone

from sms_gateway import services, tasks
from sms_gateway.models import Conversation, InboundMessage, OutboundMessage, Reporter

from .conftest import ACCOUNT_SID, OUR_NUMBER, PHONE, Phone, reply_text
from .test_webhook import STATUS, _broken, category_number, converse, post_form

NUMBER_FORMS = ("+50499887766", "50499887766", "99887766", "9988-7766", "9988 7766")
PROFILE_NAME = "Maria Lopez"
DESCRIPTION = "Dos hombres dispararon al aire frente a la escuela"


def _columns() -> list[tuple[str, str, str]]:
    """Every column of every table in the current schema, except geometries."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.table_name, c.column_name, c.data_type
            FROM information_schema.columns c
            JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
            WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'
              AND c.data_type <> 'USER-DEFINED'
            """
        )
        columns = cursor.fetchall()
    assert {table for table, _, _ in columns} >= set(connection.introspection.table_names())
    return columns


def _values(table: str, column: str, data_type: str) -> list[str]:
    quote = connection.ops.quote_name
    cast = "" if data_type == "bytea" else "::text"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {quote(column)}{cast} FROM {quote(table)} WHERE {quote(column)} IS NOT NULL")  # noqa: S608
        rows = [row[0] for row in cursor.fetchall()]
    if data_type != "bytea":
        return rows
    return [text for raw in rows for text in (bytes(raw).decode("latin-1"), bytes(raw).hex())]


def database_hits(needles: tuple[str, ...]) -> list[str]:
    """Where in the database any of the needles appears, as text or hex-encoded bytes."""
    forms = {needle: (needle, needle.encode().hex()) for needle in needles}
    hits = []
    for table, column, data_type in _columns():
        for value in _values(table, column, data_type):
            hits += [f"{table}.{column}: {n}" for n, fs in forms.items() if any(f in value for f in fs)]
    return hits


def log_hits(caplog, needles: tuple[str, ...]) -> list[str]:
    everything = caplog.text + "".join(repr(vars(record)) for record in caplog.records)
    return [needle for needle in needles if needle in everything]


def test_it_keeps_the_phone_number_and_profile_name_out_of_every_table_and_log(
    client, geo, twilio_http, caplog, monkeypatch, django_capture_on_commit_callbacks
):
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="django.request")
    whatsapp, sms = Phone(client, channel="whatsapp"), Phone(client)
    extra = {"ProfileName": PROFILE_NAME, "WaId": PHONE[1:]}
    State = Conversation.State

    answers = {
        State.CATEGORY: category_number("gunfire"),
        State.WHERE: "Parque Central",
        State.WHAT: DESCRIPTION,
        State.WEAPON_TYPE: "1",
        State.WEAPON_COUNT: "2",
        State.ACTIVITY: "3",
        State.PEOPLE: "2",
        State.CONFIRM: "2",  # send it, and send me news of it
    }
    responses = converse(lambda body: whatsapp.send(body, **extra), "Hola", answers)
    reply = reply_text(responses[-1])
    report = Conversation.objects.get().report
    assert report.description == DESCRIPTION
    assert report.tracking_code in reply.replace("-", "")

    # The number by SMS too, a refused forgery, a failure and its retry, STOP and START.
    sms.say(f"ESTADO {report.tracking_code}")
    assert sms.post({"From": PHONE, "Body": "Hola"}, signature="forged").status_code == 403
    with monkeypatch.context() as patch:
        patch.setattr(services, "_converse", _broken)
        assert sms.say("Hola") == ""
    InboundMessage.objects.filter(status="failed").update(received_at=timezone.now() - timedelta(minutes=2))
    assert sms.say("STOP", OptOutType="STOP") == ""
    assert sms.say("START", OptOutType="START")
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.inbound_retry() == 1
    assert Reporter.objects.get().opted_out is False

    # A message sent to the resident, and Twilio's status callback for it (which names the number).
    outbound = OutboundMessage.objects.get()
    assert outbound.provider_sid
    callback = {
        "MessageSid": outbound.provider_sid,
        "SmsSid": outbound.provider_sid,
        "MessageStatus": "delivered",
        "SmsStatus": "delivered",
        "AccountSid": ACCOUNT_SID,
        "From": OUR_NUMBER,
        "To": PHONE,
        "ApiVersion": "2010-04-01",
    }
    assert post_form(client, callback, STATUS).status_code == 204
    outbound.refresh_from_db()
    assert outbound.status == OutboundMessage.Status.DELIVERED

    assert database_hits((DESCRIPTION, "Parque Central")), "the scan must find what is stored"
    assert database_hits((*NUMBER_FORMS, PROFILE_NAME)) == []
    assert caplog.records, "the scan must see the log"
    assert log_hits(caplog, (*NUMBER_FORMS, PROFILE_NAME)) == []


def test_it_shows_no_phone_number_when_storing_fails(client, geo, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="django.request")
    client.raise_request_exception = False
    monkeypatch.setattr(services, "reporter_touch", _broken)

    response = Phone(client).send("Hola")

    # Not stored, so not acknowledged: Twilio retries, then calls the fallback URL.
    assert response.status_code == 500
    assert PHONE not in response.content.decode()
    assert not InboundMessage.objects.exists()
    assert log_hits(caplog, NUMBER_FORMS) == []


def test_it_hides_the_number_from_the_debug_error_page(client, geo, monkeypatch, settings):
    settings.DEBUG = True
    client.raise_request_exception = False
    monkeypatch.setattr(services, "reporter_touch", _broken)

    page = Phone(client).send("Hola").content.decode()

    assert "Traceback" in page or "Exception" in page, "the debug page must be rendered for this test to mean anything"
    for form in NUMBER_FORMS:
        assert form not in page, form
