"""Downloads of released tables: tier B for institution analysts, tier A (open data) for anyone."""

import json

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from . import exports
from .aggregates import PUBLIC, Scope, TableQueryForm, aggregate_table, institution_scope_for_user, table_query_from
from .tables import SENSITIVE

FORMATS = {
    "csv": ("text/csv; charset=utf-8", "csv"),
    "hxl": ("text/csv; charset=utf-8", "hxl.csv"),
    "geojson": ("application/geo+json", "geojson"),
}


@require_safe
@never_cache
@login_required
def institution_export(request, fmt: str) -> HttpResponse:
    return _export(request, institution_scope_for_user(request.user), fmt)


@require_safe
def public_export(request, fmt: str) -> HttpResponse:
    return _export(request, PUBLIC, fmt)


def _export(request, scope: Scope, fmt: str) -> HttpResponse:
    form = TableQueryForm(request.GET)
    if not form.is_valid():
        return _refused("\n".join(f"{name}: {' '.join(errors)}" for name, errors in form.errors.items()))
    query = table_query_from(form.cleaned_data)
    if fmt == "geojson" and query.family == SENSITIVE:
        return _refused(_map_refused())
    result = aggregate_table(scope, query)
    if result.refused:
        return _refused(result.refused)
    if fmt == "geojson" and result.spec.family == SENSITIVE:
        return _refused(_map_refused())
    content_type, extension = FORMATS[fmt]
    response = HttpResponse(_body(result, fmt), content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{exports.export_filename(result, extension)}"'
    return response


def _body(result, fmt: str) -> str:
    if fmt == "csv":
        return exports.table_csv(result)
    if fmt == "hxl":
        return exports.table_hxl(result)
    geometries = exports.area_display_geometries({row.area.id for row in result.rows})
    return json.dumps(exports.table_geojson(result, geometries), ensure_ascii=False, separators=(",", ":"))


def _map_refused() -> str:
    return _("Sexual and intimate-partner violence is never shown on a map; download it as CSV or HXL.")


def _refused(message: str) -> HttpResponse:
    return HttpResponse(message, status=400, content_type="text/plain; charset=utf-8")
