"""What a message costs the database, and that the shortcuts keep every guarantee: a message of a
running conversation in three statements and no savepoint, a report in one statement with its arms
answers and first event, a taken tracking code replaced, a failure rolling the work back whole."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from reports import services as report_services
from reports.models import ArmsSighting, Report, TriageEvent
from sms_gateway import conversation as flow
from sms_gateway import tasks
from sms_gateway.models import Conversation, InboundMessage

from .conftest import payload, reply_text

pytestmark = pytest.mark.django_db


def number_of(category_code: str) -> str:
    return str([category.code for category in flow.categories()].index(category_code) + 1)


def statements(phone, body: str) -> tuple[str, list[str]]:
    with CaptureQueriesContext(connection) as queries:
        reply = phone.say(body)
    return reply, [query["sql"] for query in queries.captured_queries]


def at_confirmation(phone, category: str = "gunfire") -> None:
    """A conversation up to "reply 1 to send", the arms questions answered with their first option."""
    phone.say("Hola")
    phone.say(number_of(category))
    phone.say("parque central")
    phone.say("Se oyeron muchos disparos anoche")
    while Conversation.objects.get(is_open=True).state != Conversation.State.CONFIRM:
        phone.say("1")


def broken(*args, **kwargs):
    raise RuntimeError("the database refused the report")


def test_it_answers_a_message_of_a_running_conversation_in_three_statements(phone):
    phone.say("Hola")

    reply, sql = statements(phone, number_of("assault"))

    assert "OMITIR" in reply
    # The test's own transaction turns the webhook's BEGIN and COMMIT into a savepoint and its release.
    begin, *work, commit = sql
    assert begin.startswith("SAVEPOINT") and commit.startswith("RELEASE SAVEPOINT")
    # The reporter (and its lock), the message with the open conversation, the answer with the step.
    assert len(work) == 3, work
    assert not any("SAVEPOINT" in statement for statement in work)


def test_it_stores_a_report_with_its_arms_answers_and_first_event_in_one_statement(phone, geo):
    at_confirmation(phone)

    reply, sql = statements(phone, "1")

    report = Report.objects.get()
    assert report.formatted_code() in reply
    [insert] = [statement for statement in sql if "INSERT INTO" in statement and "reports_" in statement]
    assert all(table in insert for table in ("reports_report", "reports_armssighting", "reports_triageevent"))
    assert (report.arms.weapon_type, report.arms.people_count) == ("handgun", "1")
    assert list(report.events.values_list("to_status", "at", "actor")) == [("new", report.created_at, None)]
    assert (report.area, report.location, report.location_source) == (geo["west"], geo["place"].point, "place")
    assert report.area_path == [geo["west"].id, geo["municipality"].id, geo["region"].id, geo["country"].id]
    assert (report.status, report.channel, report.language, report.incomplete) == ("new", "sms", "es", False)
    assert report.updated_at >= report.created_at


def test_it_writes_no_arms_answers_for_a_category_without_them(phone):
    at_confirmation(phone, "assault")

    phone.say("1")

    report = Report.objects.get()
    assert not ArmsSighting.objects.exists()
    assert report.events.count() == 1


def test_it_gives_a_report_another_code_when_the_first_is_taken(phone, monkeypatch):
    at_confirmation(phone)
    phone.say("1")
    taken = Report.objects.get()
    codes = iter([taken.tracking_code, "ABCDE23456"])
    monkeypatch.setattr(report_services, "tracking_code_new", lambda: next(codes))
    at_confirmation(phone)

    reply = phone.say("1")

    report = Report.objects.exclude(pk=taken.pk).get()
    assert report.tracking_code == "ABCDE23456"
    assert report.formatted_code() in reply
    # Nothing of the new report went to the one holding the code, and nothing is missing from it.
    assert (taken.events.count(), ArmsSighting.objects.filter(report=taken).count()) == (1, 1)
    assert (report.events.count(), ArmsSighting.objects.filter(report=report).count()) == (1, 1)
    assert TriageEvent.objects.count() == 2


def test_it_rolls_the_work_back_whole_and_keeps_the_message_when_the_report_fails(
    phone, monkeypatch, twilio_http, django_capture_on_commit_callbacks
):
    at_confirmation(phone)
    before = Conversation.objects.get()

    with monkeypatch.context() as patch:
        patch.setattr(report_services, "_report_insert", broken)
        response = phone.send("1")

    assert response.status_code == 200
    assert reply_text(response) == ""
    message = InboundMessage.objects.order_by("-pk").first()
    assert (message.body, message.status, message.reply) == ("1", InboundMessage.Status.FAILED, "")
    assert not Report.objects.exists()
    after = Conversation.objects.get()
    assert (after.state, after.is_open, after.data) == (before.state, True, before.data)
    assert after.last_message_at == before.last_message_at

    InboundMessage.objects.filter(pk=message.pk).update(received_at=timezone.now() - timedelta(minutes=2))
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.inbound_retry() == 1
    message.refresh_from_db()
    assert message.status == InboundMessage.Status.PROCESSED
    assert Report.objects.get().formatted_code() in message.reply


def test_it_answers_the_retries_of_a_message_that_failed_with_what_the_handled_one_said(phone, monkeypatch):
    at_confirmation(phone)
    params = payload("1", from_=phone.address)
    with monkeypatch.context() as patch:
        patch.setattr(report_services, "_report_insert", broken)
        assert reply_text(phone.post(params)) == ""

    retried = phone.post(params)
    again = phone.post(params)

    assert Report.objects.get().formatted_code() in reply_text(retried)
    assert again.content == retried.content
    message = InboundMessage.objects.get(message_sid=params["MessageSid"])
    assert (message.status, message.attempts) == (InboundMessage.Status.PROCESSED, 1)
