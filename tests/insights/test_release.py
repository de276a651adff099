"""Released tables made from real reports: suppression at both tiers, secondary suppression from the
margins, blocked differencing, the sensitive-category limits, and the rollup kept in step."""

from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.utils import timezone, translation

from insights.aggregates import PUBLIC, Scope, TableQuery, aggregate_table
from insights.rollup import rollup_rebuild
from insights.tables import TableSpec, public_value, release
from reports.services import report_reject, report_resolve, report_verify

from ..factories import make_report

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    # Refusals are translated; these tests read them in English.
    with translation.override("en"):
        yield


INSTITUTION = Scope(tier="B", area_ids=None)
COMMUNITY, MUNICIPALITY, REGION = 3, 2, 1


def months_ago(count: int) -> datetime:
    """The 15th of the month `count` months before this one, at noon."""
    today = timezone.localdate()
    year, month = today.year, today.month - count
    while month < 1:
        year, month = year - 1, month + 12
    return timezone.make_aware(datetime(year, month, 15, 12))


def validated(geo, cast, count: int, *, side: str = "west", when: datetime, **fields) -> list:
    point = geo[f"{side}_point"]
    return [
        report_verify(report=make_report(point=point, occurred_at=when, **fields), actor=cast["member_a"])
        for _ in range(count)
    ]


def cell(result, area, **dims) -> int | None:
    wanted = tuple(sorted(dims.items()))
    for row in result.rows:
        if row.area.id == area.id and tuple(sorted(row.dims)) == wanted:
            return row.count
    raise AssertionError(f"no row for {area} {dims}")


def margin(result, name: str, area, **dims) -> int | None:
    wanted = tuple(sorted(dims.items()))
    for row in result.margins[name]:
        if row.area.id == area.id and tuple(sorted(row.dims)) == wanted:
            return row.count
    raise AssertionError(f"no {name} margin for {area} {dims}")


def test_it_counts_only_validated_reports_and_follows_status_changes(geo, cast):
    when = months_ago(2)
    reports = validated(geo, cast, 6, when=when)
    make_report(point=geo["west_point"], occurred_at=when)  # new: not counted
    query = TableQuery(level=COMMUNITY, period="month")
    assert cell(aggregate_table(INSTITUTION, query), geo["west"]) == 6
    report_reject(report=reports[0], actor=cast["member_a"], reason="Not in this area.")
    report_resolve(report=reports[1], actor=cast["member_a"])  # still counted
    assert cell(aggregate_table(INSTITUTION, query), geo["west"]) == 5


def test_it_keeps_the_rollup_equal_to_a_rebuild(geo, cast):
    when = months_ago(1)
    reports = validated(geo, cast, 4, when=when, affected_sex="female", channel="sms")
    validated(geo, cast, 3, side="east", when=when, category_code="gunfire")
    report_reject(report=reports[0], actor=cast["member_a"], reason="Duplicate by phone.")

    def snapshot():
        with connection.cursor() as cursor:
            cursor.execute("SELECT * FROM insights_rollupcell WHERE count > 0")
            return sorted(row[1:] for row in cursor.fetchall())

    incremental = snapshot()
    rollup_rebuild()
    assert snapshot() == incremental


def test_it_withholds_small_counts_at_tier_b(geo, cast):
    when = months_ago(2)
    validated(geo, cast, 3, when=when)
    validated(geo, cast, 4, side="east", when=when)
    validated(geo, cast, 9, side="east", when=when, category_code="gunfire")
    validated(geo, cast, 8, when=when, category_code="gunfire")
    result = aggregate_table(INSTITUTION, TableQuery(level=COMMUNITY, period="month", dims=("category",)))
    assert cell(result, geo["west"], category="assault") is None
    assert cell(result, geo["east"], category="assault") is None
    # West's 8 gunfire reports are its whole "arms" group; with La Ceiba's published total (11) they
    # would give its 3 assaults away. The audit sees that two tables up, and withholds the 8 too.
    assert cell(result, geo["west"], category="gunfire") is None
    assert cell(result, geo["west"], category="robbery") == 0
    assert {row.shown for row in result.rows if row.count is None} == {"x"}
    published = [row.count for rows in (result.rows, *result.margins.values()) for row in rows if row.count]
    assert min(published) >= 5


