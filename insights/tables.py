"""Released tables: the counts institutions and the public may see, made from the rollup.

Every table anyone can ask for is one of a fixed family, identified by a TableSpec: tier, area
level, period, up to two other dimensions, and whether it counts the sensitive categories (sexual
and intimate-partner violence, released apart and never mixed with the rest). A table is always
released whole, over every area and every period; what a user filters (areas of a jurisdiction, a
date range, one value of a dimension) only picks cells out of it, and a filter on a dimension is a
slice of the table that has that dimension. Totals shown beside a table are the cells of its
margin tables, released the same way. So two filtered views never differ by anything that is not
itself a released cell, and no difference of tables isolates a suppressed one.

Tier B (institution analysts): counts 1 to threshold-1 suppressed, plus secondary suppression
audited against the margins (insights.disclosure). Tier A (public): the 10-5 rule (1-9 shown as
"<10", others rounded to the nearest 5; totals are rounded margin cells, never sums of rounded
cells), at least one full month of lag.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from community.models import Area
from reports.models import Category, Report

from . import disclosure
from .rollup import (
    DIMENSIONS,
    MONTH,
    WEEK,
    area_key,
    area_nodes,
    mask_of,
    max_dims,
    month_start,
    rollup_version,
    week_start,
)

TIER_PUBLIC, TIER_INSTITUTION = "A", "B"
GENERAL, SENSITIVE = "general", "sensitive"
PERIODS = ("week", "month", "quarter", "year")
PERIOD_PARENT = {"month": "quarter", "quarter": "year"}
LEVEL_NAMES = {"country": 0, "region": 1, "municipality": 2, "community": 3}
SEX_VALUES = ("female", "male", "other", "")
AGE_VALUES = ("0-14", "15-17", "18-29", "30-59", "60+", "")
CACHE_SECONDS = 24 * 60 * 60


@dataclass(frozen=True)
class TableSpec:
    tier: str
    level: int
    period: str
    dims: tuple[str, ...] = ()
    family: str = GENERAL

    def __str__(self) -> str:
        return f"{self.tier}:{self.family}:{self.level}:{self.period}:{','.join(self.dims) or '-'}"

    @property
    def kind(self) -> str:
        return WEEK if self.period == "week" else MONTH

    def parents(self) -> list["TableSpec"]:
        """The margin tables: one step coarser in area, period, or dimensions."""
        found = []
        if self.level > Area.Level.COUNTRY:
            found.append(TableSpec(self.tier, self.level - 1, self.period, self.dims, self.family))
        if self.period in PERIOD_PARENT:
            found.append(TableSpec(self.tier, self.level, PERIOD_PARENT[self.period], self.dims, self.family))
        for name in self.dims:
            rest = tuple(dim for dim in self.dims if dim != name)
            if name == "category":
                rest = canonical_dims((*rest, "group"))
            found.append(TableSpec(self.tier, self.level, self.period, rest, self.family))
        return found


def canonical_dims(dims) -> tuple[str, ...]:
    return tuple(name for name in DIMENSIONS if name in set(dims))


def spec_problem(spec: TableSpec) -> Promise | None:
    """Why this table may not be released, None when it may. Lazy: a refusal is cached with its
    table and read in each reader's own language."""
    if spec.period not in PERIODS or spec.level not in LEVEL_NAMES.values():
        return _("Unknown area level or period.")
    if len(set(spec.dims)) != len(spec.dims) or any(name not in DIMENSIONS for name in spec.dims):
        return _("Unknown dimension.")
    if {"group", "category"} <= set(spec.dims):
        return _("Choose either category or category group, not both.")
    if len(spec.dims) > max_dims(spec.level, spec.kind):
        if spec.kind == WEEK or spec.level >= Area.Level.COMMUNITY:
            return _("By community or by week, a table can have one more dimension at most.")
        return _("A table can have at most two dimensions besides area and period.")
    if spec.tier == TIER_PUBLIC and spec.level > Area.Level.MUNICIPALITY:
        return _("Open data goes down to municipalities, not communities.")
    if spec.tier == TIER_PUBLIC and spec.period == "week":
        return _("Open data is by month, quarter or year.")
    if spec.family == SENSITIVE:
        return _sensitive_problem(spec)
    return None


def _sensitive_problem(spec: TableSpec) -> Promise | None:
    if spec.tier == TIER_PUBLIC and (spec.level > Area.Level.REGION or spec.period not in ("quarter", "year")):
        return _("Sexual and intimate-partner violence is published only by region and quarter.")
    if spec.level > Area.Level.MUNICIPALITY or spec.period == "week":
        return _("Sexual and intimate-partner violence is released no finer than municipality by month.")
    return None


