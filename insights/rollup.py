"""The pre-aggregated counts every released table is made from.

Each validated report adds one to a fixed set of cuboids: for each geographic level and period kind,
the cells keyed by up to two of the other dimensions. Month cells add up to quarters and years.
Finer geography (community) and finer time (ISO week) are kept with at most one other dimension:
tables finer than that would be almost entirely suppressed, and the cuboids would be as large as
the reports table itself.

Written in the same transaction as the status change (reports.hooks), so counts and statuses
never disagree; `rollup_rebuild` recomputes everything from the reports table in a few statements.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import combinations

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from community.models import Area
from reports.models import Report

from .models import RollupCell, RollupState

# Order matters: it is the canonical order of dimensions in every table.
DIMENSIONS = ("group", "category", "channel", "sex", "age")
DIMENSION_BITS = {name: 1 << index for index, name in enumerate(DIMENSIONS)}
COLUMN = {"group": "group", "category": "category", "channel": "channel", "sex": "sex", "age": "age_band"}
LEVELS = (Area.Level.COUNTRY, Area.Level.REGION, Area.Level.MUNICIPALITY, Area.Level.COMMUNITY)
WEEK, MONTH = RollupCell.PeriodKind.WEEK, RollupCell.PeriodKind.MONTH


def mask_of(dims: Iterable[str]) -> int:
    return sum(DIMENSION_BITS[name] for name in dims)


def _dim_sets(most: int) -> list[tuple[str, ...]]:
    sets = [()]
    for size in range(1, most + 1):
        sets += [combo for combo in combinations(DIMENSIONS, size) if not {"group", "category"} <= set(combo)]
    return sets


def max_dims(level: int, kind: str) -> int:
    """How many dimensions besides geography and time a cuboid at this grain keeps."""
    return 1 if level >= Area.Level.COMMUNITY or kind == WEEK else 2


def cuboids() -> list[tuple[int, str, tuple[str, ...]]]:
    """(level, period kind, dimensions) of every cuboid kept."""
    return [
        (level, kind, dims) for level in LEVELS for kind in (WEEK, MONTH) for dims in _dim_sets(max_dims(level, kind))
    ]


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def month_start(day: date) -> date:
    return day.replace(day=1)


def local_day(moment: datetime) -> date:
    return timezone.localtime(moment).date()


# --- Area keys -------------------------------------------------------------------------------


@dataclass(frozen=True)
class AreaNode:
    id: int
    level: int
    parent_id: int | None


def area_nodes(ids: Iterable[int] | None = None) -> dict[int, AreaNode]:
    """Every area's level and parent, or only those of these areas."""
    areas = Area.objects.all() if ids is None else Area.objects.filter(pk__in=list(ids))
    return {row[0]: AreaNode(*row) for row in areas.values_list("id", "level", "parent_id")}


def area_key(nodes: dict[int, AreaNode], area_id: int, level: int) -> int:
    """The area at `level` containing this one: its ancestor there, or itself when it is coarser."""
    node = nodes[area_id]
    while node.level > level and node.parent_id is not None:
        node = nodes[node.parent_id]
    return node.id


# --- Incremental upkeep ----------------------------------------------------------------------

_COLUMNS = 'dims, level, area_id, period_kind, period, sensitive, "group", category, channel, sex, age_band, count'


def _cells_for(report: Report, nodes: dict[int, AreaNode]) -> list[tuple]:
    category = report.category
    values = {
        "group": category.group,
        "category": category.code,
        "channel": report.channel,
        "sex": report.affected_sex,
        "age": report.affected_age_band,
    }
    day = local_day(report.occurred_at)
    periods = {WEEK: week_start(day), MONTH: month_start(day)}
    rows = []
    for level, kind, dims in cuboids():
        keyed = [values[name] if name in dims else "" for name in DIMENSIONS]
        rows.append(
            (
                mask_of(dims),
                level,
                area_key(nodes, report.area_id, level),
                kind,
                periods[kind],
                category.is_sensitive,
                *keyed,
            )
        )
    return rows


