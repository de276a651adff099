"""The committee's report detail: who sees it, what it shows, every triage action and refusal,
and the private photo view."""

import io
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from PIL import Image

from community.models import ActionPlan, Membership
from reports.models import AuditEntry, Note, Photo, Report, TriageEvent
from reports.photos import CleanPhoto
from reports.services import photo_add, report_note_add, report_verify

from ..factories import make_report

pytestmark = pytest.mark.django_db


def detail_url(report: Report) -> str:
    return f"/committee/reports/{report.pk}/"


def action_url(report: Report, action: str) -> str:
    return f"/committee/reports/{report.pk}/{action}/"


@pytest.fixture
def english(client_for):
    def login(user):
        client = client_for(user)
        client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
        return client

    return login


@pytest.fixture
def report(cast, geo) -> Report:
    return make_report(point=geo["west_point"])


@pytest.fixture
def east_report(cast, geo) -> Report:
    return make_report(point=geo["east_point"])


def jpeg(color=(200, 30, 30), size=(40, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format="JPEG")
    return out.getvalue()


def add_photo(report: Report) -> Photo:
    return photo_add(report=report, photo=CleanPhoto(image=jpeg(), thumbnail=jpeg(size=(8, 6)), width=40, height=30))


def member_of(committee, username: str):
    user = get_user_model().objects.create_user(username=username, password="unused-here")
    Membership.objects.create(user=user, committee=committee)
    return user


def plan_for(committee, *, status=ActionPlan.Status.DRAFT, title="Light the football pitch") -> ActionPlan:
    return ActionPlan.objects.create(
        committee=committee,
        title=title,
        problem_summary="Assaults after dark by the pitch.",
        measures="Four street lights; a neighbourhood walk on Fridays.",
        responsible_party="Junta de agua",
        status=status,
    )


def snapshot(report: Report) -> tuple:
    """Everything an action could change; equal snapshots mean nothing changed."""
    fresh = Report.objects.get(pk=report.pk)
    return (
        fresh.status,
        fresh.priority,
        fresh.assigned_to_id,
        fresh.duplicate_of_id,
        fresh.action_plan_id,
        TriageEvent.objects.filter(report=report).count(),
        Note.objects.filter(report=report).count(),
        AuditEntry.objects.count(),
    )


def actions_of(report: Report) -> list[str]:
    return list(AuditEntry.objects.filter(report=report).order_by("at", "id").values_list("action", flat=True))


# --- who sees the detail ----------------------------------------------------------------------------


def test_it_sends_anonymous_visitors_to_the_login_page(report, english):
    response = english(None).get(detail_url(report))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")
    assert not AuditEntry.objects.exists()


def test_it_shows_the_report_to_a_member_of_the_serving_committee(cast, report, english):
    response = english(cast["member_a"]).get(detail_url(report))
    assert response.status_code == 200
    body = response.content.decode()
    assert report.formatted_code() in body
    assert "Two men fighting by the school gate." in body
    assert "La Ceiba › San Isidro › Norte › Testland" in body
    assert "no-store" in response["Cache-Control"]


@pytest.mark.parametrize("who", ["member_b", "analyst"])
def test_it_answers_404_to_everyone_else(cast, report, english, who):
    response = english(cast[who]).get(detail_url(report))
    assert response.status_code == 404
    assert not AuditEntry.objects.filter(action="view").exists()


def test_it_shows_any_report_to_an_administrator(cast, report, east_report, english):
    client = english(cast["admin"])
    assert client.get(detail_url(report)).status_code == 200
    assert client.get(detail_url(east_report)).status_code == 200


def test_it_answers_404_for_a_report_that_does_not_exist(cast, english):
    assert english(cast["member_a"]).get("/committee/reports/999999/").status_code == 404


def test_it_records_every_view(cast, report, english):
    client = english(cast["member_a"])
    client.get(detail_url(report))
    client.get(detail_url(report))
    views = AuditEntry.objects.filter(action="view", report=report)
    assert views.count() == 2
    assert {entry.actor for entry in views} == {cast["member_a"]}


# --- what it shows ----------------------------------------------------------------------------------


def test_it_shows_every_field(cast, geo, english):
    report = make_report(
        point=geo["west_point"],
        category_code="gunfire",
        description="Shots near the church.",
        affected_sex=Report.Sex.FEMALE,
        affected_age_band=Report.AgeBand.YOUNG_ADULT,
        channel=Report.Channel.SMS,
        incomplete=True,
    )
    body = english(cast["member_a"]).get(detail_url(report)).content.decode()
    for text in ("Gunfire", "Shots near the church.", "SMS", "New", "Normal", "Female", "18–29", "Incomplete"):
        assert text in body, text
    assert "Point on the map" in body
    assert "15.50000, -88.10000" in body


def test_it_shows_arms_photos_history_and_notes(cast, geo, english):
    from reports.services import ArmsAnswers

    report = make_report(
        point=geo["west_point"],
        category_code="armed_person",
        arms=ArmsAnswers(weapon_type="handgun", weapon_count="2-5", activity="brandished", people_count="1"),
    )
    photo = add_photo(report)
    report_verify(report=report, actor=cast["member_a"], note="Seen by the water committee too.")
    report_note_add(report=report, actor=cast["member_a"], text="Call the school director.")
    body = english(cast["member_a"]).get(detail_url(report)).content.decode()
    assert "Handgun (pistol, revolver)" in body
    assert "Shown or pointed at someone" in body
    assert f"/committee/photos/{photo.pk}/thumbnail/" in body
    assert f"/committee/photos/{photo.pk}/image/" in body
    assert "New → Verified" in body
    assert "ana" in body
    assert "Seen by the water committee too." in body
    assert "Call the school director." in body


def test_it_suggests_nearby_duplicates_the_member_may_see(cast, geo, english, report):
    near = make_report(point=geo["west_point"].clone())
    body = english(cast["member_a"]).get(detail_url(report)).content.decode()
    assert near.formatted_code() in body
    assert f'name="original" value="{near.pk}"' in body


# --- actions that succeed -----------------------------------------------------------------------------


def test_it_verifies(cast, report, english):
    client = english(cast["member_a"])
    response = client.post(action_url(report, "verify"), {"note": "Confirmed by two neighbours."})
    assert response.status_code == 302
    assert response["Location"] == detail_url(report)
    report.refresh_from_db()
    assert report.status == Report.Status.VERIFIED
    event = report.events.latest("id")
    assert (event.from_status, event.to_status, event.actor, event.note) == (
        "new",
        "verified",
        cast["member_a"],
        "Confirmed by two neighbours.",
    )
    assert actions_of(report) == ["status:verified"]
    page = client.get(response["Location"])
    assert "The report is verified." in page.content.decode()


def test_it_rejects_with_a_reason(cast, report, english):
    response = english(cast["member_a"]).post(action_url(report, "reject"), {"reason": "A prank: same text as spam."})
    assert response.status_code == 302
    report.refresh_from_db()
    assert report.status == Report.Status.REJECTED
    assert report.events.latest("id").note == "A prank: same text as spam."
    assert actions_of(report) == ["status:rejected"]


def test_it_marks_a_duplicate_of_a_suggested_report(cast, geo, report, english):
    original = make_report(point=geo["west_point"].clone())
    response = english(cast["member_a"]).post(action_url(report, "duplicate"), {"original": original.pk})
    assert response.status_code == 302
    report.refresh_from_db()
    assert (report.status, report.duplicate_of) == (Report.Status.DUPLICATE, original)
    assert actions_of(report) == ["status:duplicate"]


def test_it_marks_a_duplicate_of_a_report_typed_by_code(cast, geo, report, english):
    older = make_report(point=geo["place"].point, occurred_at=report.occurred_at - timedelta(days=20))
    typed = older.formatted_code().lower().replace("-", " ")
    response = english(cast["member_a"]).post(action_url(report, "duplicate"), {"code": typed})
    assert response.status_code == 302
    report.refresh_from_db()
    assert report.duplicate_of == older


def test_it_sets_the_priority(cast, report, english):
    response = english(cast["member_a"]).post(action_url(report, "priority"), {"priority": "3"})
    assert response.status_code == 302
    report.refresh_from_db()
    assert report.priority == Report.Priority.URGENT
    entry = AuditEntry.objects.get(report=report, action="priority")
    assert (entry.actor, entry.detail) == (cast["member_a"], {"priority": 3})
    assert report.events.count() == 1  # a priority is not a status change


def test_it_assigns_to_a_member_of_the_serving_committee_and_back_to_nobody(cast, report, english):
    colleague = member_of(cast["committee_a"], "dora")
    client = english(cast["member_a"])
    assert client.post(action_url(report, "assign"), {"assignee": colleague.pk}).status_code == 302
    report.refresh_from_db()
    assert report.assigned_to == colleague
    assert AuditEntry.objects.get(report=report, action="assign").detail == {"assignee": colleague.pk}
    assert client.post(action_url(report, "assign"), {"assignee": ""}).status_code == 302
    report.refresh_from_db()
    assert report.assigned_to is None


def test_it_adds_a_note(cast, report, english):
    response = english(cast["member_a"]).post(action_url(report, "note"), {"text": "Ask the school for the camera."})
    assert response.status_code == 302
    note = Note.objects.get(report=report)
    assert (note.author, note.text) == (cast["member_a"], "Ask the school for the camera.")
    assert actions_of(report) == ["note"]


def test_it_links_a_verified_report_to_an_open_plan_of_its_committee(cast, report, english):
    plan = plan_for(cast["committee_a"], status=ActionPlan.Status.SUBMITTED)
    report_verify(report=report, actor=cast["member_a"])
    response = english(cast["member_a"]).post(action_url(report, "plan"), {"plan": plan.pk})
    assert response.status_code == 302
    report.refresh_from_db()
    assert (report.status, report.action_plan) == (Report.Status.IN_ACTION, plan)
    assert actions_of(report) == ["status:verified", "status:in_action"]


def test_it_resolves_a_verified_report(cast, report, english):
    report_verify(report=report, actor=cast["member_a"])
    response = english(cast["member_a"]).post(action_url(report, "resolve"), {"note": "Lights installed."})
    assert response.status_code == 302
    report.refresh_from_db()
    assert report.status == Report.Status.RESOLVED
    assert report.events.latest("id").to_status == "resolved"


def test_an_administrator_can_act_too(cast, report, english):
    assert english(cast["admin"]).post(action_url(report, "verify"), {}).status_code == 302
    report.refresh_from_db()
    assert report.status == Report.Status.VERIFIED


# --- refusals: a translated error, status 400, nothing changed ----------------------------------------


def refused(client, report: Report, action: str, data: dict, message: str) -> None:
    before = snapshot(report)
    response = client.post(action_url(report, action), data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert snapshot(report) == before


def test_it_refuses_a_rejection_without_a_reason(cast, report, english):
    client = english(cast["member_a"])
    refused(client, report, "reject", {}, "Please say why this report is rejected.")
    refused(client, report, "reject", {"reason": "   "}, "Please say why this report is rejected.")


def test_it_refuses_a_duplicate_of_itself(cast, report, english):
    client = english(cast["member_a"])
    refused(client, report, "duplicate", {"original": report.pk}, "A report cannot be a duplicate of itself.")
    refused(client, report, "duplicate", {"code": report.tracking_code}, "A report cannot be a duplicate of itself.")


def test_it_refuses_a_duplicate_of_its_own_duplicate(cast, geo, report, english):
    copy = make_report(point=geo["west_point"].clone())
    english(cast["member_a"]).post(action_url(copy, "duplicate"), {"original": report.pk})
    copy.refresh_from_db()
    assert copy.duplicate_of == report
    refused(
        english(cast["member_a"]),
        report,
        "duplicate",
        {"original": copy.pk},
        "A report cannot be a duplicate of itself.",
    )


def test_it_refuses_a_duplicate_of_a_report_the_member_cannot_see(cast, report, east_report, english):
    client = english(cast["member_a"])
    unseen = "There is no such report among the reports you can see."
    refused(client, report, "duplicate", {"original": east_report.pk}, unseen)
    refused(client, report, "duplicate", {"code": east_report.tracking_code}, unseen)
    # An unknown code reads exactly the same: existence does not leak.
    refused(client, report, "duplicate", {"code": "ZZZZZ-ZZZZZ"}, unseen)
    refused(client, report, "duplicate", {"code": "Z" * 21}, "Please keep it to at most 20 characters.")
    refused(client, report, "duplicate", {}, "Please choose a suggested report or type another report&#x27;s code.")


def test_it_refuses_illegal_transitions(cast, report, english):
    client = english(cast["member_a"])
    refused(client, report, "resolve", {}, "A report that is “New” cannot become “Resolved”.")
    plan = plan_for(cast["committee_a"])
    refused(client, report, "plan", {"plan": plan.pk}, "A report that is “New” cannot become “In action”.")
    client.post(action_url(report, "reject"), {"reason": "Spam."})
    refused(client, report, "verify", {}, "A report that is “Rejected” cannot become “Verified”.")
    refused(client, report, "reject", {"reason": "Again."}, "A report that is “Rejected” cannot become “Rejected”.")


@pytest.mark.parametrize("priority", ["7", "-1", "urgent", ""])
def test_it_refuses_a_priority_out_of_range(cast, report, english, priority):
    refused(english(cast["member_a"]), report, "priority", {"priority": priority}, "Please choose one of the options.")


@pytest.mark.parametrize("who", ["member_b", "analyst", "admin"])
def test_it_refuses_to_assign_someone_outside_the_serving_committees(cast, report, english, who):
    message = "Please choose a member of a committee serving this report."
    refused(english(cast["member_a"]), report, "assign", {"assignee": cast[who].pk}, message)


def test_it_refuses_an_empty_note(cast, report, english):
    refused(english(cast["member_a"]), report, "note", {"text": " "}, "Please write the note.")


def test_it_refuses_plans_of_other_committees_and_closed_plans(cast, report, english):
    report_verify(report=report, actor=cast["member_a"])
    client = english(cast["member_a"])
    message = "Please choose an open action plan of a committee serving this report."
    for plan in (
        plan_for(cast["committee_b"]),
        plan_for(cast["committee_a"], status=ActionPlan.Status.DECLINED),
        plan_for(cast["committee_a"], status=ActionPlan.Status.VERIFIED),
    ):
        refused(client, report, "plan", {"plan": plan.pk}, message)


def test_it_refuses_actions_on_another_committees_report(cast, report, english):
    before = snapshot(report)
    for who in ("member_b", "analyst"):
        client = english(cast[who])
        assert client.post(action_url(report, "verify"), {}).status_code == 404
        assert client.post(action_url(report, "note"), {"text": "hi"}).status_code == 404
    assert english(None).post(action_url(report, "verify"), {}).status_code == 302
    assert snapshot(report) == before


def test_it_answers_404_to_unknown_actions_and_405_to_get(cast, report, english):
    client = english(cast["member_a"])
    assert client.post(action_url(report, "delete"), {}).status_code == 404
    assert client.get(action_url(report, "verify")).status_code == 405
    assert Report.objects.get(pk=report.pk).status == Report.Status.NEW


# --- photos -----------------------------------------------------------------------------------------------


def test_it_serves_photos_to_the_serving_committee_only(cast, report, english):
    photo = add_photo(report)
    for kind in ("image", "thumbnail"):
        url = f"/committee/photos/{photo.pk}/{kind}/"
        response = english(cast["member_a"]).get(url)
        assert response.status_code == 200
        assert response["Content-Type"] == "image/jpeg"
        assert response["Cache-Control"] == "private, no-store"
        assert response["X-Content-Type-Options"] == "nosniff"
        assert b"".join(response.streaming_content) == getattr(photo, kind).open("rb").read()
        assert english(cast["admin"]).get(url).status_code == 200
        assert english(cast["member_b"]).get(url).status_code == 404
        assert english(cast["analyst"]).get(url).status_code == 404
        assert english(None).get(url).status_code == 302


def test_it_answers_404_for_unknown_photos_and_kinds(cast, report, english):
    photo = add_photo(report)
    client = english(cast["member_a"])
    assert client.get(f"/committee/photos/{photo.pk}/original/").status_code == 404
    assert client.get(f"/committee/photos/{photo.pk + 1000}/image/").status_code == 404


# --- cost -------------------------------------------------------------------------------------------------


def test_it_renders_the_detail_in_a_fixed_number_of_queries(cast, geo, report, english):
    client = english(cast["member_a"])
    report_verify(report=report, actor=cast["member_a"])  # every action panel shows, plans included
    plan_for(cast["committee_a"])
    add_photo(report)
    make_report(point=geo["west_point"].clone())
    client.get(detail_url(report))  # warm up per-process caches (spatial reference system)

    with CaptureQueriesContext(connection) as one:
        assert client.get(detail_url(report)).status_code == 200
    for number in range(4):
        add_photo(report)
        report_note_add(report=report, actor=cast["member_a"], text=f"note {number}")
        TriageEvent.objects.create(report=report, actor=cast["member_a"], from_status="new", to_status="new")
        make_report(point=geo["west_point"].clone())
        plan_for(cast["committee_a"], title=f"plan {number}")
        member_of(cast["committee_a"], f"member{number}")
    with CaptureQueriesContext(connection) as five:
        response = client.get(detail_url(report))
    assert response.content.decode().count("/thumbnail/") == 5
    assert len(five) == len(one), [query["sql"] for query in five.captured_queries]
    # session, user, access (3), view record, committees, photos, events, notes, merged reports,
    # access again for suggestions (2), suggestions, area chain, members, plans
    assert len(one) <= 17


def test_it_answers_404_when_a_photo_file_is_gone(cast, report, english):
    photo = add_photo(report)
    photo.image.storage.delete(photo.image.name)
    client = english(cast["member_a"])
    assert client.get(f"/committee/photos/{photo.pk}/image/").status_code == 404
    assert client.get(f"/committee/photos/{photo.pk}/thumbnail/").status_code == 200
