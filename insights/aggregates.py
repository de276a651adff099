"""What one person may see of the released tables: the access check for aggregates, the query a
dashboard, an export or the API asks, and its answer as plain rows (never model instances, never
free text or points).
"""

from dataclasses import dataclass, field
from datetime import date

from django import forms
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from community.models import Area
from community.selectors import area_descendant_ids, jurisdiction_area_ids
from reports.models import Category, Report

from .rollup import DIMENSIONS, rollup_version
from .tables import (
    GENERAL,
    LEVEL_NAMES,
    SENSITIVE,
    TIER_INSTITUTION,
    TIER_PUBLIC,
    Released,
    ReleaseGone,
    TableSpec,
    canonical_dims,
    dimension_values,
    period_end,
    period_starts,
    public_cutoff,
    release,
    threshold,
)


@dataclass(frozen=True)
class Scope:
    """Which tier a person sees, and which areas (None: all)."""

    tier: str
    area_ids: frozenset[int] | None


PUBLIC = Scope(tier=TIER_PUBLIC, area_ids=None)


def institution_scope_for_user(user) -> Scope:
    """The one access check for tier B aggregates: an institution's analysts see its jurisdiction
    (those areas and every area below), administrators everything; anyone else gets 404."""
    if not user.is_authenticated:
        raise Http404
    if user.is_superuser:
        return Scope(tier=TIER_INSTITUTION, area_ids=None)
    areas = area_descendant_ids(jurisdiction_area_ids(user))
    if not areas:
        raise Http404
    return Scope(tier=TIER_INSTITUTION, area_ids=frozenset(areas))


# --- The query -------------------------------------------------------------------------------

LEVEL_CHOICES = [
    ("country", _("Country")),
    ("region", _("Region")),
    ("municipality", _("Municipality")),
    ("community", _("Community")),
]
PERIOD_CHOICES = [("week", _("ISO week")), ("month", _("Month")), ("quarter", _("Quarter")), ("year", _("Year"))]
DIMENSION_CHOICES = [
    ("group", _("Category group")),
    ("category", _("Category")),
    ("channel", _("Channel")),
    ("sex", _("Affected person's sex")),
    ("age", _("Affected person's age")),
]
FAMILY_CHOICES = [
    (GENERAL, _("All categories but sexual and intimate-partner violence")),
    (SENSITIVE, _("Sexual and intimate-partner violence")),
]
FILTER_FIELDS = {name: f"{name}_is" for name in DIMENSIONS}


class TableQueryForm(forms.Form):
    """The query string of the dashboard, the exports and the API."""

    level = forms.ChoiceField(label=_("Areas"), choices=LEVEL_CHOICES, initial="municipality", required=False)
    period = forms.ChoiceField(label=_("Period"), choices=PERIOD_CHOICES, initial="month", required=False)
    dims = forms.CharField(label=_("Dimensions"), required=False, help_text=_("Up to two, comma-separated."))
    family = forms.ChoiceField(label=_("Categories"), choices=FAMILY_CHOICES, initial=GENERAL, required=False)
    area = forms.CharField(label=_("Within area (code)"), required=False, max_length=64)
    start = forms.DateField(label=_("From"), required=False)
    end = forms.DateField(label=_("To"), required=False)
    group_is = forms.CharField(label=_("Only this category group"), required=False, max_length=20)
    category_is = forms.CharField(label=_("Only this category"), required=False, max_length=40)
    channel_is = forms.CharField(label=_("Only this channel"), required=False, max_length=10)
    sex_is = forms.CharField(label=_("Only this sex"), required=False, max_length=10)
    age_is = forms.CharField(label=_("Only this age band"), required=False, max_length=6)

    def clean_dims(self) -> tuple[str, ...]:
        names = [name.strip() for name in self.cleaned_data["dims"].split(",") if name.strip()]
        unknown = [name for name in names if name not in DIMENSIONS]
        if unknown:
            raise forms.ValidationError(_("Unknown dimension: %(names)s."), params={"names": ", ".join(unknown)})
        return tuple(names)

    def clean(self) -> dict:
        data = super().clean()
        for name, field_name in FILTER_FIELDS.items():
            value = data.get(field_name, "")
            if value and value not in _filter_values(name):
                self.add_error(field_name, _("Unknown value."))
        if data.get("start") and data.get("end") and data["start"] > data["end"]:
            self.add_error("end", _("The end comes before the start."))
        return data


def _filter_values(name: str) -> list[str]:
    if name == "group":
        return list(Category.Group.values)
    if name == "category":
        return list(Category.objects.values_list("code", flat=True))
    if name == "channel":
        return list(Report.Channel.values)
    return [value for value in dimension_values(name, GENERAL) if value] + ["none"]


@dataclass(frozen=True)
class TableQuery:
    level: int = 2
    period: str = "month"
    dims: tuple[str, ...] = ()
    family: str = GENERAL
    area_code: str = ""
    start: date | None = None
    end: date | None = None
    filters: tuple[tuple[str, str], ...] = ()


def table_query_from(data: dict) -> TableQuery:
    """A TableQuery from a valid TableQueryForm's cleaned data."""
    filters = []
    for name, field_name in FILTER_FIELDS.items():
        value = data.get(field_name) or ""
        if value:
            filters.append((name, "" if value == "none" else value))
    family = data.get("family") or GENERAL
    return TableQuery(
        level=LEVEL_NAMES[data.get("level") or "municipality"],
        period=data.get("period") or "month",
        dims=tuple(data.get("dims") or ()),
        family=family,
        area_code=data.get("area") or "",
        start=data.get("start"),
        end=data.get("end"),
        filters=tuple(filters),
    )


