"""Synthetic validated reports in bulk, for demos, load tests and the aggregates benchmark.

Reports are clustered around a few hotspots per area, follow a yearly season and a weekly rhythm,
and mix categories, channels and demographics the way a live deployment might. They are written
with COPY into a temporary table and moved into reports_report in the same transaction as the
insights rollup rebuild, so counts and reports never disagree, even if the run is interrupted.

Everything but the tracking codes is drawn from one seeded generator: the same seed, areas, count
and window give the same reports. Tracking codes stay unguessable (drawn from the OS).
"""

import random
import secrets
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
from django.conf import settings
from django.contrib.gis.geos import MultiPolygon, Point, Polygon
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone
from tqdm import tqdm

from community.models import Area
from insights.rollup import LEVELS, rollup_rebuild
from reports.models import TRACKING_ALPHABET, TRACKING_LENGTH, Category, Report

CHUNK = 50_000

# Relative frequency per category code; codes not listed (added locally) weigh DEFAULT_WEIGHT.
# The sensitive ones (partner and sexual violence) come to about 3.5 %.
CATEGORY_WEIGHTS = {
    "armed_person": 6.0,
    "gunfire": 8.0,
    "arms_cache": 1.5,
    "killing": 1.5,
    "assault": 12.0,
    "threats_extortion": 10.0,
    "kidnapping": 0.8,
    "partner_violence": 2.5,
    "sexual_violence": 1.0,
    "harassment": 7.0,
    "robbery": 14.0,
    "burglary_theft": 16.0,
    "drug_dealing": 9.0,
    "unsafe_place": 9.0,
    "other": 3.0,
}
DEFAULT_WEIGHT = 1.0
# Usual triage priority per category; a fifth of reports move one step either way.
CATEGORY_PRIORITY = {"killing": 3, "kidnapping": 3, "gunfire": 2, "armed_person": 2, "sexual_violence": 2}
CHANNELS = {"web": 0.45, "sms": 0.30, "whatsapp": 0.20, "api": 0.05}
LOCATION_SOURCES = {"map": 0.5, "gps": 0.3, "place": 0.2}
LANGUAGES = {"es": 0.82, "en": 0.08, "fr": 0.04, "ht": 0.03, "pt": 0.03}
AGE_BANDS = {"0-14": 0.05, "15-17": 0.08, "18-29": 0.37, "30-59": 0.40, "60+": 0.10}
# Monday first: weekends are busier, midweek quieter.
WEEKDAY_FACTOR = (0.92, 0.86, 0.88, 0.95, 1.12, 1.30, 1.17)
# Local hour of day: night and evening dominate, the small hours and early morning are quiet.
HOUR_WEIGHTS = (3, 2, 2, 1, 1, 1, 2, 3, 4, 4, 4, 4, 5, 5, 5, 5, 6, 7, 8, 9, 10, 10, 8, 5)
# Yearly season peaking around the end-of-year holidays; reporting grows as the platform is adopted.
SEASON_AMPLITUDE = 0.25
SEASON_PEAK_DAY_OF_YEAR = 355
GROWTH_OVER_WINDOW = 0.3
HOTSPOTS = (2, 6)  # per area, at least and less than
BACKGROUND_SHARE = 0.2  # reports anywhere in the area rather than near a hotspot
GRID = 16  # interior cells per side of an area's extent (see AreaSampler._interior)
PROPOSALS = 8  # rejection-sampling rounds before a point falls back to the area's point on surface
DESCRIPTIONS = {
    "arms": ["Hombres armados en la esquina por las noches.", "Se escucharon disparos cerca de la cancha."],
    "lethal": ["Encontraron a una persona sin vida junto al río."],
    "violence": ["Golpearon a un muchacho a la salida del colegio.", "Cobran 'renta' a los negocios de la calle."],
    "gender": ["Gritos y golpes en una casa casi todas las noches."],
    "property": ["Asaltaron a una señora en la parada del bus.", "Entraron a robar a dos casas de la cuadra."],
    "drugs": ["Venta de droga todas las tardes en el parque."],
    "environment": ["La calle no tiene alumbrado y el predio está lleno de monte."],
    "other": ["Situación que preocupa a los vecinos."],
}
COLUMNS = (
    "tracking_code",
    "category_id",
    "description",
    "occurred_at",
    "occurred_precision",
    "location",
    "location_source",
    "area_id",
    "area_path",
    "channel",
    "status",
    "priority",
    "affected_sex",
    "affected_age_band",
    "language",
    "incomplete",
    "created_at",
    "updated_at",
)

