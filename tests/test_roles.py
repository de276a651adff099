"""Who gets what: every workspace page and action × anonymous, member of A, member of B, analyst, admin.

Another committee's objects answer 404, never 403, so their existence does not leak; anonymous
visitors are sent to log in. "redirect" is a 302 somewhere other than a login page (an action done,
or a page that sends this role elsewhere).
"""

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from django.utils import timezone
from PIL import Image

from community.models import ActionPlan
from reports.photos import CleanPhoto
from reports.services import report_verify

from .factories import make_report

pytestmark = pytest.mark.django_db

ROLES = ("anonymous", "member_a", "member_b", "analyst", "admin")
LOGIN = "login"
REDIRECT = "redirect"
LOGIN_PAGES = ("/accounts/login/", "/admin/login/")


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 6), (200, 40, 40)).save(out, "JPEG")
    return out.getvalue()


@pytest.fixture
def world(cast, geo, settings) -> dict:
    settings.DEMO_MODE = False  # the simulator is open to everyone in demo mode
    photo = CleanPhoto(image=jpeg(), thumbnail=jpeg(), width=8, height=6)
    report = report_verify(report=make_report(point=geo["west_point"], photos=[photo]), actor=cast["member_a"])

    def plan(status: str) -> int:
        # Straight to the status: the lifecycle and its events are tested in tests/community.
        return ActionPlan.objects.create(
            committee=cast["committee_a"],
            title="Light the school path",
            problem_summary="Assaults after dark.",
            measures="Street lights.",
            responsible_party="Comité La Ceiba",
            status=status,
        ).pk

    return {
        "report": report.pk,
        "photo": report.photos.get().pk,
        "draft": plan(ActionPlan.Status.DRAFT),
        "submitted": plan(ActionPlan.Status.SUBMITTED),
        "accepted": plan(ActionPlan.Status.ACCEPTED),
        "done": plan(ActionPlan.Status.DONE),
        "committee_a": cast["committee_a"].pk,
    }


def plan_form(world: dict) -> dict:
    return {
        "committee": world["committee_a"],  # asked of administrators only
        "title": "Patrols at closing time",
        "problem_summary": "Robberies at the bus stop.",
        "measures": "A patrol at 18:00.",
        "responsible_party": "Comité",
        "due_date": (timezone.localdate() + timedelta(days=30)).isoformat(),
        "reports": [world["report"]],
    }


@dataclass(frozen=True)
class Endpoint:
    name: str
    method: str
    url: Callable[[dict], str]
    expected: dict[str, object]
    data: Callable[[dict], dict] = field(default=lambda world: {})


def expect(anonymous, member_a, member_b, analyst, admin) -> dict[str, object]:
    return dict(zip(ROLES, (anonymous, member_a, member_b, analyst, admin), strict=True))


MEMBER_ONLY = expect(LOGIN, 200, 404, 404, 200)
MEMBER_ACTS = expect(LOGIN, REDIRECT, 404, 404, REDIRECT)
ANALYST_ONLY = expect(LOGIN, 404, 404, 200, 200)
ANALYST_ACTS = expect(LOGIN, 404, 404, REDIRECT, REDIRECT)

