"""A committee's triage reaches the SMS reporter who asked for news: one generic message per change."""

import pytest

from reports.models import Category, Report
from reports.services import report_reject, report_verify
from sms_gateway.models import OutboundMessage

pytestmark = pytest.mark.django_db


def finish_report(phone, choice: str) -> Report:
    codes = list(Category.objects.filter(is_active=True).order_by("sort_order", "code").values_list("code", flat=True))
    phone.say("Hola")
    phone.say(str(codes.index("assault") + 1))
    phone.say("Parque Central")
    phone.say("Golpearon a un vecino cerca del parque con un palo")
    phone.say(choice)
    return Report.objects.get()


def test_it_sends_news_of_each_status_change_to_a_reporter_who_asked(
    phone, cast, twilio_http, django_capture_on_commit_callbacks
):
    report = finish_report(phone, "2")
    with django_capture_on_commit_callbacks(execute=True):
        report_verify(report=report, actor=cast["member_a"])
    news = OutboundMessage.objects.get()
    assert news.body == f"Convive: novedades del reporte {report.formatted_code()}: confirmado por el comite."
    assert news.status == "queued" and news.report == report
    for word in ("vecino", "palo", "Parque", "Agresi"):
        assert word not in news.body
    assert twilio_http.requests[-1]["data"]["Body"] == news.body


def test_it_sends_nothing_to_a_reporter_who_did_not_ask(phone, cast, twilio_http, django_capture_on_commit_callbacks):
    report = finish_report(phone, "1")
    with django_capture_on_commit_callbacks(execute=True):
        report_reject(report=report, actor=cast["member_a"], reason="No se pudo confirmar")
    assert OutboundMessage.objects.count() == 0
    assert twilio_http.requests == []
