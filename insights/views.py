"""The institution dashboard (tier B) and the open-data page (tier A).

Thin over insights.aggregates: every number shown is a cell of a released table or of one of its
margins, never a sum made here (adding up shown cells could undo suppression), and each page runs
a fixed number of queries whatever the number of reports.
"""

import json
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from community.models import Area
from reports.models import Category, Report

from .aggregates import (
    DIMENSION_CHOICES,
    LEVEL_CHOICES,
    PERIOD_CHOICES,
    PUBLIC,
    Row,
    Scope,
    TableQuery,
    TableQueryForm,
    TableResult,
    aggregate_table,
    institution_scope_for_user,
    table_query_from,
)
from .tables import GENERAL, SENSITIVE, period_end, public_cutoff

INSTITUTION_DEFAULTS = {"level": "municipality", "period": "month", "family": GENERAL}
PUBLIC_DEFAULTS = {"level": "region", "period": "month", "family": GENERAL}
# Open data goes no finer than municipalities and months (insights.tables refuses the rest too).
PUBLIC_LEVELS = ("country", "region", "municipality")
PUBLIC_PERIODS = ("month", "quarter", "year")
DATE_INPUT = forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"})
# A page stays readable (and light on 2G) with this many cells; older periods go to the downloads.
MAX_TABLE_CELLS = 2400


# --- The query form --------------------------------------------------------------------------


class DimensionsWidget(forms.CheckboxSelectMultiple):
    """Checkboxes for the comma-separated `dims` parameter: several ticked boxes arrive as
    dims=a&dims=b, and the views redirect that to dims=a,b so every link shares one query string."""

    def value_from_datadict(self, data, files, name):
        values = data.getlist(name) if hasattr(data, "getlist") else [data.get(name) or ""]
        return ",".join(value for value in values if value)

    def format_value(self, value):
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return [str(part) for part in value or ()]


def _canonical_redirect(request: HttpRequest) -> HttpResponse | None:
    values = request.GET.getlist("dims")
    if len(values) < 2:
        return None
    query = request.GET.copy()
    query.setlist("dims", [",".join(value for value in values if value)])
    return redirect(f"{request.path}?{query.urlencode()}")


def _form_data(request: HttpRequest, defaults: dict) -> QueryDict:
    """The query string with the defaults filled in, so the form shows what the table shows."""
    data = request.GET.copy()
    for name, value in defaults.items():
        if not data.get(name):
            data[name] = value
    return data


def _choice(label, choices) -> forms.ChoiceField:
    return forms.ChoiceField(label=label, required=False, choices=[("", _("Any"))] + list(choices))


def _dress_form(form: TableQueryForm, *, areas: list[tuple[str, str]], labels: "Labels") -> TableQueryForm:
    """Widgets a person can use without JavaScript: checkboxes, lists of known values, date pickers."""
    fields = form.fields
    fields["dims"].widget = DimensionsWidget(choices=DIMENSION_CHOICES)
    fields["area"] = forms.ChoiceField(label=_("Within area"), required=False, choices=[("", _("All areas"))] + areas)
    fields["start"].widget = DATE_INPUT
    fields["end"].widget = DATE_INPUT
    not_stated = [("none", _("Not stated"))]
    fields["group_is"] = _choice(fields["group_is"].label, labels.values["group"].items())
    fields["category_is"] = _choice(fields["category_is"].label, labels.values["category"].items())
    fields["channel_is"] = _choice(fields["channel_is"].label, labels.values["channel"].items())
    fields["sex_is"] = _choice(fields["sex_is"].label, [*labels.values["sex"].items(), *not_stated])
    fields["age_is"] = _choice(fields["age_is"].label, [*labels.values["age"].items(), *not_stated])
    return form


