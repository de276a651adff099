"""Duplicate suggestions (same category, near in metres and in time, found by PostGIS) and merging."""

from datetime import timedelta

import pytest
from django.contrib.gis.geos import Point
from django.db import connection
from django.test.utils import CaptureQueriesContext

from reports.duplicates import duplicate_candidates
from reports.models import Report
from reports.selectors import reports_for_user

from ..factories import make_report

pytestmark = pytest.mark.django_db

# At latitude 15.5° one degree of longitude is about 107.3 km.
METRES_PER_DEGREE_LON = 107_270


def east_of(point: Point, metres: float) -> Point:
    return Point(point.x + metres / METRES_PER_DEGREE_LON, point.y, srid=4326)


def north_of(point: Point, metres: float) -> Point:
    return Point(point.x, point.y + metres / 110_700, srid=4326)


def suggested(report: Report, user, **options) -> list[Report]:
    return duplicate_candidates(report, among=reports_for_user(user), **options)


@pytest.fixture
def report(cast, geo) -> Report:
    return make_report(point=geo["west_point"])


def test_it_suggests_a_nearby_report_of_the_same_category_the_same_day(cast, geo, report):
    near = make_report(point=north_of(geo["west_point"], 120), occurred_at=report.occurred_at + timedelta(hours=20))
    [candidate] = suggested(report, cast["member_a"])
    assert candidate == near
    assert 110 <= candidate.distance_m <= 130
    assert candidate.gap == timedelta(hours=20)


def test_it_measures_in_metres_on_the_ground(cast, geo, report):
    inside = make_report(point=east_of(geo["west_point"], 250))
    make_report(point=east_of(geo["west_point"], 350))
    assert suggested(report, cast["member_a"]) == [inside]
    assert len(suggested(report, cast["member_a"], distance_m=400)) == 2


def test_it_leaves_out_far_reports_other_categories_and_other_days(cast, geo, report):
    make_report(point=east_of(geo["west_point"], 2000))
    make_report(point=geo["west_point"].clone(), category_code="robbery")
    make_report(point=geo["west_point"].clone(), occurred_at=report.occurred_at - timedelta(days=5))
    make_report(point=geo["west_point"].clone(), occurred_at=report.occurred_at + timedelta(days=5))
    assert suggested(report, cast["member_a"]) == []


def test_it_orders_by_distance_then_time(cast, geo, report):
    far = make_report(point=east_of(geo["west_point"], 200))
    near_later = make_report(point=east_of(geo["west_point"], 50), occurred_at=report.occurred_at + timedelta(hours=30))
    near_sooner = make_report(point=east_of(geo["west_point"], 50), occurred_at=report.occurred_at - timedelta(hours=2))
    assert suggested(report, cast["member_a"]) == [near_sooner, near_later, far]
    assert suggested(report, cast["member_a"], limit=2) == [near_sooner, near_later]


def test_it_never_suggests_the_report_itself_or_reports_merged_into_it(cast, geo, report):
    from reports.services import report_mark_duplicate

    merged = make_report(point=geo["west_point"].clone())
    report_mark_duplicate(report=merged, actor=cast["member_a"], original=report)
    assert suggested(report, cast["member_a"]) == []


def test_it_suggests_only_reports_the_member_may_see(cast, geo):
    # Two reports 100 m apart on either side of the line between the west and east communities.
    west = make_report(point=Point(-88.0005, 15.5, srid=4326))
    east = make_report(point=Point(-87.9995, 15.5, srid=4326))
    assert suggested(west, cast["member_a"]) == []
    assert suggested(east, cast["member_b"]) == []
    assert suggested(west, cast["admin"]) == [east]


def test_it_uses_the_area_for_reports_without_a_point(cast, geo):
    named = make_report(point=None, area=geo["west"], location_source=Report.LocationSource.AREA)
    same_area = make_report(point=Point(-88.19, 15.41, srid=4326))  # 20 km away, same community
    make_report(point=geo["east_point"])
    [candidate] = suggested(named, cast["admin"])
    assert candidate == same_area
    assert candidate.distance_m is None


def test_it_runs_one_query(cast, geo, report):
    for metres in (10, 20, 30):
        make_report(point=east_of(geo["west_point"], metres))
    among = reports_for_user(cast["admin"])
    duplicate_candidates(report, among=among)  # warm up the spatial reference cache
    with CaptureQueriesContext(connection) as queries:
        candidates = duplicate_candidates(report, among=among)
        [(row.area.name, row.duplicate_of_id) for row in candidates]
    assert len(candidates) == 3
    assert len(queries) == 1


# --- merging ----------------------------------------------------------------------------------------------


def merge(client, report: Report, original: Report):
    return client.post(f"/committee/reports/{report.pk}/duplicate/", {"original": original.pk})


def test_merging_marks_the_report_a_duplicate_of_the_original(cast, geo, report, client_for):
    copy = make_report(point=east_of(geo["west_point"], 40))
    response = merge(client_for(cast["member_a"]), copy, report)
    assert response.status_code == 302
    copy.refresh_from_db()
    assert (copy.status, copy.duplicate_of) == (Report.Status.DUPLICATE, report)
    event = copy.events.latest("id")
    assert (event.from_status, event.to_status, event.actor) == ("new", "duplicate", cast["member_a"])


def test_a_duplicate_of_a_duplicate_points_at_the_root(cast, geo, report, client_for):
    client = client_for(cast["member_a"])
    first = make_report(point=east_of(geo["west_point"], 40))
    second = make_report(point=east_of(geo["west_point"], 80))
    merge(client, first, report)
    assert merge(client, second, first).status_code == 302
    second.refresh_from_db()
    assert (second.status, second.duplicate_of) == (Report.Status.DUPLICATE, report)
    page = client.get(f"/committee/reports/{report.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert first.formatted_code() in page and second.formatted_code() in page


def test_merging_refuses_a_root_the_member_cannot_see(cast, geo, report, client_for):
    # An administrator merged a west report into an east one; a west member cannot follow it there.
    east = make_report(point=geo["east_point"])
    merge(client_for(cast["admin"]), report, east)
    copy = make_report(point=east_of(geo["west_point"], 40))
    client = client_for(cast["member_a"])
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    response = merge(client, copy, report)
    assert response.status_code == 400
    assert "There is no such report among the reports you can see." in response.content.decode()
    copy.refresh_from_db()
    assert (copy.status, copy.duplicate_of) == (Report.Status.NEW, None)