# --- The answer ------------------------------------------------------------------------------


@dataclass(frozen=True)
class AreaRef:
    id: int
    code: str
    name: str
    level: int


@dataclass(frozen=True)
class Row:
    area: AreaRef
    period: date
    dims: tuple[tuple[str, str], ...]
    count: int | None  # None: suppressed (tier B) or below 10 (tier A)
    shown: str


@dataclass
class TableResult:
    query: TableQuery
    spec: TableSpec
    tier: str
    threshold: int
    refused: str | None = None
    rows: list[Row] = field(default_factory=list)
    # Margins: the released cells of the tables this one adds up to, on the same selection.
    margins: dict[str, list[Row]] = field(default_factory=dict)
    suppressed: int = 0

    @property
    def released(self) -> bool:
        return self.refused is None


def aggregate_table(scope: Scope, query: TableQuery) -> TableResult:
    """The rows of one released table that this scope may see, with its margins."""
    try:
        return _aggregate_table(scope, query, {})
    except ReleaseGone:
        return _aggregate_table(scope, query, {"version": rollup_version()})


def _aggregate_table(scope: Scope, query: TableQuery, memo: dict) -> TableResult:
    dims = canonical_dims((*query.dims, *(name for name, _value in query.filters)))
    family = query.family
    category = dict(query.filters).get("category")
    if category and Category.objects.filter(code=category, is_sensitive=True).exists():
        family = SENSITIVE  # choosing a sensitive category is choosing the table released apart
    spec = TableSpec(scope.tier, query.level, query.period, dims, family)
    result = TableResult(query=query, spec=spec, tier=scope.tier, threshold=_shown_threshold(scope))
    if set(query.dims) & {name for name, _value in query.filters}:
        result.refused = str(_("A dimension cannot be both shown and filtered."))
        return result
    released = release(spec, _memo=memo)
    if released.refused:
        result.refused = str(released.refused)  # in this reader's language
        return result
    areas = _areas_in_view(scope, query)
    result.rows = _rows(released, scope, query, areas)
    result.suppressed = sum(1 for row in result.rows if row.count is None)
    for parent in spec.parents():
        parent_released = release(parent, _memo=memo)
        if parent_released.refused is None:
            result.margins[_margin_name(spec, parent)] = _rows(parent_released, scope, query, areas)
    return result


def _shown_threshold(scope: Scope) -> int:
    return 10 if scope.tier == TIER_PUBLIC else threshold()


def _margin_name(spec: TableSpec, parent: TableSpec) -> str:
    if parent.level != spec.level:
        return "area"
    if parent.period != spec.period:
        return "period"
    dropped = (set(spec.dims) - set(parent.dims)) or {"category"}
    return f"all_{dropped.pop()}"


def _areas_in_view(scope: Scope, query: TableQuery) -> dict[int, AreaRef]:
    """Every area the person may see within the chosen area (all levels; rows pick theirs)."""
    areas = Area.objects.all()
    if scope.area_ids is not None:
        areas = areas.filter(pk__in=scope.area_ids)
    if query.area_code:
        chosen = areas.filter(code=query.area_code).values_list("id", flat=True).first()
        if chosen is None:
            raise Http404
        areas = areas.filter(pk__in=area_descendant_ids([chosen]))
    return {row[0]: AreaRef(*row) for row in areas.values_list("id", "code", "name", "level").order_by("code")}


def _period_window(released: Released, scope: Scope, query: TableQuery, areas: dict[int, AreaRef]) -> list[date]:
    spec = released.spec
    # From the first period with reports in these areas: when others began says nothing here.
    seen = [key[1] for key in released.values if key[0] in areas]
    if not seen:
        return []
    first = min(seen)
    last = timezone.localdate()
    if scope.tier == TIER_PUBLIC:
        cutoff = public_cutoff()
        starts = [
            start for start in period_starts(first, last, spec.period) if period_end(start, spec.period) <= cutoff
        ]
    else:
        starts = period_starts(first, last, spec.period)
    return [
        start
        for start in starts
        if (query.start is None or period_end(start, spec.period) > query.start)
        and (query.end is None or start <= query.end)
    ]


def _rows(released: Released, scope: Scope, query: TableQuery, areas: dict[int, AreaRef]) -> list[Row]:
    spec = released.spec
    units = [area for area in areas.values() if area.level == spec.level]
    # Reports located only more coarsely than this level are counted under their own area.
    coarser = {key[0] for key in released.values if key[0] in areas and areas[key[0]].level < spec.level}
    units += [areas[area_id] for area_id in sorted(coarser, key=lambda area_id: areas[area_id].code)]
    fixed = dict(query.filters)
    combos = _dimension_combos(spec, fixed)
    rows = []
    for period in _period_window(released, scope, query, areas):
        for area in units:
            for combo in combos:
                value = released.value((area.id, period, *combo))
                rows.append(
                    Row(
                        area=area,
                        period=period,
                        dims=tuple(zip(spec.dims, combo, strict=True)),
                        count=value,
                        shown=_shown(value, scope),
                    )
                )
    return rows


def _dimension_combos(spec: TableSpec, fixed: dict[str, str]) -> list[tuple[str, ...]]:
    combos: list[tuple[str, ...]] = [()]
    for name in spec.dims:
        values = [fixed[name]] if name in fixed else dimension_values(name, spec.family)
        combos = [(*combo, value) for combo in combos for value in values]
    return combos


# Tier B withholds small counts and, to protect them, some larger ones: "x" claims no size.
WITHHELD = "x"


def _shown(value: int | None, scope: Scope) -> str:
    if value is not None:
        return str(value)
    return "<10" if scope.tier == TIER_PUBLIC else WITHHELD