def _area_choices(scope: Scope, *, deepest: int) -> list[tuple[str, str]]:
    areas = Area.objects.filter(level__lte=deepest)
    if scope.area_ids is not None:
        areas = areas.filter(pk__in=scope.area_ids)
    levels = dict(Area.Level.choices)
    return [
        (code, f"{name} ({levels[level]})")
        for code, name, level in areas.order_by("level", "name").values_list("code", "name", "level")
    ]


# --- Labels ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Labels:
    """Words for dimension values, in the active language."""

    values: dict[str, dict[str, str]]
    dimensions: dict[str, str]

    def value(self, name: str, value: str) -> str:
        if not value:
            return _("Not stated")
        return self.values[name].get(value, value)


def _labels() -> Labels:
    categories = Category.objects.only("code", "names").order_by("sort_order", "code")
    return Labels(
        values={
            "group": {value: str(label) for value, label in Category.Group.choices},
            "category": {category.code: category.name for category in categories},
            "channel": {value: str(label) for value, label in Report.Channel.choices},
            "sex": {value: str(label) for value, label in Report.Sex.choices},
            "age": {value: str(label) for value, label in Report.AgeBand.choices},
        },
        dimensions={name: str(label) for name, label in DIMENSION_CHOICES},
    )


def period_label(start: date, period: str) -> str:
    if period == "week":
        year, week, _weekday = start.isocalendar()
        return _("Week %(week)s, %(year)s") % {"week": week, "year": year}
    if period == "month":
        return date_format(start, "YEAR_MONTH_FORMAT")
    if period == "quarter":
        return _("Q%(quarter)s %(year)s") % {"quarter": (start.month - 1) // 3 + 1, "year": start.year}
    return str(start.year)


def _short_period_label(start: date, period: str) -> str:
    if period == "week":
        return start.strftime("%Y-%m-%d")
    if period == "month":
        return date_format(start, "M Y")
    return period_label(start, period)


def _area_label(area, level: int) -> str:
    if area.level < level:
        # Reports located only this coarsely are counted under the area itself.
        return _("%(name)s (not located more precisely)") % {"name": area.name}
    return area.name


def caption(result: TableResult, labels: Labels) -> str:
    """What the table counts, in words: family, areas, period, breakdown and filters."""
    levels = {value: str(label) for value, label in Area.Level.choices}
    periods = {value: str(label) for value, label in PERIOD_CHOICES}
    spec, query = result.spec, result.query
    if spec.family == SENSITIVE:
        text = _("Reports of sexual and intimate-partner violence by %(level)s and %(period)s")
    else:
        text = _("Validated reports by %(level)s and %(period)s")
    text = text % {"level": levels[spec.level].lower(), "period": periods[spec.period].lower()}
    shown = [labels.dimensions[name].lower() for name in spec.dims if name in query.dims]
    if shown:
        text += ", " + _("by %(dimensions)s") % {"dimensions": _(" and ").join(shown)}
    only = [f"{labels.dimensions[name].lower()}: {labels.value(name, value)}" for name, value in query.filters]
    if only:
        text += "; " + _("only %(filters)s") % {"filters": "; ".join(only)}
    return text


# --- The table -------------------------------------------------------------------------------


@dataclass
class Cell:
    shown: str
    withheld: bool = False


@dataclass
class Line:
    label: str
    cells: list[Cell]
    total: Cell | None = None
    is_total: bool = False


@dataclass
class Block:
    period: str
    area: str
    lines: list[Line]


@dataclass
class TableView:
    row_header: str
    columns: list[str]
    has_area_column: bool
    has_total_column: bool
    blocks: list[Block]
    periods_shown: int
    periods_total: int

    @property
    def truncated(self) -> bool:
        return self.periods_shown < self.periods_total


def _cell(row: Row | None) -> Cell:
    if row is None:
        return Cell("")
    return Cell(row.shown, row.count is None)


def _key(row: Row, names) -> tuple:
    dims = dict(row.dims)
    return (row.area.id, row.period, *(dims.get(name, "") for name in names))


def _index(rows: list[Row], names) -> dict[tuple, Row]:
    return {_key(row, names): row for row in rows}


def _values(rows: list[Row], name: str | None) -> list:
    """A dimension's values in the order the table lists them (every combination is listed)."""
    if name is None:
        return [None]
    return list(dict.fromkeys(dict(row.dims)[name] for row in rows))


def table_view(result: TableResult, labels: Labels) -> TableView:
    """The rows of a released table as a cross table, with totals taken from its margins."""
    shown = [name for name in result.spec.dims if name in result.query.dims]
    if len(shown) == 2 or shown == ["category"]:
        return _blocks_by_area(result, labels, shown)
    return _lines_by_area(result, labels, shown[0] if shown else None)


def _period_text(start: date, period: str) -> str:
    text = period_label(start, period)
    if period_end(start, period) > timezone.localdate():
        return _("%(period)s (not over yet)") % {"period": text}
    return text


def _lines_by_area(result: TableResult, labels: Labels, col_dim: str | None) -> TableView:
    """One line per area in each period, a column per value of the one dimension shown (with the
    margin without it as the total column), then lines for the coarser areas (the area margin)."""
    names = [col_dim] if col_dim else []
    cells = _index(result.rows, names)
    col_values = _values(result.rows, col_dim)
    row_totals = _index(result.margins.get(f"all_{col_dim}", []), []) if col_dim else {}
    parents = result.margins.get("area", [])
    parent_cells = _index(parents, names)
    periods, units = _periods_and_units(result.rows)
    parent_units = list(dict.fromkeys(row.area for row in parents))
    keep = _periods_that_fit(len(periods), (len(units) + len(parent_units)) * (len(col_values) + 1))
    blocks = []
    for period in periods[:keep]:
        lines = []
        for area in units:
            line_cells = [_cell(cells.get((area.id, period, *_opt(col)))) for col in col_values]
            total = _cell(row_totals.get((area.id, period))) if col_dim else None
            lines.append(Line(_area_label(area, result.spec.level), line_cells, total))
        for area in parent_units:
            line_cells = [_cell(parent_cells.get((area.id, period, *_opt(col)))) for col in col_values]
            label = _("Total, %(area)s") % {"area": area.name}
            lines.append(Line(label, line_cells, Cell("") if col_dim else None, True))
        blocks.append(Block(_period_text(period, result.spec.period), "", lines))
    return TableView(
        row_header=_("Area"),
        columns=[labels.value(col_dim, col) for col in col_values] if col_dim else [_("Reports")],
        has_area_column=False,
        has_total_column=col_dim is not None,
        blocks=blocks,
        periods_shown=keep,
        periods_total=len(periods),
    )


def _blocks_by_area(result: TableResult, labels: Labels, shown: list[str]) -> TableView:
    """One block per period and area: a line per value of the first dimension, a column per value
    of the second, totals from the margins without each (without the category, the margin is the
    category group's table, so its cells are subtotals per group)."""
    row_dim, col_dim = shown[0], (shown[1] if len(shown) > 1 else None)
    cells = _index(result.rows, shown)
    row_values, col_values = _values(result.rows, row_dim), _values(result.rows, col_dim)
    row_totals = _index(result.margins.get(f"all_{col_dim}", []), [row_dim]) if col_dim else {}
    total_names = (["group"] if row_dim == "category" else []) + ([col_dim] if col_dim else [])
    col_margin = result.margins.get(f"all_{row_dim}", [])
    col_totals = _index(col_margin, total_names)
    total_groups = _values(col_margin, "group") if row_dim == "category" and col_margin else [None]
    periods, units = _periods_and_units(result.rows)
    per_block = (len(row_values) + len(total_groups)) * (len(col_values) + 1)
    keep = _periods_that_fit(len(periods), len(units) * per_block)
    blocks = []
    for period in periods[:keep]:
        for area in units:
            lines = []
            for value in row_values:
                line_cells = [_cell(cells.get((area.id, period, value, *_opt(col)))) for col in col_values]
                total = _cell(row_totals.get((area.id, period, value))) if col_dim else None
                lines.append(Line(labels.value(row_dim, value), line_cells, total))
            if col_margin:
                for group in total_groups:
                    keys = [(area.id, period, *_opt(group), *_opt(col)) for col in col_values]
                    lines.append(
                        Line(_total_label(group, labels), [_cell(col_totals.get(key)) for key in keys], None, True)
                    )
            area_text = _area_label(area, result.spec.level)
            blocks.append(Block(_period_text(period, result.spec.period), area_text, lines))
    return TableView(
        row_header=labels.dimensions[row_dim],
        columns=[labels.value(col_dim, col) for col in col_values] if col_dim else [_("Reports")],
        has_area_column=True,
        has_total_column=col_dim is not None,
        blocks=blocks,
        periods_shown=keep,
        periods_total=len(periods),
    )


def _total_label(group: str | None, labels: Labels) -> str:
    if group is None:
        return _("Total")
    return _("Total, %(group)s") % {"group": labels.value("group", group)}


def _opt(value) -> tuple:
    return () if value is None else (value,)


def _periods_and_units(rows: list[Row]) -> tuple[list[date], list]:
    periods = sorted({row.period for row in rows}, reverse=True)
    units = list(dict.fromkeys(row.area for row in rows))
    return periods, units


def _periods_that_fit(periods: int, cells_per_period: int) -> int:
    if periods == 0:
        return 0
    return max(1, min(periods, MAX_TABLE_CELLS // max(1, cells_per_period)))


# --- The time series -------------------------------------------------------------------------

CHART_WIDTH, CHART_HEIGHT = 320, 150
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 36, 10, 12, 30
PALETTE = ("#0b6e4f", "#b45309", "#1d4ed8", "#9d174d", "#4d7c0f", "#6b21a8")


@dataclass
class Point:
    x: float
    y: float
    shown: str
    period: str
    withheld: bool
    incomplete: bool

    @property
    def mark(self) -> str:
        """An "x" drawn on the axis where a withheld count would be."""
        return f"M{round(self.x - 3, 1)},{round(self.y - 3, 1)}l6,6m0,-6l-6,6"


@dataclass
class Series:
    name: str
    colour: str
    points: list[Point]
    lines: list[str]


@dataclass
class Chart:
    title: str
    series: list[Series]
    y_ticks: list[tuple[float, str]]
    x_ticks: list[tuple[float, str]]
    baseline: float
    left: float = PAD_LEFT
    right: float = CHART_WIDTH - PAD_RIGHT
    top: float = PAD_TOP
    width: int = CHART_WIDTH
    height: int = CHART_HEIGHT


@dataclass
class ChartSet:
    charts: list[Chart] = field(default_factory=list)
    periods: list[str] = field(default_factory=list)
    # The fallback table: one column per series, one row per period.
    columns: list[str] = field(default_factory=list)
    rows: list[tuple[str, list[Cell]]] = field(default_factory=list)
    refused: str | None = None
    has_withheld: bool = False
    has_incomplete: bool = False


def _roots(scope: Scope, query: TableQuery) -> list[Area]:
    """The areas each chart follows: the chosen area, else the top of the jurisdiction."""
    areas = Area.objects.only("id", "name", "code", "level")
    if query.area_code:
        areas = areas.filter(code=query.area_code)
    elif scope.area_ids is None:
        areas = areas.filter(parent__isnull=True)
    else:
        areas = areas.filter(pk__in=scope.area_ids).exclude(parent_id__in=scope.area_ids)
    if scope.area_ids is not None:
        areas = areas.filter(pk__in=scope.area_ids)
    return list(areas.order_by("level", "name"))


def chart_set(scope: Scope, query: TableQuery, labels: Labels) -> ChartSet:
    """One small chart per category group (or the one group or category filtered on), from the
    released group table of the top areas, with withheld points marked and never joined up."""
    fixed = dict(query.filters)
    by = None if {"group", "category"} & set(fixed) else "group"
    roots = _roots(scope, query)
    rows: list[Row] = []
    for level in sorted({area.level for area in roots}):
        chart_query = replace(query, level=level, dims=(by,) if by else ())
        result = aggregate_table(scope, chart_query)
        if result.refused:
            return ChartSet(refused=result.refused)
        wanted = {area.id for area in roots if area.level == level}
        rows += [row for row in result.rows if row.area.id in wanted]
    return _build_charts(rows, by, query, roots, labels, _single_title(fixed, labels))


def _single_title(fixed: dict, labels: Labels) -> str:
    if "category" in fixed:
        return labels.value("category", fixed["category"])
    if "group" in fixed:
        return labels.value("group", fixed["group"])
    return ""


def _build_charts(rows, by, query, roots, labels, single_title) -> ChartSet:
    periods = sorted({row.period for row in rows})
    if not periods:
        return ChartSet()
    xs = _x_positions(len(periods))
    found = ChartSet(periods=[period_label(period, query.period) for period in periods])
    cells = {(row.area.id, row.period, dict(row.dims).get(by) if by else None): row for row in rows}
    columns = []
    for value in _values(rows, by) if by else [None]:
        title = labels.value(by, value) if by else single_title
        lines = [[cells.get((area.id, period, value)) for period in periods] for area in roots]
        top = _nice_max([row.count or 0 for line in lines for row in line if row is not None])
        series = []
        for index, (area, line) in enumerate(zip(roots, lines, strict=True)):
            points = _points(line, periods, xs, top, query.period)
            series.append(Series(area.name, PALETTE[index % len(PALETTE)], points, _segments(points)))
            columns.append((f"{title} · {area.name}" if len(roots) > 1 else title, points))
        found.charts.append(Chart(title, series, _y_ticks(top), _x_ticks(periods, xs, query.period), _y(0, top)))
    found.columns = [name for name, _points in columns]
    found.rows = [
        (found.periods[i], [Cell(points[i].shown, points[i].withheld) for _name, points in columns])
        for i in range(len(periods))
    ]
    found.has_withheld = any(point.withheld for _name, points in columns for point in points)
    found.has_incomplete = any(point.incomplete for _name, points in columns for point in points)
    return found


def _points(line: list[Row | None], periods: list[date], xs: list[float], top: int, period: str) -> list[Point]:
    """One series' points; a withheld one sits on the axis, marked, and takes no part in the line."""
    today = timezone.localdate()
    points = []
    for row, start, x in zip(line, periods, xs, strict=True):
        count = None if row is None else row.count
        points.append(
            Point(
                x=x,
                y=_y(count or 0, top),
                shown="" if row is None else row.shown,
                period=period_label(start, period),
                withheld=row is not None and count is None,
                incomplete=period_end(start, period) > today,
            )
        )
    return points


def _x_positions(count: int) -> list[float]:
    left, right = PAD_LEFT + 4, CHART_WIDTH - PAD_RIGHT - 4
    if count == 1:
        return [(left + right) / 2]
    step = (right - left) / (count - 1)
    return [round(left + i * step, 1) for i in range(count)]


def _y(count: int, top: int) -> float:
    bottom = CHART_HEIGHT - PAD_BOTTOM
    return round(bottom - (bottom - PAD_TOP) * count / top, 1)


def _nice_max(counts: list[int]) -> int:
    """The axis top: the smallest of 1, 2, 5, 10, 20, 25, 50, 100, ... not below the highest count."""
    highest = max(counts, default=0)
    step = 1
    while True:
        for factor in (1, 2, 2.5, 5) if step >= 10 else (1, 2, 5):
            if highest <= step * factor:
                return int(step * factor)
        step *= 10


def _y_ticks(top: int) -> list[tuple[float, str]]:
    values = (0, top // 2, top) if top >= 2 and top % 2 == 0 else (0, top)
    return [(_y(value, top), str(value)) for value in values]


def _x_ticks(periods: list[date], xs: list[float], period: str) -> list[tuple[float, str]]:
    if len(periods) <= 4:
        chosen = range(len(periods))
    else:
        chosen = sorted({0, len(periods) // 3, 2 * len(periods) // 3, len(periods) - 1})
    return [(xs[i], _short_period_label(periods[i], period)) for i in chosen]


def _segments(points: list[Point]) -> list[str]:
    """Polylines through runs of published points: a withheld point breaks the line."""
    runs, current = [], []
    for point in points:
        if point.withheld or not point.shown:
            if len(current) > 1:
                runs.append(current)
            current = []
        else:
            current.append(point)
    if len(current) > 1:
        runs.append(current)
    return [" ".join(f"{point.x},{point.y}" for point in run) for run in runs]


# --- The map ---------------------------------------------------------------------------------

# Display boundaries are stored simplified; areas without one are simplified on the fly (degrees).
SIMPLIFY_DEGREES = {0: 0.01, 1: 0.005, 2: 0.001, 3: 0.0002}
_SHAPES = (
    "SELECT id, ST_AsGeoJSON(COALESCE(boundary_display, ST_SimplifyPreserveTopology(boundary, %s)), 5) "
    "FROM community_area WHERE id = ANY(%s)"
)


def _shapes(area_ids: list[int], level: int) -> dict[int, dict]:
    """Every area's outline, as GeoJSON geometry, in one query."""
    if not area_ids:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(_SHAPES, [SIMPLIFY_DEGREES.get(level, 0.001), area_ids])
        return {area_id: json.loads(shape) for area_id, shape in cursor.fetchall() if shape}


def _map_period(rows: list[Row], period: str) -> tuple[date | None, bool]:
    """The latest complete period shown (or, before one ends, the one under way)."""
    periods = sorted({row.period for row in rows})
    if not periods:
        return None, False
    today = timezone.localdate()
    complete = [start for start in periods if period_end(start, period) <= today]
    if complete:
        return complete[-1], True
    return periods[-1], False


def map_features(result: TableResult) -> dict:
    spec = result.spec
    chosen, complete = _map_period(result.rows, spec.period)
    rows = [row for row in result.rows if row.period == chosen and row.area.level == spec.level]
    populations = dict(Area.objects.filter(pk__in=[row.area.id for row in rows]).values_list("id", "population"))
    shapes = _shapes([row.area.id for row in rows], spec.level)
    features = []
    for row in rows:
        population = populations.get(row.area.id)
        rate = None
        if row.count is not None and population:
            rate = round(row.count * 100_000 / population, 1)
        properties = {
            "code": row.area.code,
            "name": row.area.name,
            "count": row.count,
            "shown": row.shown,
            "withheld": row.count is None,
            "population": population,
            "rate": rate,
        }
        if row.area.id in shapes:
            features.append({"type": "Feature", "properties": properties, "geometry": shapes[row.area.id]})
    return {
        "type": "FeatureCollection",
        "features": features,
        "period": chosen.isoformat() if chosen else None,
        "period_label": period_label(chosen, spec.period) if chosen else "",
        "complete": complete,
        "threshold": result.threshold,
        "refused": None,
    }


def _refused_map(message: str) -> JsonResponse:
    return JsonResponse({"type": "FeatureCollection", "features": [], "refused": message})


SENSITIVE_MAP_REFUSAL = gettext_lazy(
    "Sexual and intimate-partner violence is never shown on a map: the table and the chart show it."
)


# --- Views -----------------------------------------------------------------------------------


def _map_config() -> dict:
    return {"tiles": settings.MAP_TILE_URL, "attribution": settings.MAP_TILE_ATTRIBUTION}


def _institution_form(request: HttpRequest, scope: Scope, labels: Labels) -> TableQueryForm:
    form = TableQueryForm(_form_data(request, INSTITUTION_DEFAULTS))
    return _dress_form(form, areas=_area_choices(scope, deepest=Area.Level.MUNICIPALITY), labels=labels)


def _result_for(scope: Scope, form: TableQueryForm) -> tuple[TableQuery | None, TableResult | None]:
    if not form.is_valid():
        return None, None
    query = table_query_from(form.cleaned_data)
    try:
        return query, aggregate_table(scope, query)
    except Http404:
        # An area outside what this person may see reads the same as one that does not exist.
        form.add_error("area", _("Choose one of the areas listed."))
        return None, None


@require_GET
@login_required
@never_cache
def dashboard(request: HttpRequest) -> HttpResponse:
    scope = institution_scope_for_user(request.user)
    if found := _canonical_redirect(request):
        return found
    labels = _labels()
    form = _institution_form(request, scope, labels)
    query, result = _result_for(scope, form)
    context = {"form": form, "result": result, "insights_nav": True, "map": _map_config()}
    if result is None:
        return render(request, "insights/dashboard.html", context, status=400)
    context.update(
        table=None if result.refused else table_view(result, labels),
        caption=caption(result, labels),
        charts=chart_set(scope, query, labels),
        map_refused=str(SENSITIVE_MAP_REFUSAL) if result.spec.family == SENSITIVE else "",
        sensitive=result.spec.family == SENSITIVE,
    )
    return render(request, "insights/dashboard.html", context)


@require_GET
@login_required
@never_cache
def map_data(request: HttpRequest) -> JsonResponse:
    """The choropleth's areas: outlines and the released totals of the latest complete period."""
    scope = institution_scope_for_user(request.user)
    form = TableQueryForm(_form_data(request, INSTITUTION_DEFAULTS))
    if not form.is_valid():
        return JsonResponse({"errors": form.errors.get_json_data()}, status=400)
    # The map shows totals per area: the chosen breakdown is for the table, the filters still apply.
    query = replace(table_query_from(form.cleaned_data), dims=())
    if query.family == SENSITIVE:
        return _refused_map(str(SENSITIVE_MAP_REFUSAL))
    result = aggregate_table(scope, query)
    # A sensitive category filter picks the sensitive family too: the released spec says which.
    if result.spec.family == SENSITIVE:
        return _refused_map(str(SENSITIVE_MAP_REFUSAL))
    if result.refused:
        return _refused_map(result.refused)
    return JsonResponse(map_features(result))


def _public_form(request: HttpRequest, labels: Labels) -> TableQueryForm:
    form = TableQueryForm(_form_data(request, PUBLIC_DEFAULTS))
    form.fields["level"].choices = [choice for choice in LEVEL_CHOICES if choice[0] in PUBLIC_LEVELS]
    form.fields["period"].choices = [choice for choice in PERIOD_CHOICES if choice[0] in PUBLIC_PERIODS]
    return _dress_form(form, areas=_area_choices(PUBLIC, deepest=Area.Level.MUNICIPALITY), labels=labels)


@require_GET
def open_data(request: HttpRequest) -> HttpResponse:
    if found := _canonical_redirect(request):
        return found
    labels = _labels()
    form = _public_form(request, labels)
    query, result = _result_for(PUBLIC, form)
    latest = public_cutoff() - timedelta(days=1)
    context = {"form": form, "result": result, "latest_month": date_format(latest, "YEAR_MONTH_FORMAT")}
    if result is None:
        return render(request, "insights/open_data.html", context, status=400)
    context.update(
        table=None if result.refused else table_view(result, labels),
        caption=caption(result, labels),
        charts=chart_set(PUBLIC, query, labels),
        # The exports draw no map of sexual and intimate-partner violence at either tier.
        sensitive=result.spec.family == SENSITIVE,
    )
    return render(request, "insights/open_data.html", context)
