"""The aggregates API: who gets which tier, what a row holds, fixed query counts, the schema."""

import json
import re
from datetime import datetime, time, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.gis.geos import Point
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from drf_spectacular.validation import validate_schema

from community.models import Area, Institution
from reports.services import report_verify
from tests.factories import area, make_report, square

TIER_B = "/api/v1/aggregates/"
TIER_A = "/api/v1/open-data/aggregates/"
ROLES = ["anonymous", "member_a", "member_b", "analyst", "admin"]


@pytest.fixture(autouse=True)
def _threshold(settings):
    settings.INSIGHTS_SUPPRESSION_THRESHOLD = 5


def months_ago(months: int, day: int = 15) -> datetime:
    """Noon, local time, on `day` of the month `months` before this one."""
    today = timezone.localdate()
    index = today.year * 12 + today.month - 1 - months
    moment = datetime.combine(today.replace(year=index // 12, month=index % 12 + 1, day=day), time(12))
    return timezone.make_aware(moment)


def verified(cast, count: int, point: Point, occurred_at: datetime, **fields) -> list:
    reports = [make_report(point=point, occurred_at=occurred_at, **fields) for _ in range(count)]
    for report in reports:
        report_verify(report=report, actor=cast["admin"])
    return reports


@pytest.fixture
def south(geo) -> dict:
    """A second region outside the analyst's jurisdiction, with its own institution."""
    region = area("Sur", "TL02", Area.Level.REGION, square(-88.5, 14.0, -87.5, 15.0), geo["country"])
    municipality = area("Río Sur", "TL0201", Area.Level.MUNICIPALITY, square(-88.2, 14.4, -87.8, 14.6), region)
    community = area("Las Flores", "TL020101", Area.Level.COMMUNITY, square(-88.2, 14.4, -87.8, 14.6), municipality)
    institution = Institution.objects.create(name="Secretaría de Seguridad, Sur")
    institution.jurisdiction.add(region)
    analyst = get_user_model().objects.create_user(username="sur-analyst", password="x")
    institution.analysts.add(analyst)
    return {"region": region, "municipality": municipality, "community": community, "point": Point(-88.1, 14.5)}


def client_as(client_for, cast, role: str):
    return client_for(None if role == "anonymous" else cast[role])


def area_codes(body: dict) -> set[str]:
    rows = [*body["rows"], *(row for rows in body["margins"].values() for row in rows)]
    return {row["area"]["code"] for row in rows}


# --- Tier B ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "status"),
    [("anonymous", 403), ("member_a", 404), ("member_b", 404), ("analyst", 200), ("admin", 200)],
)
def test_it_gives_tier_b_to_analysts_and_administrators_only(client_for, cast, geo, south, role, status):
    verified(cast, 6, geo["west_point"], months_ago(1))
    verified(cast, 6, south["point"], months_ago(1))
    response = client_as(client_for, cast, role).get(TIER_B, {"level": "municipality"})
    assert response.status_code == status
    if status != 200:
        assert "TL01" not in response.content.decode()
        assert "count" not in response.content.decode()


def test_it_shows_an_analyst_only_the_areas_of_its_jurisdiction(client_for, cast, geo, south):
    verified(cast, 6, geo["west_point"], months_ago(1))
    verified(cast, 6, south["point"], months_ago(1))
    for level in ("region", "municipality", "community"):
        response = client_for(cast["analyst"]).get(TIER_B, {"level": level, "period": "month"})
        body = response.json()
        assert body["status"] == "released"
        codes = area_codes(body)
        assert codes and all(code.startswith("TL01") for code in codes), codes
        text = response.content.decode()
        assert "TL02" not in text and "Sur" not in text and "Las Flores" not in text


def test_it_shows_an_administrator_every_area(client_for, cast, geo, south):
    verified(cast, 6, geo["west_point"], months_ago(1))
    verified(cast, 6, south["point"], months_ago(1))
    body = client_for(cast["admin"]).get(TIER_B, {"level": "municipality"}).json()
    counts = {row["area"]["code"]: row["count"] for row in body["rows"] if row["count"]}
    assert counts == {"TL0101": 6, "TL0201": 6}


def test_it_answers_404_for_an_area_outside_the_jurisdiction(client_for, cast, geo, south):
    verified(cast, 6, south["point"], months_ago(1))
    assert client_for(cast["analyst"]).get(TIER_B, {"area": "TL0201"}).status_code == 404
    assert client_for(cast["admin"]).get(TIER_B, {"area": "TL0201"}).status_code == 200


def test_it_answers_a_released_table_with_rows_margins_and_metadata(client_for, cast, geo):
    verified(cast, 6, geo["west_point"], months_ago(1), affected_sex="female")
    verified(cast, 2, geo["east_point"], months_ago(1), affected_sex="male")
    body = client_for(cast["analyst"]).get(TIER_B, {"level": "municipality", "dims": "sex"}).json()
    assert body["status"] == "released" and body["message"] is None
    assert body["table"] == {
        "tier": "B",
        "level": "municipality",
        "period": "month",
        "dims": ["sex"],
        "family": "general",
        "threshold": 5,
    }
    period = months_ago(1).date().replace(day=1).isoformat()
    cells = {(row["period"], row["sex"]): row for row in body["rows"] if row["area"]["code"] == "TL0101"}
    assert cells[(period, "male")]["count"] is None and cells[(period, "male")]["shown"] == "x"
    # Female (6) goes too: the month's total (8) would give the 2 away.
    assert cells[(period, "female")]["count"] is None
    assert cells[(period, "")]["count"] == 0 and cells[(period, "")]["shown"] == "0"
    assert all(row["shown"] == ("x" if row["count"] is None else str(row["count"])) for row in body["rows"])
    assert body["rows"][0]["area"] == {"code": "TL0101", "name": "San Isidro", "level": "municipality"}
    assert set(body["rows"][0]) == {"area", "period", "sex", "count", "shown"}
    assert body["suppressed"] == sum(1 for row in body["rows"] if row["count"] is None) > 0
    assert {"area", "all_sex"} <= set(body["margins"])
    assert all(set(row) == {"area", "period", "count", "shown"} for row in body["margins"]["all_sex"])


def test_it_never_names_a_report(client_for, cast, geo):
    reports = verified(cast, 6, geo["west_point"], months_ago(1), description="Robo frente a la pulpería azul")
    text = client_for(cast["admin"]).get(TIER_B, {"level": "community"}).content.decode()
    assert "pulpería" not in text
    assert not any(report.tracking_code in text for report in reports)


def test_it_runs_the_same_queries_for_a_small_and_a_larger_table(client_for, cast, geo):
    verified(cast, 1, geo["west_point"], months_ago(1))
    client = client_for(cast["analyst"])
    params = {"level": "municipality", "period": "month", "dims": "sex"}
    small = _queries(client, params)
    for index in range(6):
        west = -88.5 + index * 0.15
        area(
            f"M{index}",
            f"TL01{index + 10}",
            Area.Level.MUNICIPALITY,
            square(west, 15.7, west + 0.14, 15.9),
            geo["region"],
        )
        point = Point(west + 0.07, 15.8, srid=4326)
        for months in range(1, 4):
            verified(cast, 1, point, months_ago(months), affected_sex="female")
    large = _queries(client, params)
    assert len(large.rows) > 10 * len(small.rows)
    assert large.count == small.count, (small.count, large.count)
    # And with the released tables already cached, fewer still, whatever the size.
    assert _queries(client, params, cold=False).count < large.count


class _Measured:
    def __init__(self, count: int, rows: list):
        self.count, self.rows = count, rows


def _queries(client, params: dict, cold: bool = True) -> _Measured:
    if cold:
        cache.clear()
    with CaptureQueriesContext(connection) as queries:
        response = client.get(TIER_B, params)
    assert response.status_code == 200
    return _Measured(len(queries), response.json()["rows"])


# --- Tier A ----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_it_gives_tier_a_to_everyone(client_for, cast, geo, south, role):
    verified(cast, 13, south["point"], months_ago(3))
    verified(cast, 3, geo["west_point"], months_ago(3))
    body = client_as(client_for, cast, role).get(TIER_A, {"level": "municipality"}).json()
    assert body["status"] == "released" and body["table"]["tier"] == "A" and body["table"]["threshold"] == 10
    shown = {row["area"]["code"]: (row["count"], row["shown"]) for row in body["rows"] if row["shown"] != "0"}
    assert shown == {"TL0201": (15, "15"), "TL0101": (None, "<10")}


def test_it_publishes_nothing_from_this_month_or_the_last(client_for, cast, geo):
    verified(cast, 12, geo["west_point"], months_ago(3))
    verified(cast, 12, geo["west_point"], months_ago(1))
    verified(cast, 12, geo["west_point"], timezone.now() - timedelta(minutes=5))
    body = client_for(None).get(TIER_A, {"level": "municipality"}).json()
    previous = months_ago(1).date().replace(day=1).isoformat()
    assert body["rows"] and all(row["period"] < previous for row in body["rows"])
    assert {row["shown"] for row in body["rows"] if row["count"]} == {"10"}


def test_it_refuses_an_unreleasable_table_with_its_reason(client_for, cast, geo):
    response = client_for(None).get(TIER_A, {"level": "community"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "refused" and "communities" in body["message"]
    assert body["rows"] == [] and body["margins"] == {}


def test_it_rejects_invalid_parameters_with_translated_errors(client_for, cast):
    response = client_for(None).get(TIER_A, {"level": "planet", "dims": "colour"}, HTTP_ACCEPT_LANGUAGE="es")
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert set(errors) == {"level", "dims"}
    assert "Escoja una opción válida" in errors["level"][0]


def test_it_checks_access_before_parameters(client_for, cast):
    assert client_for(cast["member_a"]).get(TIER_B, {"level": "planet"}).status_code == 404


# --- Schema and docs -------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_it_serves_a_valid_openapi_3_schema_to_anyone(client_for, cast, role):
    response = client_as(client_for, cast, role).get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    schema = json.loads(response.content)
    assert schema["openapi"].startswith("3.")
    validate_schema(schema)
    for path in (TIER_B, TIER_A):
        operation = schema["paths"][path]["get"]
        assert {parameter["name"] for parameter in operation["parameters"]} >= {"level", "period", "dims", "area"}
        assert "200" in operation["responses"] and "400" in operation["responses"]
    row = schema["components"]["schemas"]["Row"]["properties"]
    assert {"area", "period", "sex", "count", "shown"} <= set(row)


def test_it_serves_the_docs_without_any_other_host(client_for, db):
    client = client_for(None)
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui" in html and "/api/schema/" in html
    hosts = set(re.findall(r"https?://([^/\"'\s]+)", html)) | set(re.findall(r'(?:src|href)="//([^/"]+)', html))
    assert hosts <= {"testserver"}, hosts
    for asset in re.findall(r'(?:src|href)="(/static/[^"]+)"', html):
        assert client.get(asset).status_code == 200, asset