# --- Raw counts ------------------------------------------------------------------------------

_PERIOD_SQL = {
    "week": "period",
    "month": "period",
    "quarter": "date_trunc('quarter', period)::date",
    "year": "date_trunc('year', period)::date",
}
_DIM_SQL = {"group": '"group"', "category": "category", "channel": "channel", "sex": "sex", "age": "age_band"}


def raw_cells(spec: TableSpec) -> dict[tuple, int]:
    """Non-zero counts keyed (area id, period start, *dimension values), in one query."""
    period = _PERIOD_SQL[spec.period]
    dims = "".join(f", {_DIM_SQL[name]}" for name in spec.dims)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT area_id, {period}{dims}, sum(count) FROM insights_rollupcell "  # noqa: S608 - fixed SQL
            f"WHERE dims = %s AND level = %s AND period_kind = %s AND sensitive = %s "
            f"GROUP BY area_id, {period}{dims} HAVING sum(count) > 0",
            [mask_of(spec.dims), spec.level, spec.kind, spec.family == SENSITIVE],
        )
        return {tuple(row[:-1]): int(row[-1]) for row in cursor.fetchall()}


def public_cutoff(today: date | None = None) -> date:
    """Periods ending on or before this day are public: at least one full month after their end."""
    today = today or timezone.localdate()
    return (month_start(today) - timedelta(days=1)).replace(day=1)