def test_it_withholds_a_second_cell_when_the_margin_would_give_the_first_away(geo, cast):
    when = months_ago(2)
    validated(geo, cast, 3, when=when)
    validated(geo, cast, 12, side="east", when=when)
    result = aggregate_table(INSTITUTION, TableQuery(level=COMMUNITY, period="month"))
    # The municipality's 15 is published: 15 - 12 would give the west's 3 away.
    assert margin(result, "area", geo["municipality"]) == 15
    assert cell(result, geo["west"]) is None
    assert cell(result, geo["east"]) is None
    released = release(TableSpec("B", COMMUNITY, "month"))
    assert released.secondary >= 1


def test_it_blocks_differencing_two_overlapping_filtered_tables(geo, cast):
    """Web reports and all reports in the same municipality and month differ by one SMS report."""
    when = months_ago(2)
    validated(geo, cast, 11, when=when, channel="web")
    validated(geo, cast, 1, when=when, channel="sms")
    everything = aggregate_table(INSTITUTION, TableQuery(level=MUNICIPALITY, period="month"))
    web_only = aggregate_table(
        INSTITUTION, TableQuery(level=MUNICIPALITY, period="month", filters=(("channel", "web"),))
    )
    assert cell(everything, geo["municipality"]) == 12
    # Publishing 11 here would isolate the one SMS report.
    assert cell(web_only, geo["municipality"], channel="web") is None
    # The area filter is a selection of the same released cells: west alone against the whole
    # municipality shows the same numbers, never a new total.
    west_only = aggregate_table(INSTITUTION, TableQuery(level=COMMUNITY, period="month", area_code="TL010101"))
    both = aggregate_table(INSTITUTION, TableQuery(level=COMMUNITY, period="month", area_code="TL0101"))

    def numbers(result) -> set:
        return {
            (row.area, row.period, row.dims, row.count)
            for rows in (result.rows, *result.margins.values())
            for row in rows
        }

    assert cell(west_only, geo["west"]) == cell(both, geo["west"])
    assert numbers(west_only) <= numbers(both)


def test_it_applies_the_ten_five_rule_and_rounds_totals_from_raw_counts(geo, cast):
    when = months_ago(3)
    validated(geo, cast, 12, when=when)
    validated(geo, cast, 12, side="east", when=when)
    validated(geo, cast, 4, side="east", when=when, category_code="gunfire")
    result = aggregate_table(PUBLIC, TableQuery(level=MUNICIPALITY, period="month", dims=("category",)))
    assert cell(result, geo["municipality"], category="assault") == 25  # 24 → 25
    assert cell(result, geo["municipality"], category="gunfire") is None
    assert {row.shown for row in result.rows if row.count is None} == {"<10"}
    # The municipality's total is 28 rounded (30), not 25 + "<10".
    totals = aggregate_table(PUBLIC, TableQuery(level=MUNICIPALITY, period="month"))
    assert cell(totals, geo["municipality"]) == 30
    assert [public_value(n) for n in (0, 1, 9, 10, 12, 13, 17, 18)] == [0, None, None, 10, 10, 15, 15, 20]


def test_it_publishes_nothing_from_the_last_full_month_or_this_one(geo, cast):
    for count in (0, 1, 2):
        validated(geo, cast, 20, when=months_ago(count))
    result = aggregate_table(PUBLIC, TableQuery(level=MUNICIPALITY, period="month"))
    published = {row.period for row in result.rows}
    assert months_ago(2).date().replace(day=1) in published
    assert months_ago(1).date().replace(day=1) not in published
    assert months_ago(0).date().replace(day=1) not in published
    institution = aggregate_table(INSTITUTION, TableQuery(level=MUNICIPALITY, period="month"))
    assert months_ago(0).date().replace(day=1) in {row.period for row in institution.rows}


def test_it_keeps_sensitive_categories_apart_and_coarse(geo, cast):
    when = months_ago(4)
    validated(geo, cast, 8, when=when)
    validated(geo, cast, 6, when=when, category_code="partner_violence")
    general = aggregate_table(INSTITUTION, TableQuery(level=COMMUNITY, period="month"))
    assert cell(general, geo["west"]) == 8  # the six are never mixed into the other tables
    sensitive = aggregate_table(INSTITUTION, TableQuery(level=MUNICIPALITY, period="month", family="sensitive"))
    assert cell(sensitive, geo["municipality"]) == 6
    for query in (
        TableQuery(level=COMMUNITY, period="month", family="sensitive"),
        TableQuery(level=MUNICIPALITY, period="week", family="sensitive"),
    ):
        assert "no finer than municipality by month" in aggregate_table(INSTITUTION, query).refused
    public = aggregate_table(PUBLIC, TableQuery(level=MUNICIPALITY, period="quarter", family="sensitive"))
    assert "only by region and quarter" in public.refused
    assert aggregate_table(PUBLIC, TableQuery(level=REGION, period="quarter", family="sensitive")).refused is None
    # Choosing a sensitive category is choosing the sensitive family.
    filtered = aggregate_table(
        INSTITUTION, TableQuery(level=COMMUNITY, period="month", filters=(("category", "partner_violence"),))
    )
    assert filtered.refused