SYNTHETIC_CODE = "SYN"
SYNTHETIC_ORIGIN = (-31.0, 3.0)  # open Atlantic: no real area or demo boundary overlaps it
SYNTHETIC_SIDE = 0.05  # a community's square, in degrees (about 5.5 km)


class Command(BaseCommand):
    help = (
        "Create N synthetic validated reports (verified, in action or resolved) over the most detailed "
        "areas under --areas (default: all), then rebuild the insights rollup. Demo and benchmark "
        "databases only: refuses unless DEMO_MODE is on or --force is given. No triage events, photos, "
        "arms answers or reporters are created: the reports carry only what aggregates read."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--count", type=int, required=True, help="How many reports to add.")
        parser.add_argument("--seed", type=int, default=1, help="Same seed, same reports (tracking codes aside).")
        parser.add_argument("--areas", nargs="+", default=[], metavar="CODE", help="Only areas under these codes.")
        parser.add_argument("--weeks", type=int, default=156, help="How far back reports go (default 156).")
        parser.add_argument("--until", type=date.fromisoformat, help="Reports end the day before (default: today).")
        parser.add_argument(
            "--synthetic-geography",
            action="store_true",
            help=f"First create, if absent, a made-up country ({SYNTHETIC_CODE}): 4 regions x 6 municipalities "
            "x 8 communities on a grid of squares.",
        )
        parser.add_argument("--chunk", type=int, default=CHUNK, help=f"Rows per COPY (default {CHUNK}).")
        parser.add_argument("--force", action="store_true", help="Run even without DEMO_MODE.")

    def handle(self, *args, **options) -> None:
        _refuse_unless_allowed(options)
        if options["synthetic_geography"] and synthetic_geography_ensure():
            self.stdout.write(f"Created the synthetic country {SYNTHETIC_CODE}.")
        until = options["until"] or timezone.localdate()
        plan = plan_build(
            areas=_leaf_areas(options["areas"]),
            seed=options["seed"],
            weeks=options["weeks"],
            until=until,
        )
        marks = [time.perf_counter()]
        with transaction.atomic():
            reports_load(plan=plan, count=options["count"], chunk=options["chunk"])
            marks.append(time.perf_counter())
            cells = self._rebuild()
            marks.append(time.perf_counter())
        marks.append(time.perf_counter())
        _analyze()
        # The foreign keys are deferred, checked at commit: that time belongs to the load.
        load = (marks[1] - marks[0]) + (marks[3] - marks[2])
        self._summary(options["count"], len(plan.area_ids), load, marks[2] - marks[1], cells)

    def _rebuild(self) -> int:
        with tqdm(total=len(LEVELS) * 2, desc="rollup", unit="cuboid set", disable=None) as bar:
            return rollup_rebuild(progress=lambda level, kind: bar.update(1))

    def _summary(self, count: int, areas: int, load: float, rebuild: float, cells: int) -> None:
        self.stdout.write(
            self.style.SUCCESS(
                f"Added {count} validated reports over {areas} areas in {load:.1f} s "
                f"({count / max(load, 1e-9):,.0f} reports/s); rollup rebuilt in {rebuild:.1f} s ({cells} cells)."
            )
        )


def _refuse_unless_allowed(options: dict) -> None:
    # Fake reports would corrupt a real deployment's statistics beyond repair.
    if not (settings.DEMO_MODE or options["force"]):
        raise CommandError(
            "generate_reports adds fake reports: it runs only with DEMO_MODE=1, or with --force on a "
            "database you are sure is not a real deployment."
        )
    if options["count"] < 0 or options["weeks"] < 1 or options["chunk"] < 1:
        raise CommandError("--count must be 0 or more, --weeks and --chunk at least 1.")
    if options["until"] and options["until"] > timezone.localdate():
        raise CommandError("--until cannot be in the future: reports would be dated after today.")


def _analyze() -> None:
    # Without fresh statistics the planner believes the table as small as before the load.
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE reports_report")


# --- Areas -----------------------------------------------------------------------------------


def _leaf_areas(codes: list[str]) -> list[tuple[Area, list[int]]]:
    """The areas without children under the given codes (all when none), each with its area path."""
    nodes = {row[0]: row for row in Area.objects.values_list("id", "parent_id", "code")}
    children: dict[int, list[int]] = {}
    for area_id, parent_id, _code in nodes.values():
        children.setdefault(parent_id, []).append(area_id)
    by_code = {code: area_id for area_id, _parent, code in nodes.values()}
    unknown = sorted(set(codes) - set(by_code))
    if unknown:
        raise CommandError(f"Unknown area codes: {', '.join(unknown)}.")
    stack = [by_code[code] for code in codes] if codes else list(children.get(None, []))
    leaves = set()
    while stack:
        area_id = stack.pop()
        stack += children.get(area_id, [])
        if area_id not in children:
            leaves.add(area_id)
    if not leaves:
        raise CommandError("No areas to put reports in: import boundaries or pass --synthetic-geography.")
    areas = Area.objects.filter(id__in=leaves).only("id", "code", "boundary", "population").order_by("code")
    return [(area, _path(nodes, area.id)) for area in areas]


def _path(nodes: dict[int, tuple], area_id: int) -> list[int]:
    path = [area_id]
    while nodes[path[-1]][1] is not None:
        path.append(nodes[path[-1]][1])
    return path


def _rectangle(x0: float, y0: float, x1: float, y1: float) -> MultiPolygon:
    return MultiPolygon(Polygon(((x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0))), srid=4326)


@transaction.atomic
def synthetic_geography_ensure() -> bool:
    """Create the made-up country when it is absent; True when it was created.

    Its layout and populations are fixed (not seeded by --seed) so every database gets the same one.
    """
    if Area.objects.filter(code=SYNTHETIC_CODE).exists():
        return False
    rng = random.Random(SYNTHETIC_CODE)
    country = _synthetic_area(SYNTHETIC_CODE, "Synthetic Country", 0, (0, 0, 16, 12), None)
    for r in range(4):
        rx, ry = (r % 2) * 8, (r // 2) * 6
        code, name = f"{SYNTHETIC_CODE}{r + 1:02d}", f"Synthetic Region {r + 1}"
        region = _synthetic_area(code, name, 1, (rx, ry, 8, 6), country)
        for m in range(6):
            mx, my = rx + (m % 2) * 4, ry + (m // 2) * 2
            code, name = f"{region.code}{m + 1:02d}", f"Municipality {r + 1}.{m + 1}"
            municipality = _synthetic_area(code, name, 2, (mx, my, 4, 2), region)
            for c in range(8):
                population = int(rng.lognormvariate(8.3, 0.6))
                code, name = f"{municipality.code}{c + 1:02d}", f"Community {r + 1}.{m + 1}.{c + 1}"
                _synthetic_area(code, name, 3, (mx + c % 4, my + c // 4, 1, 1), municipality, population)
    for level in (Area.Level.MUNICIPALITY, Area.Level.REGION, Area.Level.COUNTRY):
        for area in Area.objects.filter(code__startswith=SYNTHETIC_CODE, level=level):
            area.population = sum(area.children.values_list("population", flat=True))
            area.save(update_fields=["population"])
    return True


def _synthetic_area(code: str, name: str, level: int, box: tuple, parent: Area | None, population=None) -> Area:
    """An area of `width` x `height` community squares from square (column, row) of the grid.

    Corners come from whole grid positions, so neighbours share edges exactly and each area's
    boundary is exactly the union of its children's.
    """
    column, row, width, height = box
    x0, y0 = SYNTHETIC_ORIGIN

    def corner(i: int, j: int) -> tuple[float, float]:
        return x0 + i * SYNTHETIC_SIDE, y0 + j * SYNTHETIC_SIDE

    boundary = _rectangle(*corner(column, row), *corner(column + width, row + height))
    return Area.objects.create(
        code=code,
        name=name,
        level=level,
        parent=parent,
        boundary=boundary,
        boundary_display=boundary,
        population=population,
    )


# --- The plan: everything drawn once per run ----------------------------------------------------


@dataclass
class AreaSampler:
    """Where one area's reports fall: near its hotspots, some anywhere inside it."""

    prepared: object
    extent: tuple[float, float, float, float]
    centres: np.ndarray  # (k, 2)
    spreads: np.ndarray  # (k,) standard deviation, degrees
    shares: np.ndarray  # (k + 1,) hotspots then background
    fallback: tuple[float, float]
    interior: np.ndarray | None = None  # (GRID, GRID): cells of the extent wholly inside the area
    asked: int = 0  # points GEOS was asked about so far

    def inside(self, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
        x0, y0, x1, y1 = self.extent
        # The extent test is free; GEOS is asked only about points that pass it.
        candidates = (xs > x0) & (xs < x1) & (ys > y0) & (ys < y1)
        result = np.zeros(len(xs), dtype=bool)
        if self.interior is None and self.asked > GRID * GRID:
            self.interior = self._interior()
        if self.interior is not None:
            column = np.clip(((xs - x0) / (x1 - x0) * GRID).astype(int), 0, GRID - 1)
            row = np.clip(((ys - y0) / (y1 - y0) * GRID).astype(int), 0, GRID - 1)
            result = candidates & self.interior[row, column]
            candidates &= ~result
        self.asked += int(candidates.sum())
        for index in np.flatnonzero(candidates):
            result[index] = self.prepared.contains(Point(xs[index], ys[index]))
        return result

    def _interior(self) -> np.ndarray:
        """Which grid cells the area contains: a point in one needs no GEOS call (a call costs ~17 µs,
        so the grid is drawn only for an area that has already asked about many points).

        Quadrant by quadrant, so only cells the boundary runs through cost calls. A cell may touch
        the boundary from inside; a point exactly on that line is still covered by the area.
        """
        cells = np.zeros((GRID, GRID), dtype=bool)
        self._fill(cells, 0, 0, GRID)
        return cells

    def _fill(self, cells: np.ndarray, row: int, column: int, size: int) -> None:
        x0, y0, x1, y1 = self.extent
        width, height = (x1 - x0) / GRID, (y1 - y0) / GRID
        left, bottom = x0 + column * width, y0 + row * height
        box = Polygon.from_bbox((left, bottom, left + size * width, bottom + size * height))
        if self.prepared.contains(box):
            cells[row : row + size, column : column + size] = True
        elif size > 1 and self.prepared.intersects(box):
            half = size // 2
            for r, c in ((row, column), (row, column + half), (row + half, column), (row + half, column + half)):
                self._fill(cells, r, c, half)

    def propose(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        x0, y0, x1, y1 = self.extent
        which = rng.choice(len(self.shares), size=n, p=self.shares)
        near = which < len(self.centres)
        xs, ys = rng.uniform(x0, x1, n), rng.uniform(y0, y1, n)
        spread = self.spreads[which[near]]
        xs[near] = self.centres[which[near], 0] + rng.normal(0, 1, near.sum()) * spread
        ys[near] = self.centres[which[near], 1] + rng.normal(0, 1, near.sum()) * spread
        return xs, ys

    def points(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        xs, ys, todo = np.empty(n), np.empty(n), np.arange(n)
        for _ in range(PROPOSALS):
            if not todo.size:
                break
            px, py = self.propose(todo.size, rng)
            ok = self.inside(px, py)
            xs[todo[ok]], ys[todo[ok]] = px[ok], py[ok]
            todo = todo[~ok]
        # Thin or ragged areas (a river bank, a strip of coast) may keep refusing: use a point they hold.
        xs[todo], ys[todo] = self.fallback
        return xs, ys


def _area_sampler(area: Area, rng: np.random.Generator) -> AreaSampler:
    boundary = area.boundary
    surface = boundary.point_on_surface
    x0, y0, x1, y1 = boundary.extent
    size = ((x1 - x0) * (y1 - y0)) ** 0.5
    k = int(rng.integers(*HOTSPOTS))
    shares = np.append(rng.dirichlet(np.ones(k)) * (1 - BACKGROUND_SHARE), BACKGROUND_SHARE)
    sampler = AreaSampler(
        prepared=boundary.prepared,
        extent=(x0, y0, x1, y1),
        centres=np.zeros((0, 2)),
        spreads=np.zeros(0),
        shares=np.array([1.0]),
        fallback=(surface.x, surface.y),
    )
    # Hotspot centres: uniform points inside the area (the sampler is all background for now).
    sampler.centres = np.column_stack(sampler.points(k, rng))
    sampler.spreads = size * rng.uniform(0.03, 0.12, k)
    sampler.shares = shares
    return sampler


@dataclass
class Plan:
    area_ids: np.ndarray
    area_paths: list[str]
    area_shares: np.ndarray
    samplers: list[AreaSampler]
    category_ids: np.ndarray
    category_cumulative: np.ndarray  # (areas, categories): each area's own mix
    category_gender: np.ndarray  # bool per category: affected people mostly women
    category_place: np.ndarray  # bool per category: usually no affected person
    category_priority: np.ndarray
    descriptions: list[list[str]]
    midnights: np.ndarray  # epoch seconds of each local midnight, one more than days
    day_shares: np.ndarray
    rng: np.random.Generator


def plan_build(*, areas: list[tuple[Area, list[int]]], seed: int, weeks: int, until: date) -> Plan:
    rng = np.random.default_rng(seed)
    categories = list(Category.objects.filter(is_active=True).order_by("code"))
    if not categories:
        raise CommandError("No active categories: run the migrations first.")
    known = [area.population for area, _path in areas if area.population]
    usual = float(np.median(known)) if known else 1000.0
    # Some areas report far more per head than others: a lognormal "risk" on top of population.
    weights = np.array([area.population or usual for area, _path in areas]) * rng.lognormal(0, 0.5, len(areas))
    base = np.array([CATEGORY_WEIGHTS.get(c.code, DEFAULT_WEIGHT) for c in categories])
    mix = base * rng.lognormal(0, 0.4, (len(areas), len(categories)))
    midnights, day_shares = _days(weeks, until)
    return Plan(
        area_ids=np.array([area.id for area, _path in areas]),
        area_paths=["{" + ",".join(map(str, path)) + "}" for _area, path in areas],
        area_shares=weights / weights.sum(),
        samplers=[_area_sampler(area, rng) for area, _path in areas],
        category_ids=np.array([c.id for c in categories]),
        category_cumulative=np.cumsum(mix / mix.sum(axis=1, keepdims=True), axis=1),
        category_gender=np.array([c.group == Category.Group.GENDER for c in categories]),
        category_place=np.array([c.group == Category.Group.ENVIRONMENT for c in categories]),
        category_priority=np.array([CATEGORY_PRIORITY.get(c.code, 1) for c in categories]),
        descriptions=[DESCRIPTIONS.get(c.group, DESCRIPTIONS["other"]) for c in categories],
        midnights=midnights,
        day_shares=day_shares,
        rng=rng,
    )


def _days(weeks: int, until: date) -> tuple[np.ndarray, np.ndarray]:
    """Local midnights of the window's days (and the end), and each day's share of the reports."""
    zone = ZoneInfo(settings.TIME_ZONE)
    first = until - timedelta(days=weeks * 7)
    days = [first + timedelta(days=offset) for offset in range(weeks * 7 + 1)]
    # Midnight by midnight, so a daylight-saving change moves no report to another local day.
    midnights = np.array([datetime(d.year, d.month, d.day, tzinfo=zone).timestamp() for d in days])
    offsets = np.arange(weeks * 7)
    day_of_year = np.array([d.timetuple().tm_yday for d in days[:-1]])
    season = 1 + SEASON_AMPLITUDE * np.cos(2 * np.pi * (day_of_year - SEASON_PEAK_DAY_OF_YEAR) / 365.25)
    growth = 1 + GROWTH_OVER_WINDOW * offsets / len(offsets)
    weekday = np.array([WEEKDAY_FACTOR[d.weekday()] for d in days[:-1]])
    shares = season * growth * weekday
    return midnights, shares / shares.sum()


# --- One chunk of reports --------------------------------------------------------------------


def _pick(rng: np.random.Generator, table: dict[str, float], n: int) -> np.ndarray:
    names = np.array(list(table), dtype=object)
    return names[rng.choice(len(names), size=n, p=np.array(list(table.values())) / sum(table.values()))]


def _points(plan: Plan, area_index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    xs, ys = np.empty(len(area_index)), np.empty(len(area_index))
    order = np.argsort(area_index, kind="stable")
    present, starts = np.unique(area_index[order], return_index=True)
    for a, start, end in zip(present, starts, [*starts[1:], len(order)], strict=True):
        rows = order[start:end]
        xs[rows], ys[rows] = plan.samplers[a].points(len(rows), plan.rng)
    return xs, ys


def _ewkb_hex(xs: np.ndarray, ys: np.ndarray) -> list[str]:
    """Little-endian EWKB points with SRID 4326, hex-encoded as COPY's text format takes them."""
    record = np.dtype([("order", "u1"), ("type", "<u4"), ("srid", "<u4"), ("x", "<f8"), ("y", "<f8")])
    points = np.empty(len(xs), dtype=record)
    points["order"], points["type"], points["srid"] = 1, 0x20000001, 4326
    points["x"], points["y"] = xs, ys
    text = points.tobytes().hex()
    width = record.itemsize * 2
    return [text[i : i + width] for i in range(0, len(text), width)]


def _timestamps(epochs: np.ndarray) -> list[str]:
    stamps = np.datetime_as_string(epochs.astype(np.int64).astype("datetime64[s]"), unit="s").tolist()
    return [stamp + "+00" for stamp in stamps]


def _occurred(plan: Plan, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Epoch seconds of each occurrence, and whether the resident gave a time (else: local noon)."""
    rng = plan.rng
    day = rng.choice(len(plan.day_shares), size=n, p=plan.day_shares)
    hours = np.array(HOUR_WEIGHTS, dtype=float)
    seconds = rng.choice(24, size=n, p=hours / hours.sum()) * 3600 + rng.integers(0, 3600, n)
    timed = rng.random(n) < 0.65
    seconds = np.where(timed, seconds, 12 * 3600)
    length = plan.midnights[day + 1] - plan.midnights[day]
    return plan.midnights[day] + np.minimum(seconds, length - 1), timed


def _statuses(plan: Plan, occurred: np.ndarray) -> np.ndarray:
    # Older reports have had time to be acted on and resolved.
    age = (plan.midnights[-1] - occurred) / (365 * 86400)
    resolved = 0.15 + 0.35 * np.minimum(age, 1.0)
    u = plan.rng.random(len(occurred))
    return np.where(u < resolved, "resolved", np.where(u < resolved + 0.25, "in_action", "verified")).astype(object)


def _demographics(plan: Plan, category: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The affected person's sex and age band: often not given, mostly women for gender violence."""
    rng, n = plan.rng, len(category)
    nobody = rng.random(n) < np.where(plan.category_place[category], 0.8, 0.25)
    female = np.where(plan.category_gender[category], 0.88, 0.42)
    u = rng.random(n)
    sex = np.where(u < female, "female", np.where(u < 0.99, "male", "other")).astype(object)
    sex[nobody | (rng.random(n) < 0.08)] = ""
    age = _pick(rng, AGE_BANDS, n)
    age[nobody | (rng.random(n) < 0.12)] = ""
    return sex, age


def _priorities(plan: Plan, category: np.ndarray) -> np.ndarray:
    rng, n = plan.rng, len(category)
    step = np.where(rng.random(n) < 0.2, rng.choice((-1, 1), n), 0)
    return np.clip(plan.category_priority[category] + step, 0, 3)


def _received(plan: Plan, occurred: np.ndarray, status: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """When each report arrived (hours after) and was last triaged (days after, longer when resolved)."""
    rng, end = plan.rng, plan.midnights[-1] - 1
    created = np.minimum(occurred + rng.exponential(8 * 3600, len(occurred)), end)
    steps = np.where(status == "resolved", 3, np.where(status == "in_action", 2, 1))
    updated = np.minimum(created + rng.exponential(2 * 86400, len(occurred)) * steps, end)
    return created, updated


def chunk_rows(plan: Plan, n: int) -> list[tuple]:
    """n reports as COPY rows, in COLUMNS order, tracking codes included."""
    rng = plan.rng
    area = rng.choice(len(plan.area_ids), size=n, p=plan.area_shares)
    category = (rng.random(n)[:, None] > plan.category_cumulative[area]).sum(axis=1)
    category = np.minimum(category, len(plan.category_ids) - 1)
    xs, ys = _points(plan, area)
    occurred, timed = _occurred(plan, n)
    status = _statuses(plan, occurred)
    sex, age = _demographics(plan, category)
    created, updated = _received(plan, occurred, status)
    channel = _pick(rng, CHANNELS, n)
    # A guided SMS conversation that went quiet still becomes a report, without its description.
    incomplete = (channel == "sms") & (rng.random(n) < 0.03)
    pick = rng.integers(0, 1 << 30, n)
    descriptions = [
        "" if gap else plan.descriptions[c][p % len(plan.descriptions[c])]
        for c, p, gap in zip(category.tolist(), pick.tolist(), incomplete.tolist(), strict=True)
    ]
    columns = (
        tracking_codes(n),
        plan.category_ids[category].tolist(),
        descriptions,
        _timestamps(occurred),
        np.where(timed, Report.Precision.TIME, Report.Precision.DAY).tolist(),
        _ewkb_hex(xs, ys),
        _pick(rng, LOCATION_SOURCES, n).tolist(),
        plan.area_ids[area].tolist(),
        [plan.area_paths[a] for a in area.tolist()],
        channel.tolist(),
        status.tolist(),
        _priorities(plan, category).tolist(),
        sex.tolist(),
        age.tolist(),
        _pick(rng, LANGUAGES, n).tolist(),
        incomplete.tolist(),
        _timestamps(created),
        _timestamps(updated),
    )
    return list(zip(*columns, strict=True))


def tracking_codes(n: int) -> list[str]:
    """n distinct random codes from the OS's generator, as reports.services makes them one at a time."""
    alphabet = np.array(list(TRACKING_ALPHABET))
    codes: set[str] = set()
    while len(codes) < n:
        missing = n - len(codes)
        raw = np.frombuffer(secrets.token_bytes(missing * TRACKING_LENGTH * 2), dtype=np.uint8)
        # Bytes past the largest multiple of the alphabet's size would favour its first letters.
        raw = raw[raw < 256 - 256 % len(alphabet)][: missing * TRACKING_LENGTH]
        letters = alphabet[raw % len(alphabet)]
        usable = len(letters) // TRACKING_LENGTH * TRACKING_LENGTH
        codes.update(np.ascontiguousarray(letters[:usable]).view(f"<U{TRACKING_LENGTH}").tolist())
    return list(codes)[:n]


# --- Loading ---------------------------------------------------------------------------------

_COLUMN_LIST = ", ".join(COLUMNS)


def reports_load(*, plan: Plan, count: int, chunk: int) -> None:
    """COPY the reports chunk by chunk into a temporary table, then into reports_report.

    Call inside a transaction, so that a failed load leaves neither reports nor the temporary table.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMPORARY TABLE generated_report AS "  # noqa: S608 - fixed column list
            f"SELECT {_COLUMN_LIST} FROM reports_report WITH NO DATA"
        )
        with tqdm(total=count, desc="reports", unit="report", unit_scale=True, disable=None) as bar:
            for start in range(0, count, chunk):
                rows = chunk_rows(plan, min(chunk, count - start))
                _copy(cursor, rows)
                _move(cursor, len(rows))
                bar.update(len(rows))
        cursor.execute("DROP TABLE generated_report")


def _copy(cursor, rows: list[tuple]) -> None:
    with cursor.copy(f"COPY generated_report ({_COLUMN_LIST}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _move(cursor, expected: int) -> None:
    """Insert the staged rows; any whose tracking code is already taken gets a new one and goes again.

    ON CONFLICT instead of a check first: a resident's report may take a code between check and insert.
    """
    while True:
        cursor.execute(
            f"WITH moved AS (INSERT INTO reports_report ({_COLUMN_LIST}) "  # noqa: S608 - fixed column list
            f"SELECT {_COLUMN_LIST} FROM generated_report ON CONFLICT (tracking_code) DO NOTHING "
            "RETURNING tracking_code) "
            "DELETE FROM generated_report staged USING moved WHERE staged.tracking_code = moved.tracking_code"
        )
        expected -= cursor.rowcount
        if expected == 0:
            break
        cursor.execute("SELECT ctid FROM generated_report")
        taken = [row[0] for row in cursor.fetchall()]
        cursor.execute(
            "UPDATE generated_report staged SET tracking_code = fresh.code "
            "FROM unnest(%s::tid[], %s::text[]) AS fresh(row_id, code) WHERE staged.ctid = fresh.row_id",
            [taken, tracking_codes(len(taken))],
        )
    cursor.execute("TRUNCATE generated_report")
