"""The committee board: list and map of the reports a member may see.

Both views start from reports_for_user (the one access check) and run a fixed number of queries
whatever the number of reports: the list is one COUNT and one page of 50 rows with its foreign
keys joined; the map is one query whose rows are ready-made GeoJSON features, capped at MAP_LIMIT.
"""

import json

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.contrib.gis.db.models.functions import AsGeoJSON
from django.core.paginator import Paginator
from django.db.models import CharField, F, Func, QuerySet, TextField, Value
from django.db.models.functions import Cast, Concat, Left, Substr
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from community.models import Area, Committee
from community.selectors import area_descendant_ids, committee_ids_for, served_area_ids

from .board_forms import BoardFilterForm, reports_filter
from .models import Category, Report
from .selectors import reports_for_user

PAGE_SIZE = 50
# The most recent points the map draws; beyond this the answer says "truncated".
MAP_LIMIT = 5000
# Exact points are committee-only; six decimals (about 10 cm) is all a GPS gives anyway.
COORDINATE_DIGITS = 6
# What a row shows, and no more: an area's boundary can weigh megabytes, a description pages.
ROW_FIELDS = (
    "tracking_code",
    "created_at",
    "channel",
    "status",
    "priority",
    "category__code",
    "category__names",
    "area__name",
    "assigned_to__username",
    "assigned_to__first_name",
    "assigned_to__last_name",
)


@require_GET
@login_required
@never_cache
def board(request: HttpRequest) -> HttpResponse:
    committee_ids = _board_access(request.user)
    form = _filter_form(request)
    filters = form.valid_data()
    reports = reports_filter(reports_for_user(request.user), filters)
    rows = reports.select_related("category", "area", "assigned_to").only(*ROW_FIELDS).order_by("-created_at", "-id")
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    query = form.query_string()
    context = {
        "form": form,
        "page": page,
        "filtered": bool(filters),
        "filters": {name: str(value) for name, value in filters.items()},
        "query": query,
        "geojson_url": f"{reverse('reports:board_geojson')}?{query}" if query else reverse("reports:board_geojson"),
        "detail_url": reverse("reports:report_detail", args=[0]),
        "committee_ids": committee_ids,
        "labels": _labels(form),
        "map": {"tiles": settings.MAP_TILE_URL, "attribution": settings.MAP_TILE_ATTRIBUTION},
    }
    return render(request, "reports/board.html", context)


@require_GET
@login_required
@never_cache
def board_geojson(request: HttpRequest) -> HttpResponse:
    """The filtered reports' exact points, newest first, for the board map (committee-only)."""
    _board_access(request.user)
    form = _filter_form(request)
    if not form.is_valid():
        return JsonResponse({"errors": form.errors.get_json_data()}, status=400)
    reports = reports_filter(reports_for_user(request.user), form.valid_data())
    features = list(_map_features(reports)[: MAP_LIMIT + 1])
    truncated = len(features) > MAP_LIMIT
    # Each feature arrives as JSON text from PostgreSQL: no per-point work in Python.
    head = json.dumps({"type": "FeatureCollection", "truncated": truncated, "limit": MAP_LIMIT}, separators=(",", ":"))
    body = f'{head[:-1]},"features":[{",".join(features[:MAP_LIMIT])}]}}'
    return HttpResponse(body, content_type="application/json")


def _board_access(user) -> list[int]:
    """The user's committee ids; someone in no committee (an analyst) gets 404, administrators pass."""
    committee_ids = committee_ids_for(user)
    if user.is_superuser:
        # Administrators see every report, so they hear about every committee's.
        return list(Committee.objects.order_by("id").values_list("id", flat=True))
    if not committee_ids:
        raise Http404
    return committee_ids


def _filter_form(request: HttpRequest) -> BoardFilterForm:
    categories = list(Category.objects.only("id", "code", "names", "sort_order"))
    return BoardFilterForm(request.GET, categories=categories, areas=_area_choices(request.user))


def _area_choices(user) -> list[Area]:
    areas = Area.objects.only("id", "name", "level").order_by("level", "name")
    if not user.is_superuser:
        areas = areas.filter(id__in=area_descendant_ids(served_area_ids(user)))
    return list(areas)


def _map_features(reports: QuerySet[Report]) -> QuerySet:
    """One GeoJSON Feature per report, as text, built by PostgreSQL and PostGIS."""
    # The same grouping as format_tracking_code (a test compares them).
    code = Concat(Left("tracking_code", 5), Value("-"), Substr("tracking_code", 6), output_field=CharField())
    geometry = Func(AsGeoJSON("location", precision=COORDINATE_DIGITS), template="(%(expressions)s)::json")
    properties = _json_object(id=F("id"), code=code, status=F("status"), category=F("category__code"))
    feature = _json_object(type=Value("Feature"), id=F("id"), geometry=geometry, properties=properties)
    return (
        reports.exclude(location=None)
        .order_by("-created_at", "-id")
        .annotate(feature=Func(feature, template="(%(expressions)s)::text", output_field=TextField()))
        .values_list("feature", flat=True)
    )


def _json_object(**fields) -> Func:
    # json_build_object, not JSONObject's jsonb_build_object: no binary form to build and print again.
    pairs = [part for key, value in fields.items() for part in (Cast(Value(key), TextField()), value)]
    return Func(*pairs, function="json_build_object", output_field=TextField())


def _labels(form: BoardFilterForm) -> dict:
    """Translated names board.js needs to draw a row or a popup from a live summary."""
    return {
        "statuses": {value: str(label) for value, label in Report.Status.choices},
        "channels": {value: str(label) for value, label in Report.Channel.choices},
        "priorities": {str(value): str(label) for value, label in Report.Priority.choices},
        "categories": {code: str(name) for code, name in form.fields["category"].choices if code},
        "truncated": _("The map shows the %(limit)s most recent of these reports.") % {"limit": MAP_LIMIT},
        "mapFailed": _("The map could not be loaded. The list still works."),
    }
