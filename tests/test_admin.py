import pytest
from django.contrib import admin
from django.urls import reverse
from django.utils import timezone

from community.models import ActionPlan, Area
from insights.models import Alert
from reports.models import AuditEntry, Category, Photo, Report, TriageEvent
from sms_gateway.models import Conversation, InboundMedia, InboundMessage, OutboundMessage, Reporter
from tests.factories import make_report, square

pytestmark = pytest.mark.django_db

# Written only by the intake, triage and SMS services: the admin shows them but cannot add them.
NOT_ADDABLE = {
    Report,
    Photo,
    TriageEvent,
    ActionPlan,
    AuditEntry,
    Reporter,
    InboundMessage,
    InboundMedia,
    Conversation,
    OutboundMessage,
    Alert,
}


def admin_url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def test_it_shows_every_changelist_and_add_page_to_the_administrator(cast, geo, client_for):
    make_report(point=geo["west_point"])
    client = client_for(cast["admin"])
    for model in admin.site._registry:
        assert client.get(admin_url(model, "changelist")).status_code == 200, model
        expected = 403 if model in NOT_ADDABLE else 200
        assert client.get(admin_url(model, "add")).status_code == expected, model


def test_it_shows_change_pages_to_the_administrator(cast, geo, client_for):
    report = make_report(point=geo["west_point"])
    client = client_for(cast["admin"])
    for obj in (geo["west"], geo["place"], cast["committee_a"], cast["institution"], report.category, report):
        assert client.get(admin_url(type(obj), "change", obj.pk)).status_code == 200, obj


def test_it_draws_the_area_boundary_with_leaflet(cast, geo, client_for):
    response = client_for(cast["admin"]).get(admin_url(Area, "change", geo["west"].pk))
    html = response.content.decode()
    assert 'id="id_boundary-map"' in html
    assert "leaflet/leaflet.js" in html
    assert "django-leaflet-raw-textarea" in html


def test_it_saves_an_area_boundary_drawn_on_the_map(cast, geo, client_for):
    west = geo["west"]
    drawn = square(-88.3, 15.4, -88.0, 15.6)
    data = {"name": west.name, "code": west.code, "level": west.level, "parent": west.parent_id}
    response = client_for(cast["admin"]).post(
        admin_url(Area, "change", west.pk), {**data, "boundary": drawn.geojson, "boundary_display": ""}
    )
    assert response.status_code == 302
    assert Area.objects.get(pk=west.pk).boundary.equals(drawn)


@pytest.mark.parametrize("who", ["member_a", None])
def test_it_sends_non_staff_to_the_admin_login(cast, client_for, who):
    client = client_for(cast[who] if who else None)
    for url in (reverse("admin:index"), admin_url(Report, "changelist"), admin_url(Area, "changelist")):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))


def test_it_lists_reports_in_bounded_queries(cast, geo, client_for, django_assert_max_num_queries):
    for _ in range(30):
        make_report(point=geo["west_point"])
    client = client_for(cast["admin"])
    with django_assert_max_num_queries(10):
        response = client.get(admin_url(Report, "changelist"))
    assert response.status_code == 200
    assert response.context["cl"].result_count == 30


def test_it_finds_a_report_by_its_code_as_typed(cast, geo, client_for):
    report = make_report(point=geo["west_point"])
    make_report(point=geo["west_point"])
    typed = report.formatted_code().lower()
    response = client_for(cast["admin"]).get(admin_url(Report, "changelist"), {"q": typed})
    assert list(response.context["cl"].result_list) == [report]


def test_it_saves_a_report_edit_without_touching_status_place_or_audit(cast, geo, client_for):
    report = make_report(point=geo["west_point"])
    client = client_for(cast["admin"])
    url = admin_url(Report, "change", report.pk)
    data = report_change_data(report)
    data["description"] = "Two men fighting by the gate."
    response = client.post(url, data)
    assert response.status_code == 302
    fresh = Report.objects.get(pk=report.pk)
    assert fresh.description == "Two men fighting by the gate."
    assert (fresh.status, fresh.area, fresh.tracking_code) == (report.status, report.area, report.tracking_code)
    assert fresh.location.equals_exact(geo["west_point"], tolerance=1e-9)
    assert TriageEvent.objects.filter(report=report).count() == 1


def test_it_requires_a_category_name_in_every_language(cast, client_for):
    client = client_for(cast["admin"])
    data = {"code": "loitering", "group": "other", "sort_order": 0, "is_active": "on"}
    response = client.post(admin_url(Category, "add"), {**data, "names": '{"en": "Loitering"}'})
    assert response.status_code == 200
    assert "names" in response.context["adminform"].form.errors
    assert not Category.objects.filter(code="loitering").exists()

    names = '{"en": "Loitering", "es": "Merodeo", "fr": "Rôdeurs", "ht": "Moun k ap flannen", "pt": "Vadiagem"}'
    response = client.post(admin_url(Category, "add"), {**data, "names": names})
    assert response.status_code == 302
    assert Category.objects.get(code="loitering").names["ht"] == "Moun k ap flannen"


def report_change_data(report: Report) -> dict:
    """What the browser posts back from an untouched change page (the inlines' management forms included)."""
    occurred = timezone.localtime(report.occurred_at)
    data = {
        "category": report.category_id,
        "priority": report.priority,
        "description": report.description,
        "occurred_at_0": occurred.date().isoformat(),
        "occurred_at_1": occurred.time().isoformat(timespec="seconds"),
        "occurred_precision": report.occurred_precision,
        "affected_sex": report.affected_sex,
        "affected_age_band": report.affected_age_band,
        "location": report.location.geojson,
    }
    inlines = {"arms": [], "photos": list(report.photos.all()), "events": list(report.events.all())}
    for prefix, rows in inlines.items():
        data |= {f"{prefix}-TOTAL_FORMS": len(rows), f"{prefix}-INITIAL_FORMS": len(rows)}
        for index, row in enumerate(rows):
            data |= {f"{prefix}-{index}-id": row.pk, f"{prefix}-{index}-report": report.pk}
    return data
