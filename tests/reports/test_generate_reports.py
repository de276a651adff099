"""generate_reports: synthetic validated reports inside their areas, clustered, with a weekly and a
yearly rhythm, the same for the same seed, counted by the rollup, and refused on a real deployment."""

import io
from collections import Counter
from datetime import date

import pytest
from django.conf import settings
from django.contrib.gis.geos import MultiPolygon, Polygon
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import Sum
from django.utils import timezone

from community.models import Area
from insights.models import RollupCell
from reports.management.commands import generate_reports
from reports.models import TRACKING_ALPHABET, Report

from ..factories import area, make_report

pytestmark = pytest.mark.django_db

COUNT = 3000
UNTIL = date(2025, 3, 3)  # a fixed window: the same reports whatever day the tests run
WEEKS = 52  # a whole year shows the season; the rollup rebuild's cost grows with the weeks


def generate(**options) -> str:
    out = io.StringIO()
    options = {"count": COUNT, "seed": 11, "until": UNTIL, "weeks": WEEKS, "areas": ["TL"], "stdout": out, **options}
    call_command("generate_reports", **options)
    return out.getvalue()


def rows(sql: str, params=()) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


@pytest.fixture
def demo(settings):
    settings.DEMO_MODE = True


@pytest.fixture
def generated(geo, demo) -> dict:
    generate()
    return geo


def test_it_adds_exactly_that_many_validated_reports_inside_their_areas(generated):
    assert Report.objects.count() == COUNT
    assert set(Report.objects.values_list("status", flat=True)) == set(Report.VALIDATED)
    outside = rows(
        "SELECT count(*) FROM reports_report r JOIN community_area a ON a.id = r.area_id "
        "WHERE r.location IS NULL OR NOT ST_Covers(a.boundary, r.location)"
    )
    assert outside == [(0,)]
    west, east = generated["west"], generated["east"]
    above = [generated["municipality"].id, generated["region"].id, generated["country"].id]
    paths = {(area_id, tuple(path)) for area_id, path in Report.objects.values_list("area_id", "area_path")}
    assert paths == {(west.id, (west.id, *above)), (east.id, (east.id, *above))}


def test_it_writes_plausible_times_and_codes(generated):
    [(first, last, misordered, bad_codes)] = rows(
        "SELECT min(occurred_at), max(occurred_at), "
        "count(*) FILTER (WHERE created_at < occurred_at OR updated_at < created_at), "
        "count(*) FILTER (WHERE tracking_code !~ %s) FROM reports_report",
        [f"^[{TRACKING_ALPHABET}]{{10}}$"],
    )
    # 52 weeks before UNTIL, in local days.
    assert timezone.localdate(first) >= date(2024, 3, 4) and timezone.localdate(last) < UNTIL
    assert misordered == 0 and bad_codes == 0
    assert Report.objects.values("tracking_code").distinct().count() == COUNT


def test_it_mixes_categories_with_rare_sensitive_ones(generated):
    by_category = Counter(Report.objects.values_list("category__code", flat=True))
    sensitive = Report.objects.filter(category__is_sensitive=True).count()
    assert len(by_category) >= 12
    assert max(by_category.values()) < 0.3 * COUNT
    assert 0.01 * COUNT < sensitive < 0.07 * COUNT
    assert Report.objects.filter(channel="sms").exists() and Report.objects.filter(channel="whatsapp").exists()


def test_it_leaves_demographics_blank_often_but_not_always(generated):
    blank_sex = Report.objects.filter(affected_sex="").count()
    blank_age = Report.objects.filter(affected_age_band="").count()
    assert 0.1 * COUNT < blank_sex < 0.6 * COUNT
    assert 0.1 * COUNT < blank_age < 0.6 * COUNT
    assert {"female", "male"} <= set(Report.objects.values_list("affected_sex", flat=True))
    assert len(set(Report.objects.values_list("affected_age_band", flat=True))) == 6
    gender = Report.objects.filter(category__group="gender").exclude(affected_sex="")
    assert gender.filter(affected_sex="female").count() > 0.7 * gender.count()


def _local_counts(part: str) -> dict[int, int]:
    sql = "SELECT date_part(%s, occurred_at AT TIME ZONE %s)::int, count(*) FROM reports_report GROUP BY 1"
    return dict(rows(sql, [part, settings.TIME_ZONE]))


def test_it_follows_the_weekly_and_the_yearly_rhythm(generated):
    weekdays, months = _local_counts("isodow"), _local_counts("month")
    # As designed: Saturday 1.30 against Tuesday 0.86; the season peaks in late December.
    assert weekdays[6] > 1.25 * weekdays[2]
    assert weekdays[5] + weekdays[6] + weekdays[7] > 1.2 * (weekdays[1] + weekdays[2] + weekdays[3])
    assert months[12] + months[1] > 1.25 * (months[6] + months[7])


