"""Tracking codes and the resident's status page."""

import re

import pytest
from django.core.cache import cache

from reports.models import TRACKING_ALPHABET, TRACKING_LENGTH, Report, TriageEvent
from reports.selectors import normalise_tracking_code
from reports.services import tracking_code_new

from ..factories import make_report

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()


def test_it_makes_codes_of_ten_unambiguous_characters():
    codes = {tracking_code_new() for _ in range(2000)}
    assert len(codes) == 2000
    for code in codes:
        assert len(code) == TRACKING_LENGTH == 10
        assert set(code) <= set(TRACKING_ALPHABET)
    assert not set("01OIL") & set(TRACKING_ALPHABET)
    # Every character of the alphabet is used, so the space is as large as it claims (31^10).
    assert set("".join(codes)) == set(TRACKING_ALPHABET)


def test_it_accepts_codes_as_people_type_them():
    assert normalise_tracking_code(" abcde-23456 ") == "ABCDE23456"
    assert normalise_tracking_code("ABCDE 23456") == "ABCDE23456"
    assert normalise_tracking_code("ABCDE2345") is None
    assert normalise_tracking_code("ABCDE2345O") is None


def test_it_shows_the_status_history_in_plain_words(client, geo):
    report = make_report(point=geo["west_point"], description="Secret details about the shooter")
    TriageEvent.objects.create(report=report, from_status="new", to_status="verified", note="Internal: called Ana")
    Report.objects.filter(pk=report.pk).update(status="verified")

    response = client.get(f"/track/{report.tracking_code.lower()}/", HTTP_ACCEPT_LANGUAGE="en")
    body = response.content.decode()
    assert response.status_code == 200
    assert "The committee has confirmed the report" in body
    assert re.findall(r"<strong>(\w[\w ]*)</strong>", body) == ["Received", "Confirmed"]
    for secret in ("Secret details", "Internal: called Ana", "La Ceiba", "-88.1", "15.5"):
        assert secret not in body
    assert response["Cache-Control"] == "no-store"


def test_it_answers_wrong_and_unknown_codes_the_same_way(client, geo):
    make_report(point=geo["west_point"])
    unknown = client.get("/track/ABCDE23456/", HTTP_ACCEPT_LANGUAGE="en")
    malformed = client.get("/track/not-a-code!/", HTTP_ACCEPT_LANGUAGE="en")
    assert unknown.status_code == malformed.status_code == 404
    strip = lambda body: re.sub(r'value="[^"]*"|csrfmiddlewaretoken[^>]*', "", body.decode())  # noqa: E731
    assert strip(unknown.content).replace("ABCDE23456", "") == strip(malformed.content).replace("not-a-code!", "")
    assert "We could not find a report with that code" in unknown.content.decode()


def test_it_redirects_the_lookup_form_to_the_status_page(client, geo):
    report = make_report(point=geo["west_point"])
    response = client.get("/track/", {"code": report.formatted_code().lower()})
    assert response["Location"] == f"/track/{report.tracking_code}/"


def test_it_limits_lookups_per_client(client, geo, settings):
    settings.TRACK_LOOKUPS_PER_WINDOW = 3
    report = make_report(point=geo["west_point"])
    statuses = [client.get(f"/track/ABCDE2345{n}/").status_code for n in range(2, 5)]
    assert statuses == [404, 404, 404]
    limited = client.get(f"/track/{report.tracking_code}/", HTTP_ACCEPT_LANGUAGE="en")
    assert limited.status_code == 429
    assert "Please wait a few minutes" in limited.content.decode()
    other_client = client.get(f"/track/{report.tracking_code}/", REMOTE_ADDR="10.9.8.7")
    assert other_client.status_code == 200