def period_end(start: date, period: str) -> date:
    """The first day after the period."""
    if period == "week":
        return start + timedelta(days=7)
    months = {"month": 1, "quarter": 3, "year": 12}[period]
    month = start.month - 1 + months
    return date(start.year + month // 12, month % 12 + 1, 1)


# --- Release ---------------------------------------------------------------------------------


@dataclass
class Released:
    """One released table: each non-zero cell's value, or None when suppressed (tier B) or shown as
    "<10" (tier A). Cells absent from `values` are zero."""

    spec: TableSpec
    values: dict[tuple, int | None] = field(default_factory=dict)
    refused: Promise | None = None  # lazy, translated when read
    primary: int = 0
    secondary: int = 0

    def value(self, key: tuple) -> int | None:
        return self.values.get(key, 0)


def threshold() -> int:
    return settings.INSIGHTS_SUPPRESSION_THRESHOLD


def public_value(raw: int) -> int | None:
    """The 10-5 rule: 1 to 9 become "<10" (None); the rest go to the nearest multiple of 5."""
    if raw == 0:
        return 0
    if raw < 10:
        return None
    return 5 * ((raw + 2) // 5)


def release(spec: TableSpec, *, _memo: dict | None = None) -> Released:
    """The released table for a spec, computed once per rollup version (margins first).

    Served from the newest version that releases_refresh has fully released, when this spec was
    among its tables; otherwise computed at the current version. Either way every table of one
    request comes from one version, so its tables and margins agree with each other.
    """
    memo = _memo if _memo is not None else {}
    if "version" not in memo:
        memo["version"] = rollup_version()
        released = cache.get(_released_key())
        if released and released["version"] < memo["version"] and spec in released["specs"]:
            memo["version"], memo["stale"] = released["version"], True
    return _release(spec, memo["version"], memo)


class ReleaseGone(LookupError):
    """A table of an earlier release left the cache: that version cannot be computed any more."""


def _released_key() -> str:
    return f"insights:released:{connection.settings_dict['NAME']}"


def releases_refresh(specs: list[TableSpec], *, progress=None) -> int:
    """Release these tables (and all above them) at the current version, then serve them from it.

    Run in the background after counts change, so that people asking for these tables never wait
    for an audit: until it finishes they get the previous release, whole."""
    version = rollup_version()
    memo: dict = {"version": version}
    for spec in specs:
        _release(spec, version, memo)
        if progress is not None:
            progress(spec)
    released = [spec for spec in memo if isinstance(spec, TableSpec)]
    cache.set(_released_key(), {"version": version, "specs": frozenset(released)}, CACHE_SECONDS)
    return version


def _release(spec: TableSpec, version: int, memo: dict) -> Released:
    if spec in memo:
        return memo[spec]
    # Named by database too: two deployments (or a benchmark) may share one Redis.
    database = connection.settings_dict["NAME"]
    cache_key = f"insights:release:{database}:{version}:{settings.INSIGHTS_SUPPRESSION_THRESHOLD}:{spec}"
    found = cache.get(cache_key)
    if found is None and memo.get("stale"):
        raise ReleaseGone(str(spec))  # the rollup has moved on: start again at its version
    if found is None:
        found = _compute(spec, version, memo)
        cache.set(cache_key, found, CACHE_SECONDS)
    memo[spec] = found
    return found


def _compute(spec: TableSpec, version: int, memo: dict) -> Released:
    problem = spec_problem(spec)
    if problem:
        return Released(spec=spec, refused=problem)
    cells = _raw(spec, memo)
    if spec.tier == TIER_PUBLIC:
        cutoff = public_cutoff()
        cells = {key: value for key, value in cells.items() if period_end(key[1], spec.period) <= cutoff}
        return Released(spec=spec, values={key: public_value(value) for key, value in cells.items()})
    closure = _ancestors(spec)
    for ancestor in sorted(closure, key=_coarseness, reverse=True):
        _release(ancestor, version, memo)  # coarsest first, so that each finds its margins released
    tables = {str(spec): disclosure.Table(str(spec), cells)}
    for ancestor in closure:
        released = memo[ancestor]
        raw = _raw(ancestor, memo)
        published = {key: None for key in raw} if released.refused else released.values
        tables[str(ancestor)] = disclosure.Table(str(ancestor), raw, published, protected=not released.refused)
    relations = [
        disclosure.Relation(str(child), str(parent), _mapping(child, parent, memo))
        for child in (spec, *closure)
        for parent in child.parents()
    ]
    audit = disclosure.protect_tables(open_name=str(spec), tables=tables, relations=relations, threshold=threshold())
    if audit.refused:
        return Released(
            spec=spec,
            refused=_("This table cannot be released safely: choose coarser areas, periods or fewer dimensions."),
        )
    values = {key: (None if key in audit.suppressed else value) for key, value in cells.items()}
    return Released(
        spec=spec, values=values, primary=len(audit.suppressed) - len(audit.secondary), secondary=len(audit.secondary)
    )


def _ancestors(spec: TableSpec) -> set[TableSpec]:
    """Every table this one adds up to, directly or through others."""
    found: set[TableSpec] = set()
    frontier = spec.parents()
    while frontier:
        current = frontier.pop()
        if current not in found:
            found.add(current)
            frontier.extend(current.parents())
    return found


def _coarseness(spec: TableSpec) -> tuple:
    return (-spec.level, PERIODS.index(spec.period), -len(spec.dims), str(spec))


def _raw(spec: TableSpec, memo: dict) -> dict[tuple, int]:
    key = ("raw", spec)
    if key not in memo:
        memo[key] = raw_cells(spec)
    return memo[key]


def _mapping(child: TableSpec, parent: TableSpec, memo: dict) -> dict[tuple, tuple]:
    mapper = _parent_mapper(child, parent, memo)
    return {key: mapper(key) for key in _raw(child, memo)}


def _parent_mapper(spec: TableSpec, parent: TableSpec, memo: dict):
    if parent.level != spec.level:
        if "nodes" not in memo:
            memo["nodes"] = area_nodes()
        nodes = memo["nodes"]
        return lambda key: (area_key(nodes, key[0], parent.level), *key[1:])
    if parent.period != spec.period:
        return lambda key: (key[0], _period_of(key[1], parent.period), *key[2:])
    if "groups" not in memo:
        memo["groups"] = dict(Category.objects.values_list("code", "group"))
    groups = memo["groups"]

    def drop(key: tuple) -> tuple:
        values = dict(zip(spec.dims, key[2:], strict=True))
        if "group" in parent.dims and "group" not in spec.dims:
            values["group"] = groups.get(values.get("category"), "")
        return (key[0], key[1], *(values[name] for name in parent.dims))

    return drop


def _period_of(start: date, period: str) -> date:
    if period == "quarter":
        return date(start.year, 3 * ((start.month - 1) // 3) + 1, 1)
    return date(start.year, 1, 1)


# --- Dimension values ------------------------------------------------------------------------


def dimension_values(name: str, family: str) -> list[str]:
    """Every value a dimension can take, in display order ("" is "not stated")."""
    if name == "group":
        groups = set(Category.objects.filter(is_sensitive=family == SENSITIVE).values_list("group", flat=True))
        return [value for value in Category.Group.values if value in groups]
    if name == "category":
        return list(Category.objects.filter(is_sensitive=family == SENSITIVE).values_list("code", flat=True))
    if name == "channel":
        return list(Report.Channel.values)
    if name == "sex":
        return list(SEX_VALUES)
    return list(AGE_VALUES)


def period_starts(first: date, last: date, period: str) -> list[date]:
    starts, current = [], _align(first, period)
    while current <= last:
        starts.append(current)
        current = period_end(current, period)
    return starts


def _align(day: date, period: str) -> date:
    if period == "week":
        return week_start(day)
    if period == "month":
        return month_start(day)
    return _period_of(day, period)
