"""Resident pages: report, see the tracking code, follow the report. No account needed."""

import json

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import get_language
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET, require_http_methods

from community import ratelimit
from community.models import Area

from . import selectors, services
from .forms import OUTSIDE, ReportForm
from .models import format_tracking_code

SESSION_CODE = "convive_new_report"


@require_http_methods(["GET", "POST"])
def report_form(request: HttpRequest) -> HttpResponse:
    form = ReportForm(request.POST, request.FILES) if request.method == "POST" else ReportForm()
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            report = services.report_create(
                category=data["category"],
                description=data["description"],
                occurred_at=data["occurred_at"],
                occurred_precision=data["occurred_precision"],
                location=data["location"],
                location_source=data["location_source"],
                area=data["resolved_area"],
                affected_sex=data["affected_sex"],
                affected_age_band=data["affected_age_band"],
                arms=data.get("arms"),
                photos=data["photos"],
                language=get_language() or "",
            )
        except services.OutsideServiceArea:
            # The areas changed between the check and the write.
            form.add_error("latitude", OUTSIDE)
        else:
            # The code travels in the session, not the URL, so it stays out of history and logs.
            request.session[SESSION_CODE] = report.tracking_code
            return redirect("reports:sent")
    status = 400 if form.is_bound else 200
    return render(request, "reports/report_form.html", {"form": form, "map": _map_config()}, status=status)


def _map_config() -> dict:
    return {"tiles": settings.MAP_TILE_URL, "attribution": settings.MAP_TILE_ATTRIBUTION}


@require_GET
def report_sent(request: HttpRequest) -> HttpResponse:
    code = request.session.pop(SESSION_CODE, None)
    if code is None:
        return redirect("reports:track")
    context = {"code": format_tracking_code(code), "track_url": reverse("reports:track_detail", args=[code])}
    response = render(request, "reports/report_sent.html", context)
    response["Cache-Control"] = "no-store"
    return response


@require_GET
@cache_control(public=True, max_age=3600)
def areas_geojson(request: HttpRequest) -> JsonResponse:
    """Outlines of the served neighbourhoods for the map picker (simplified, no report data)."""
    features = []
    for area in Area.objects.filter(level=Area.Level.COMMUNITY).only("id", "name", "boundary_display", "boundary"):
        shape = area.boundary_display or area.boundary
        features.append(
            {"type": "Feature", "properties": {"id": area.id, "name": area.name}, "geometry": _geojson(shape)}
        )
    return JsonResponse({"type": "FeatureCollection", "features": features})


def _geojson(geometry) -> dict:
    return json.loads(geometry.json)


@require_GET
def track(request: HttpRequest) -> HttpResponse:
    raw = request.GET.get("code", "").strip()
    if raw:
        code = selectors.normalise_tracking_code(raw) or "".join(ch for ch in raw if ch.isalnum())[:20]
        if code:
            return redirect("reports:track_detail", code=code)
    return render(request, "reports/track_lookup.html")


@require_GET
def track_detail(request: HttpRequest, code: str) -> HttpResponse:
    allowed = ratelimit.allow(
        request,
        scope="track",
        limit=settings.TRACK_LOOKUPS_PER_WINDOW,
        window=settings.TRACK_LOOKUP_WINDOW_SECONDS,
    )
    if not allowed:
        return render(request, "reports/track_limited.html", status=429)
    report = selectors.report_for_tracking(code)
    if report is None:
        # Malformed and unknown codes get the same page and status.
        return render(request, "reports/track_lookup.html", {"not_found": True, "code": code[:20]}, status=404)
    context = {
        "report": report,
        "code": report.formatted_code(),
        "history": selectors.tracking_history(report),
    }
    response = render(request, "reports/track_detail.html", context)
    response["Cache-Control"] = "no-store"
    return response
