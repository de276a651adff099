"""The committee board at /committee/: who sees it, its filters and pages, its map, and its query counts."""

import json
import re
from datetime import datetime, timedelta
from itertools import cycle
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from django.contrib.gis.geos import Point
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from reports import board
from reports.models import Category, Report
from reports.services import tracking_code_new

from ..factories import make_report

pytestmark = pytest.mark.django_db

BOARD = "/committee/"
GEOJSON = "/committee/map.geojson"


def row_ids(response) -> list[int]:
    return [int(found) for found in re.findall(r'<tr data-report-id="(\d+)"', response.content.decode())]


def feature_ids(response) -> list[int]:
    return [feature["id"] for feature in response.json()["features"]]


def west_path(geo) -> list[int]:
    return [geo["west"].id, geo["municipality"].id, geo["region"].id, geo["country"].id]


def bulk_reports(geo, count: int, *, side: str = "west", **fields) -> list[Report]:
    """Some reports fast: no area lookup per row, no events; the newest comes last."""
    community = geo[side]
    path = [community.id, *(ancestor.id for ancestor in community.ancestors())]
    x0 = -88.19 if side == "west" else -87.99
    categories = cycle(list(Category.objects.filter(code__in=["assault", "gunfire", "robbery"])))
    start = timezone.now() - timedelta(minutes=count + 1)
    reports = [
        Report(
            tracking_code=tracking_code_new(),
            category=next(categories),
            description=f"Bulk report {index}",
            occurred_at=start,
            location=Point(x0 + (index % 97) * 0.0018, 15.41 + (index % 89) * 0.0019, srid=4326),
            location_source=Report.LocationSource.MAP,
            area=community,
            area_path=path,
            created_at=start + timedelta(minutes=index),
            **fields,
        )
        for index in range(count)
    ]
    return Report.objects.bulk_create(reports, batch_size=1000)


def many_reports(template: Report, count: int) -> None:
    """count older copies of a report in one INSERT ... SELECT (bulk_create spends ~6 s in Python
    on 10,000 rows): each gets its own code, point, time, description and one of three categories;
    every other column, present or future, is copied from the template row."""
    quote = connection.ops.quote_name
    varying = {"id", "tracking_code", "location", "created_at", "description", "category_id"}
    copied = [field.column for field in Report._meta.concrete_fields if field.column not in varying]
    codes = {tracking_code_new() for _ in range(count + 10)} - {template.tracking_code}
    categories = list(Category.objects.filter(code__in=["assault", "gunfire", "robbery"]).values_list("id", flat=True))
    columns = ", ".join(quote(column) for column in copied)
    sql = f"""
        INSERT INTO reports_report (tracking_code, location, created_at, description, category_id, {columns})
        SELECT code,
               ST_SetSRID(ST_MakePoint(%s + (n %% 97) * 0.0018, 15.41 + (n %% 89) * 0.0019), 4326),
               r.created_at - make_interval(mins => n::int),
               'Bulk report ' || n,
               (%s::bigint[])[n %% 3 + 1],
               {", ".join(f"r.{quote(column)}" for column in copied)}
        FROM reports_report r, unnest(%s::text[]) WITH ORDINALITY AS t(code, n)
        WHERE r.id = %s
    """  # noqa: S608 -- the only formatted names are the model's own columns
    with connection.cursor() as cursor:
        cursor.execute(sql, [template.location.x - 0.05, categories, sorted(codes)[:count], template.id])


@pytest.fixture
def two_sides(geo) -> dict:
    west = make_report(point=geo["west_point"], description="Shots near the west school")
    east = make_report(point=geo["east_point"], description="Shots near the east market")
    return {"west": west, "east": east}


# --- who gets it ---------------------------------------------------------------------------