def test_it_clusters_reports_around_hotspots(generated):
    # A 10 x 10 grid over one community: uniform points would put about 1 % in each cell.
    west = generated["west"]
    x0, y0, x1, y1 = west.boundary.extent
    cells = rows(
        "SELECT floor((ST_X(location) - %s) / %s), floor((ST_Y(location) - %s) / %s), count(*) "
        "FROM reports_report WHERE area_id = %s GROUP BY 1, 2",
        [x0, (x1 - x0) / 10, y0, (y1 - y0) / 10, west.id],
    )
    counts = sorted((count for *_cell, count in cells), reverse=True)
    assert counts[0] > 5 * sum(counts) / 100
    assert sum(counts[:10]) > 0.35 * sum(counts)


def test_it_rebuilds_the_rollup(generated):
    totals = RollupCell.objects.filter(dims=0, period_kind="m").values("level").annotate(total=Sum("count"))
    assert {row["level"]: row["total"] for row in totals} == {0: COUNT, 1: COUNT, 2: COUNT, 3: COUNT}
    sensitive = RollupCell.objects.filter(dims=0, level=0, period_kind="w", sensitive=True).aggregate(Sum("count"))
    assert sensitive["count__sum"] == Report.objects.filter(category__is_sensitive=True).count()


def _fingerprint() -> Counter:
    return Counter(
        rows(
            "SELECT area_id, category_id, occurred_at, occurred_precision, ST_X(location), ST_Y(location), "
            "location_source, channel, status, priority, affected_sex, affected_age_band, language, "
            "incomplete, description, created_at, updated_at FROM reports_report"
        )
    )


def test_it_adds_the_same_reports_again_with_the_same_seed(generated):
    first = _fingerprint()
    generate()
    assert Report.objects.count() == 2 * COUNT
    assert _fingerprint() == Counter({key: 2 * count for key, count in first.items()})
    assert RollupCell.objects.filter(dims=0, level=0, period_kind="m").aggregate(Sum("count"))["count__sum"] == (
        2 * COUNT
    )
    generate(seed=12, count=500)
    assert set(_fingerprint()) - set(first)


def test_it_gives_a_taken_tracking_code_a_new_one(generated, monkeypatch):
    existing = make_report(point=generated["west_point"])
    real = generate_reports.tracking_codes
    asked = []

    def colliding(n: int) -> list[str]:
        codes = real(n)
        if not asked:
            codes[0] = existing.tracking_code
        asked.append(n)
        return codes

    monkeypatch.setattr(generate_reports, "tracking_codes", colliding)
    generate(count=40)
    assert asked == [40, 1]
    assert Report.objects.count() == COUNT + 41
    assert Report.objects.get(tracking_code=existing.tracking_code).pk == existing.pk


def test_it_keeps_points_inside_a_ragged_area(db, demo):
    # A triangle: half of its extent is outside, and the interior grid has cells on both sides.
    country = area("Trilandia", "TRI", Area.Level.COUNTRY, MultiPolygon(Polygon.from_bbox((0, 0, 1, 1)), srid=4326))
    triangle = MultiPolygon(Polygon(((0.1, 0.1), (0.9, 0.1), (0.1, 0.9), (0.1, 0.1))), srid=4326)
    area("Punta", "TRI01", Area.Level.REGION, triangle, country)
    generate(count=2000, areas=["TRI"])
    assert Report.objects.filter(area__code="TRI01").count() == 2000
    assert rows(
        "SELECT count(*) FROM reports_report r JOIN community_area a ON a.id = r.area_id "
        "WHERE NOT ST_Covers(a.boundary, r.location)"
    ) == [(0,)]


def test_it_builds_the_synthetic_country_once(db, demo):
    generate(count=500, areas=[], synthetic_geography=True)
    synthetic = Area.objects.filter(code__startswith="SYN")
    levels = Counter(synthetic.values_list("level", flat=True))
    assert levels == {0: 1, 1: 4, 2: 24, 3: 192}
    uncovered = rows(
        "SELECT count(*) FROM community_area child JOIN community_area parent ON parent.id = child.parent_id "
        "WHERE child.code LIKE 'SYN%%' AND NOT ST_Covers(parent.boundary, child.boundary)"
    )
    assert uncovered == [(0,)]
    country = synthetic.get(level=0)
    communities = synthetic.filter(level=3)
    assert country.population == sum(communities.values_list("population", flat=True)) > 0
    assert Report.objects.filter(area__in=communities).count() == 500
    generate(count=10, areas=[], synthetic_geography=True)
    assert synthetic.count() == 221


def test_it_refuses_to_run_without_demo_mode(geo, settings):
    settings.DEMO_MODE = False
    with pytest.raises(CommandError, match="DEMO_MODE"):
        generate()
    assert Report.objects.count() == 0
    generate(count=20, force=True)
    assert Report.objects.count() == 20


def test_it_names_unknown_areas(geo, demo):
    with pytest.raises(CommandError, match="NOWHERE"):
        generate(areas=["NOWHERE"])
    with pytest.raises(CommandError, match="future"):
        generate(until=date(2999, 1, 1))
    assert Report.objects.count() == 0
