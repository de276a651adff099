import io

import pytest
from django.core.management import CommandError, call_command

from community.models import Area, Committee, Institution, Place
from community.selectors import area_for_point
from reports.models import Report

pytestmark = pytest.mark.django_db


def test_it_builds_a_demo_that_runs_twice_without_duplicates(settings):
    settings.DEMO_MODE = True
    call_command("seed_demo", reports=30, stdout=io.StringIO())
    counts = (Area.objects.count(), Place.objects.count(), Committee.objects.count(), Report.objects.count())
    call_command("seed_demo", reports=30, stdout=io.StringIO())
    assert (Area.objects.count(), Place.objects.count(), Committee.objects.count(), Report.objects.count()) == counts
    assert counts[3] == 30
    assert Area.objects.filter(level=Area.Level.COMMUNITY).count() == 6
    assert Committee.objects.count() == 2 and Institution.objects.count() == 1
    statuses = set(Report.objects.values_list("status", flat=True))
    assert {"new", "verified"} <= statuses
    for place in Place.objects.all():
        assert area_for_point(place.point) == place.area
    for report in Report.objects.exclude(location=None):
        assert area_for_point(report.location) == report.area


def test_it_refuses_to_run_outside_demo_mode(settings):
    settings.DEMO_MODE = False
    with pytest.raises(CommandError):
        call_command("seed_demo")
    assert Area.objects.count() == 0


def test_it_tops_up_a_synthetic_history_once(settings):
    settings.DEMO_MODE = True
    call_command("seed_demo", reports=10, history=200, stdout=io.StringIO())
    call_command("seed_demo", reports=10, history=200, stdout=io.StringIO())
    assert Report.objects.count() == 210
    oldest = Report.objects.order_by("occurred_at").values_list("occurred_at", flat=True).first()
    assert (Report.objects.latest("occurred_at").occurred_at - oldest).days > 300
    assert Report.objects.filter(status__in=Report.VALIDATED).count() >= 200