@pytest.mark.parametrize("url", [BOARD, GEOJSON])
def test_it_sends_anonymous_visitors_to_log_in(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(f"{settings.LOGIN_URL}?next=")


@pytest.mark.parametrize("url", [BOARD, GEOJSON])
def test_it_answers_404_to_an_analyst(client_for, cast, two_sides, url):
    assert client_for(cast["analyst"]).get(url).status_code == 404


def test_it_shows_member_a_the_west_and_not_the_east(client_for, cast, two_sides):
    client = client_for(cast["member_a"])
    page = client.get(BOARD, HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    assert row_ids(page) == [two_sides["west"].id]
    assert two_sides["east"].formatted_code() not in page.content.decode()
    assert feature_ids(client.get(GEOJSON)) == [two_sides["west"].id]


def test_it_shows_member_b_the_east_and_not_the_west(client_for, cast, two_sides):
    client = client_for(cast["member_b"])
    page = client.get(BOARD)
    assert row_ids(page) == [two_sides["east"].id]
    assert two_sides["west"].formatted_code() not in page.content.decode()
    assert feature_ids(client.get(GEOJSON)) == [two_sides["east"].id]


def test_it_shows_an_administrator_everything(client_for, cast, two_sides):
    client = client_for(cast["admin"])
    expected = [two_sides["east"].id, two_sides["west"].id]  # newest first
    assert row_ids(client.get(BOARD)) == expected
    assert feature_ids(client.get(GEOJSON)) == expected


def test_it_is_never_cached(client_for, cast):
    client = client_for(cast["member_a"])
    for url in (BOARD, GEOJSON):
        assert "no-store" in client.get(url)["Cache-Control"]


# --- the list ------------------------------------------------------------------------------


def test_it_lists_the_columns_a_committee_triages_by(client_for, cast, geo):
    report = make_report(point=geo["west_point"], category_code="gunfire", channel=Report.Channel.SMS)
    Report.objects.filter(pk=report.pk).update(
        status=Report.Status.VERIFIED, priority=Report.Priority.URGENT, assigned_to=cast["member_a"]
    )
    body = client_for(cast["member_a"]).get(BOARD, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    row = re.search(rf'<tr data-report-id="{report.id}">(.*?)</tr>', body, re.S).group(1)
    assert f'href="/committee/reports/{report.id}/"' in row
    assert report.formatted_code() in row
    local = timezone.localtime(report.created_at)
    assert local.strftime("%Y-%m-%d %H:%M") in row
    for shown in ("Gunfire", "La Ceiba", "SMS", "status status-verified", "Verified", "Urgent", "ana"):
        assert shown in row


def test_it_shows_the_category_in_the_readers_language(client_for, cast, geo):
    make_report(point=geo["west_point"], category_code="gunfire")
    body = client_for(cast["member_a"]).get(BOARD, HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert "Disparos" in body
    assert "Gunfire" not in body


def test_it_says_so_when_nothing_matches(client_for, cast, two_sides):
    body = client_for(cast["member_a"]).get(BOARD, {"status": "resolved"}, HTTP_ACCEPT_LANGUAGE="en").content
    assert b"No reports match these filters." in body


def test_it_gives_the_live_hook_what_it_needs(client_for, cast, two_sides):
    body = client_for(cast["member_a"]).get(BOARD).content.decode()
    committees = re.search(r'data-ws-committees="([^"]*)"', body).group(1)
    assert json.loads(committees) == [cast["committee_a"].id]
    assert '<tbody id="board-rows">' in body
    assert f'<tr data-report-id="{two_sides["west"].id}">' in body
    labels = json.loads(re.search(r'<script id="board-labels" type="application/json">(.*?)</script>', body).group(1))
    assert {"statuses", "channels", "priorities", "categories"} <= labels.keys()
    assert "static/js/board.js" in body and "static/leaflet/leaflet.js" in body


# --- filters -------------------------------------------------------------------------------


def test_it_filters_by_status(client_for, cast, geo):
    new = make_report(point=geo["west_point"])
    verified = make_report(point=geo["west_point"])
    Report.objects.filter(pk=verified.pk).update(status=Report.Status.VERIFIED)
    client = client_for(cast["member_a"])
    assert row_ids(client.get(BOARD, {"status": "verified"})) == [verified.id]
    assert row_ids(client.get(BOARD, {"status": "new"})) == [new.id]
    assert feature_ids(client.get(GEOJSON, {"status": "verified"})) == [verified.id]


def test_it_filters_by_category(client_for, cast, geo):
    gunfire = make_report(point=geo["west_point"], category_code="gunfire")
    make_report(point=geo["west_point"], category_code="assault")
    client = client_for(cast["member_a"])
    assert row_ids(client.get(BOARD, {"category": "gunfire"})) == [gunfire.id]
    assert feature_ids(client.get(GEOJSON, {"category": "gunfire"})) == [gunfire.id]


def test_it_filters_by_channel(client_for, cast, geo):
    sms = make_report(point=geo["west_point"], channel=Report.Channel.SMS)
    make_report(point=geo["west_point"])
    client = client_for(cast["member_a"])
    assert row_ids(client.get(BOARD, {"channel": "sms"})) == [sms.id]
    assert feature_ids(client.get(GEOJSON, {"channel": "sms"})) == [sms.id]


def test_it_filters_by_area_and_its_sub_areas(client_for, cast, two_sides, geo):
    client = client_for(cast["admin"])
    assert row_ids(client.get(BOARD, {"area": geo["west"].id})) == [two_sides["west"].id]
    assert feature_ids(client.get(GEOJSON, {"area": geo["east"].id})) == [two_sides["east"].id]
    both = [two_sides["east"].id, two_sides["west"].id]
    assert row_ids(client.get(BOARD, {"area": geo["municipality"].id})) == both


def test_it_offers_only_the_areas_the_committee_serves(client_for, cast, two_sides, geo):
    client = client_for(cast["member_a"])
    body = client.get(BOARD, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    select = re.search(r'<select name="area".*?</select>', body, re.S).group(0)
    assert f'value="{geo["west"].id}"' in select
    for elsewhere in ("east", "municipality", "region", "country"):
        assert f'value="{geo[elsewhere].id}"' not in select
    # Another committee's area is refused with a message, and reveals nothing.
    response = client.get(BOARD, {"area": geo["east"].id}, HTTP_ACCEPT_LANGUAGE="en")
    assert row_ids(response) == [two_sides["west"].id]
    assert "Select a valid choice" in response.content.decode()
    assert client.get(GEOJSON, {"area": geo["east"].id}).status_code == 400


def test_it_filters_by_date_received_in_the_project_time_zone(client_for, cast, geo):
    zone = timezone.get_default_timezone()
    late = make_report(point=geo["west_point"])
    next_day = make_report(point=geo["west_point"])
    earlier = make_report(point=geo["west_point"])
    Report.objects.filter(pk=late.pk).update(created_at=datetime(2025, 3, 10, 23, 30, tzinfo=zone))
    Report.objects.filter(pk=next_day.pk).update(created_at=datetime(2025, 3, 11, 0, 30, tzinfo=zone))
    Report.objects.filter(pk=earlier.pk).update(created_at=datetime(2025, 3, 9, 12, 0, tzinfo=zone))
    client = client_for(cast["member_a"])
    assert row_ids(client.get(BOARD, {"date_from": "2025-03-10", "date_to": "2025-03-10"})) == [late.id]
    assert row_ids(client.get(BOARD, {"date_from": "2025-03-10"})) == [next_day.id, late.id]
    assert row_ids(client.get(BOARD, {"date_to": "2025-03-10"})) == [late.id, earlier.id]
    assert feature_ids(client.get(GEOJSON, {"date_to": "2025-03-09"})) == [earlier.id]
    # The date pickers keep the chosen day in every language (they speak ISO only).
    spanish = client.get(BOARD, {"date_from": "2025-03-10"}, HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert 'name="date_from" value="2025-03-10"' in spanish


def test_it_refuses_an_upside_down_date_range_with_a_message(client_for, cast, two_sides):
    client = client_for(cast["member_a"])
    query = {"date_from": "2025-03-10", "date_to": "2025-03-01"}
    response = client.get(BOARD, query, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert "The end date is before the start date." in response.content.decode()
    assert row_ids(response) == [two_sides["west"].id]  # the start date alone still applies
    geojson = client.get(GEOJSON, query, HTTP_ACCEPT_LANGUAGE="en")
    assert geojson.status_code == 400
    assert "date_to" in geojson.json()["errors"]


def test_it_searches_descriptions(client_for, cast, two_sides, geo):
    make_report(point=geo["west_point"], description="A broken street light")
    client = client_for(cast["member_a"])
    assert row_ids(client.get(BOARD, {"q": "west SCHOOL"})) == [two_sides["west"].id]
    assert feature_ids(client.get(GEOJSON, {"q": "school"})) == [two_sides["west"].id]
    # The east report matches the words too, but member A may not see it.
    assert row_ids(client.get(BOARD, {"q": "market"})) == []


def test_it_finds_a_report_by_its_code_as_people_type_it(client_for, cast, geo):
    wanted = make_report(point=geo["west_point"])
    make_report(point=geo["west_point"])
    code = wanted.tracking_code
    client = client_for(cast["member_a"])
    for typed in (code, code.lower(), f"{code[:5]}-{code[5:]}", f" {code[:5]} {code[5:]} ", code[2:8]):
        assert row_ids(client.get(BOARD, {"q": typed})) == [wanted.id], typed


def test_it_keeps_the_valid_filters_for_the_map_and_the_pages(client_for, cast, geo):
    bulk_reports(geo, 60, status=Report.Status.VERIFIED)
    body = client_for(cast["member_a"]).get(BOARD, {"status": "verified", "channel": "fax"}).content.decode()
    geojson_url = re.search(r'data-geojson-url="([^"]*)"', body).group(1).replace("&amp;", "&")
    assert parse_qs(urlsplit(geojson_url).query) == {"status": ["verified"]}
    next_page = re.search(r'rel="next" href="([^"]*)"', body).group(1).replace("&amp;", "&")
    assert parse_qs(urlsplit(next_page).query) == {"status": ["verified"], "page": ["2"]}


# --- pages ---------------------------------------------------------------------------------


def test_it_pages_by_fifty_newest_first(client_for, cast, geo):
    reports = bulk_reports(geo, 120)
    newest_first = [report.id for report in reversed(reports)]
    client = client_for(cast["member_a"])
    assert row_ids(client.get(BOARD)) == newest_first[:50]
    assert row_ids(client.get(BOARD, {"page": 2})) == newest_first[50:100]
    last = client.get(BOARD, {"page": 3}, HTTP_ACCEPT_LANGUAGE="en")
    assert row_ids(last) == newest_first[100:]
    assert "Page 3 of 3" in last.content.decode()
    assert row_ids(client.get(BOARD, {"page": "nonsense"})) == newest_first[:50]
    assert row_ids(client.get(BOARD, {"page": 99})) == newest_first[100:]


# --- the map -------------------------------------------------------------------------------


def test_it_serves_the_map_as_geojson(client_for, cast, geo):
    report = make_report(point=Point(-88.123456789, 15.4567891, srid=4326), category_code="gunfire")
    make_report(point=None, area=geo["west"], location_source=Report.LocationSource.AREA)
    data = client_for(cast["member_a"]).get(GEOJSON).json()
    assert data["type"] == "FeatureCollection"
    assert data["truncated"] is False
    assert data["features"] == [
        {
            "type": "Feature",
            "id": report.id,
            "geometry": {"type": "Point", "coordinates": [-88.123457, 15.456789]},
            "properties": {
                "id": report.id,
                "code": report.formatted_code(),
                "status": "new",
                "category": "gunfire",
            },
        }
    ]


def test_it_caps_the_map_at_the_most_recent_points(client_for, cast, geo, monkeypatch):
    monkeypatch.setattr(board, "MAP_LIMIT", 5)
    reports = bulk_reports(geo, 8)
    data = client_for(cast["member_a"]).get(GEOJSON).json()
    assert data["truncated"] is True
    assert [feature["id"] for feature in data["features"]] == [report.id for report in reversed(reports)][:5]


# --- query counts --------------------------------------------------------------------------


# Session, user, the user's committees (three times: the page, the area choices and the access
# check each ask), the served areas, their sub-areas, the area and category choices; then the
# list's COUNT and page, or the map's one query.
BOARD_QUERIES = 12
GEOJSON_QUERIES = 11


def count_queries(client, url: str, data: dict) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, data)
    assert response.status_code == 200
    return len(queries)


def test_it_runs_the_same_few_queries_for_ten_or_ten_thousand_reports(client_for, cast, geo):
    client = client_for(cast["member_a"])
    filtered = {"status": "new", "category": "gunfire", "q": "report", "date_from": "2020-01-01", "page": "3"}
    bulk_reports(geo, 10)
    few = {(url, bool(data)): count_queries(client, url, data) for url in (BOARD, GEOJSON) for data in ({}, filtered)}
    many_reports(Report.objects.filter(area=geo["west"]).earliest("created_at"), 10_000 - 10)
    assert Report.objects.filter(area=geo["west"], location__isnull=False).count() == 10_000
    many = {(url, bool(data)): count_queries(client, url, data) for url in (BOARD, GEOJSON) for data in ({}, filtered)}
    expected = {BOARD: BOARD_QUERIES, GEOJSON: GEOJSON_QUERIES}
    assert few == many == {(url, filtered): expected[url] for url, filtered in few}
    data = client.get(GEOJSON).json()
    assert data["truncated"] is True
    assert len(data["features"]) == board.MAP_LIMIT


def test_it_leaves_area_boundaries_and_descriptions_in_the_database(client_for, cast, geo):
    # A real boundary can weigh megabytes: fifty copies of it per page would be the slowest thing here.
    bulk_reports(geo, 3)
    with CaptureQueriesContext(connection) as queries:
        client_for(cast["member_a"]).get(BOARD)
    page_query = queries.captured_queries[-1]["sql"]
    assert '"reports_report"."tracking_code"' in page_query
    for heavy in ('"boundary"', '"boundary_display"', '"description"', '"password"'):
        assert heavy not in page_query