ENDPOINTS = [
    # Login and logout
    Endpoint("login", "get", lambda w: "/accounts/login/", expect(200, REDIRECT, REDIRECT, REDIRECT, REDIRECT)),
    Endpoint("logout-get", "get", lambda w: "/accounts/logout/", expect(405, 405, 405, 405, 405)),
    Endpoint("logout", "post", lambda w: "/accounts/logout/", expect(LOGIN, LOGIN, LOGIN, LOGIN, LOGIN)),
    # Committee action plans (all of committee A)
    Endpoint("plans", "get", lambda w: "/committee/plans/", expect(LOGIN, 200, 200, REDIRECT, 200)),
    Endpoint("plan-new", "get", lambda w: "/committee/plans/new/", expect(LOGIN, 200, 200, 404, 200)),
    Endpoint(
        "plan-create", "post", lambda w: "/committee/plans/new/", expect(LOGIN, REDIRECT, 400, 404, REDIRECT), plan_form
    ),
    Endpoint("plan-detail", "get", lambda w: f"/committee/plans/{w['draft']}/", MEMBER_ONLY),
    Endpoint("plan-edit", "post", lambda w: f"/committee/plans/{w['draft']}/", MEMBER_ACTS, plan_form),
    Endpoint("plan-submit", "post", lambda w: f"/committee/plans/{w['draft']}/submit/", MEMBER_ACTS),
    Endpoint("plan-done", "post", lambda w: f"/committee/plans/{w['accepted']}/done/", MEMBER_ACTS),
    Endpoint(
        "plan-verify",
        "post",
        lambda w: f"/committee/plans/{w['done']}/verify/",
        MEMBER_ACTS,
        lambda w: {"verification": "Meeting."},
    ),
    # Institution: submitted plans of the jurisdiction, counts only
    Endpoint("institution-plans", "get", lambda w: "/institution/plans/", ANALYST_ONLY),
    Endpoint("institution-plan", "get", lambda w: f"/institution/plans/{w['submitted']}/", ANALYST_ONLY),
    Endpoint(
        "institution-draft", "get", lambda w: f"/institution/plans/{w['draft']}/", expect(LOGIN, 404, 404, 404, 404)
    ),
    Endpoint("plan-accept", "post", lambda w: f"/institution/plans/{w['submitted']}/accept/", ANALYST_ACTS),
    Endpoint(
        "plan-decline",
        "post",
        lambda w: f"/institution/plans/{w['submitted']}/decline/",
        ANALYST_ACTS,
        lambda w: {"reason": "No budget."},
    ),
    Endpoint(
        "plan-progress",
        "post",
        lambda w: f"/institution/plans/{w['accepted']}/progress/",
        ANALYST_ACTS,
        lambda w: {"note": "Lights ordered."},
    ),
    # The committee workspace, written alongside
    Endpoint("board", "get", lambda w: "/committee/", expect(LOGIN, 200, 200, 404, 200)),
    Endpoint("board-map", "get", lambda w: "/committee/map.geojson", expect(LOGIN, 200, 200, 404, 200)),
    Endpoint("report", "get", lambda w: f"/committee/reports/{w['report']}/", MEMBER_ONLY),
    Endpoint("photo", "get", lambda w: f"/committee/photos/{w['photo']}/thumbnail/", MEMBER_ONLY),
    Endpoint("sms-simulator", "get", lambda w: "/sms/simulator/", expect(LOGIN, 404, 404, 404, 200)),
    Endpoint("admin", "get", lambda w: "/admin/", expect(LOGIN, LOGIN, LOGIN, LOGIN, 200)),
    # Insights: tier B for the jurisdiction's analysts, tier A for everyone, alerts for both sides
    Endpoint("insights", "get", lambda w: "/insights/", ANALYST_ONLY),
    Endpoint("insights-map", "get", lambda w: "/insights/map.json", ANALYST_ONLY),
    Endpoint("insights-export", "get", lambda w: "/insights/export.csv", ANALYST_ONLY),
    Endpoint("insights-api", "get", lambda w: "/api/v1/aggregates/", expect(403, 404, 404, 200, 200)),
    Endpoint("alerts", "get", lambda w: "/insights/alerts/", expect(LOGIN, 200, 200, 200, 200)),
    Endpoint("open-data", "get", lambda w: "/open-data/", expect(200, 200, 200, 200, 200)),
    Endpoint("open-data-export", "get", lambda w: "/open-data/export.hxl", expect(200, 200, 200, 200, 200)),
    Endpoint("open-data-api", "get", lambda w: "/api/v1/open-data/aggregates/", expect(200, 200, 200, 200, 200)),
    Endpoint("api-schema", "get", lambda w: "/api/schema/", expect(200, 200, 200, 200, 200)),
]

CASES = [pytest.param(endpoint, role, id=f"{endpoint.name}-{role}") for endpoint in ENDPOINTS for role in ROLES]


@pytest.mark.parametrize(("endpoint", "role"), CASES)
def test_role_matrix(endpoint: Endpoint, role: str, world, cast, client_for):
    client = client_for(None if role == "anonymous" else cast[role])
    url = endpoint.url(world)
    response = client.get(url) if endpoint.method == "get" else client.post(url, endpoint.data(world))
    expected = endpoint.expected[role]
    location = response.get("Location", "")
    if expected == LOGIN:
        assert response.status_code == 302, (url, role)
        assert location.startswith(LOGIN_PAGES), (url, role, location)
    elif expected == REDIRECT:
        assert response.status_code == 302, (url, role)
        assert not location.startswith(LOGIN_PAGES), (url, role, location)
    else:
        assert response.status_code == expected, (url, role)


def test_every_plan_step_is_in_the_matrix():
    """A new plan action must be added to the matrix above."""
    from reports.plan_views import ANALYST_ACTIONS, MEMBER_ACTIONS

    named = {endpoint.name for endpoint in ENDPOINTS}
    assert {f"plan-{action}" for action in [*MEMBER_ACTIONS, *ANALYST_ACTIONS]} <= named