def test_it_refuses_tables_with_too_many_dimensions(geo, cast):
    too_many = aggregate_table(
        INSTITUTION, TableQuery(level=MUNICIPALITY, period="month", dims=("sex", "age", "channel"))
    )
    assert too_many.refused
    weekly_pair = aggregate_table(INSTITUTION, TableQuery(level=MUNICIPALITY, period="week", dims=("sex", "age")))
    assert "one more dimension" in weekly_pair.refused
    assert aggregate_table(PUBLIC, TableQuery(level=COMMUNITY, period="month")).refused


def test_it_answers_from_the_cache_until_the_counts_change(geo, cast, django_assert_max_num_queries):
    when = months_ago(2)
    validated(geo, cast, 6, when=when)
    query = TableQuery(level=COMMUNITY, period="month", dims=("sex",))
    aggregate_table(INSTITUTION, query)
    with django_assert_max_num_queries(3):
        again = aggregate_table(INSTITUTION, query)
    assert cell(again, geo["west"], sex="") == 6
    validated(geo, cast, 1, when=when)
    assert cell(aggregate_table(INSTITUTION, query), geo["west"], sex="") == 7


def test_it_counts_each_week_by_the_day_it_happened(geo, cast):
    monday = timezone.localdate() - timedelta(days=timezone.localdate().weekday() + 21)
    sunday = timezone.make_aware(datetime.combine(monday + timedelta(days=6), datetime.min.time())) + timedelta(
        hours=23
    )
    validated(geo, cast, 5, when=sunday)
    result = aggregate_table(INSTITUTION, TableQuery(level=COMMUNITY, period="week"))
    weekly = {row.period: row.count for row in result.rows if row.area.id == geo["west"].id}
    assert weekly[monday] == 5


def test_it_starts_an_analysts_table_at_the_first_report_of_its_own_areas(geo, cast):
    validated(geo, cast, 6, side="east", when=months_ago(5))
    validated(geo, cast, 6, when=months_ago(2))
    west_only = Scope(tier="B", area_ids=frozenset({geo["west"].id}))
    result = aggregate_table(west_only, TableQuery(level=COMMUNITY, period="month"))
    assert {row.area.id for row in result.rows} == {geo["west"].id}
    # Nothing says that reports elsewhere began three months earlier.
    assert min(row.period for row in result.rows) == months_ago(2).date().replace(day=1)


def test_it_serves_the_last_background_release_while_counts_move_on(geo, cast):
    from insights.tasks import releases_refresh_task

    when = months_ago(2)
    validated(geo, cast, 6, when=when)
    query = TableQuery(level=COMMUNITY, period="month")
    releases_refresh_task()
    validated(geo, cast, 2, when=when)
    # Community by month is a standard table: served, whole, from the release made before.
    assert cell(aggregate_table(INSTITUTION, query), geo["west"]) == 6
    # A table outside that release is computed at the current counts.
    by_channel = aggregate_table(INSTITUTION, TableQuery(level=COMMUNITY, period="month", dims=("channel",)))
    assert cell(by_channel, geo["west"], channel="web") == 8
    releases_refresh_task()
    assert cell(aggregate_table(INSTITUTION, query), geo["west"]) == 8


def test_it_starts_again_at_the_current_counts_when_a_release_left_the_cache(geo, cast):
    from django.core.cache import cache

    from insights.tasks import releases_refresh_task

    when = months_ago(2)
    validated(geo, cast, 6, when=when)
    releases_refresh_task()
    validated(geo, cast, 1, when=when)
    released = cache.get(f"insights:released:{connection.settings_dict['NAME']}")
    for key in list(cache._cache):  # the tables go, the record of the release stays
        if ":release:" in key:
            cache.delete(key.split(":", 2)[2])
    assert released is not None
    assert cell(aggregate_table(INSTITUTION, TableQuery(level=COMMUNITY, period="month")), geo["west"]) == 7


def test_it_gives_each_reader_a_refusal_in_their_own_language(geo, cast):
    query = TableQuery(level=COMMUNITY, period="month", family="sensitive")
    with translation.override("es"):
        assert "municipio" in aggregate_table(INSTITUTION, query).refused
    # The refusal is cached with the table; the next reader still gets it in theirs.
    assert "municipality" in aggregate_table(INSTITUTION, query).refused
