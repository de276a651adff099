import pytest
from django.utils import timezone

from community.selectors import area_for_point
from reports.models import Category, Report
from reports.services import OutsideServiceArea, report_create

from ..factories import make_report

pytestmark = pytest.mark.django_db


def test_it_resolves_a_point_to_the_most_detailed_area(geo):
    area = area_for_point(geo["east_point"])
    assert area == geo["east"]
    assert area.ancestors() == [geo["municipality"], geo["region"], geo["country"]]


def test_it_stores_the_community_that_contains_the_point(geo):
    report = make_report(point=geo["west_point"])
    report.refresh_from_db()
    assert report.area == geo["west"]
    assert report.location.equals_exact(geo["west_point"], 1e-9)


def test_it_refuses_a_point_outside_every_area(geo):
    with pytest.raises(OutsideServiceArea):
        report_create(
            category=Category.objects.get(code="gunfire"),
            description="Shots",
            occurred_at=timezone.now(),
            location=geo["outside_point"],
            location_source=Report.LocationSource.MAP,
        )
    assert Report.objects.count() == 0


def test_it_keeps_an_area_only_report_in_the_named_area(geo):
    report = report_create(
        category=Category.objects.get(code="unsafe_place"),
        description="No street lights",
        occurred_at=timezone.now(),
        area=geo["municipality"],
        location_source=Report.LocationSource.AREA,
    )
    assert report.location is None
    assert report.area == geo["municipality"]