def rollup_apply(*, reports: list[Report], sign: int) -> None:
    """Add (sign=1) or remove (sign=-1) reports from every cuboid; call inside the status change's transaction."""
    if not reports:
        return
    # A report's area path holds every area its keys can be: no need to read the whole tree.
    nodes = area_nodes({area_id for report in reports for area_id in (report.area_id, *report.area_path)})
    rows = [row for report in reports for row in _cells_for(report, nodes)]
    with connection.cursor() as cursor:
        if sign > 0:
            placeholders = ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 1)"] * len(rows))
            cursor.execute(
                f"INSERT INTO insights_rollupcell ({_COLUMNS}) VALUES {placeholders} "  # noqa: S608 - fixed SQL
                "ON CONFLICT ON CONSTRAINT rollup_cell_key DO UPDATE SET count = insights_rollupcell.count + 1",
                [value for row in rows for value in row],
            )
        else:
            placeholders = ", ".join(["(%s, %s, %s, %s, %s::date, %s, %s, %s, %s, %s, %s)"] * len(rows))
            cursor.execute(
                "UPDATE insights_rollupcell cell SET count = cell.count - 1 FROM (VALUES "  # noqa: S608 - fixed SQL
                f"{placeholders}) AS gone(dims, level, area_id, period_kind, period, sensitive, grp, category, "
                "channel, sex, age_band) WHERE cell.dims = gone.dims AND cell.level = gone.level "
                "AND cell.area_id = gone.area_id AND cell.period_kind = gone.period_kind "
                'AND cell.period = gone.period AND cell.sensitive = gone.sensitive AND cell."group" = gone.grp '
                "AND cell.category = gone.category AND cell.channel = gone.channel AND cell.sex = gone.sex "
                "AND cell.age_band = gone.age_band",
                [value for row in rows for value in row],
            )
    _version_bump()


def _version_bump() -> None:
    with connection.cursor() as cursor:
        cursor.execute("UPDATE insights_rollupstate SET version = version + 1 WHERE id = 1")
        if cursor.rowcount == 0:
            RollupState.objects.get_or_create(id=1)
            cursor.execute("UPDATE insights_rollupstate SET version = version + 1 WHERE id = 1")


def rollup_version() -> int:
    state = RollupState.objects.filter(id=1).values_list("version", flat=True).first()
    return state or 0


def report_validation_changed(report: Report, was_counted: bool, is_counted: bool) -> None:
    """The reports app's in-transaction listener: a report entered or left the validated set."""
    if was_counted != is_counted:
        rollup_apply(reports=[report], sign=1 if is_counted else -1)


# --- Rebuild ---------------------------------------------------------------------------------


def _grouping_sets(dims_sets: list[tuple[str, ...]]) -> tuple[str, str, str]:
    expr = {
        "group": 'c."group"',
        "category": "c.code",
        "channel": "r.channel",
        "sex": "r.affected_sex",
        "age": "r.affected_age_band",
    }
    sets = ["(" + ", ".join(expr[name] for name in dims) + ")" for dims in dims_sets]
    keyed = ", ".join(f"CASE WHEN GROUPING({expr[name]}) = 0 THEN {expr[name]} ELSE '' END" for name in DIMENSIONS)
    mask = " + ".join(
        f"(CASE WHEN GROUPING({expr[name]}) = 0 THEN {bit} ELSE 0 END)" for name, bit in DIMENSION_BITS.items()
    )
    return ", ".join(sets), keyed, mask


def rollup_rebuild(*, progress=None) -> int:
    """Recompute every cuboid from the reports table; returns the number of cells written."""
    nodes = area_nodes()
    statuses = [str(status) for status in Report.VALIDATED]
    written = 0
    steps = [(level, kind) for level in LEVELS for kind in (WEEK, MONTH)]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("LOCK TABLE insights_rollupcell IN EXCLUSIVE MODE")
        cursor.execute("DELETE FROM insights_rollupcell")
        for level, kind in steps:
            ids = list(nodes)
            keys = [area_key(nodes, area_id, level) for area_id in ids]
            sets, keyed, mask = _grouping_sets(_dim_sets(max_dims(level, kind)))
            trunc = "week" if kind == WEEK else "month"
            cursor.execute(
                f"""
                    INSERT INTO insights_rollupcell ({_COLUMNS})
                    SELECT {mask}, %s, k.key_id, %s, per.period, c.is_sensitive, {keyed}, count(*)
                    FROM reports_report r
                    JOIN reports_category c ON c.id = r.category_id
                    JOIN unnest(%s::bigint[], %s::bigint[]) AS k(area_id, key_id) ON k.area_id = r.area_id
                    CROSS JOIN LATERAL (SELECT date_trunc('{trunc}', r.occurred_at AT TIME ZONE %s)::date AS period) per
                    WHERE r.status = ANY(%s)
                    GROUP BY k.key_id, per.period, c.is_sensitive, GROUPING SETS ({sets})
                    """,  # noqa: S608 - the interpolated parts are fixed SQL, values are parameters
                [level, kind, ids, keys, settings.TIME_ZONE, statuses],
            )
            written += cursor.rowcount
            if progress is not None:
                progress(level, kind)
        RollupState.objects.get_or_create(id=1)
        cursor.execute("UPDATE insights_rollupstate SET version = version + 1, rebuilt_at = now() WHERE id = 1")
    return written
