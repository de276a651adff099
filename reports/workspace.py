"""Report detail and triage actions for committee members.

Every entry point goes through `report_for_user`: another committee's report, an analyst or a
photo of a report the member may not see all answer 404.
"""

import json
from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from community.models import Area

from . import services
from .duplicates import duplicate_candidates
from .models import Photo, Report
from .selectors import committee_ids_serving, report_for_user, reports_for_user
from .workspace_forms import ACTION_FORMS, ActionForm

PHOTO_KINDS = ("image", "thumbnail")


@login_required
@require_GET
def report_detail(request: HttpRequest, report_id: int) -> HttpResponse:
    report = report_for_user(request.user, report_id)
    services.report_view_record(report=report, actor=request.user)
    return _page(request, report)


@login_required
@require_POST
def report_action(request: HttpRequest, report_id: int, action: str) -> HttpResponse:
    if action not in ACTION_FORMS:
        raise Http404
    report = report_for_user(request.user, report_id)
    committee_ids = committee_ids_serving(report)
    form = ACTION_FORMS[action](request.POST, report=report, user=request.user, committee_ids=committee_ids)
    if form.is_valid():
        try:
            done = APPLY[action](report, request.user, form.cleaned_data)
        except services.TransitionRefused:
            form.add_error(None, _refusal(report, action))
        else:
            messages.success(request, done)
            return redirect("reports:report_detail", report_id=report.pk)
    # Not recorded as a view: the member is still on the page they opened, and nothing changed.
    return _page(request, report, failed=form, committee_ids=committee_ids, status=400)


@login_required
@require_GET
def photo_file(request: HttpRequest, photo_id: int, kind: str) -> FileResponse:
    if kind not in PHOTO_KINDS:
        raise Http404
    photo = Photo.objects.filter(pk=photo_id).first()
    if photo is None:
        raise Http404
    report_for_user(request.user, photo.report_id)
    try:
        handle = getattr(photo, kind).open("rb")
    except (FileNotFoundError, ValueError):
        raise Http404 from None
    response = FileResponse(handle, content_type="image/jpeg")
    # Private pictures: never kept by a shared cache or the browser, never sniffed as anything else.
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


# --- the actions ---------------------------------------------------------------------------------

# What each status-changing action moves the report to, for the refusal message.
TARGETS = {
    "verify": Report.Status.VERIFIED,
    "reject": Report.Status.REJECTED,
    "duplicate": Report.Status.DUPLICATE,
    "plan": Report.Status.IN_ACTION,
    "resolve": Report.Status.RESOLVED,
}


def _verify(report: Report, actor, data: dict) -> str:
    services.report_verify(report=report, actor=actor, note=data["note"])
    return _("The report is verified.")


def _reject(report: Report, actor, data: dict) -> str:
    services.report_reject(report=report, actor=actor, reason=data["reason"])
    return _("The report is rejected.")


def _duplicate(report: Report, actor, data: dict) -> str:
    merged = services.report_mark_duplicate(report=report, actor=actor, original=data["original"], note=data["note"])
    root = merged.duplicate_of
    return _("The report is marked as a duplicate of %(code)s.") % {"code": root.formatted_code()}


def _priority(report: Report, actor, data: dict) -> str:
    services.report_priority_set(report=report, actor=actor, priority=data["priority"])
    return _("Priority set to %(priority)s.") % {"priority": Report.Priority(data["priority"]).label}


def _assign(report: Report, actor, data: dict) -> str:
    assignee = data["assignee"]
    services.report_assign(report=report, actor=actor, assignee=assignee)
    if assignee is None:
        return _("The report is no longer assigned.")
    return _("The report is assigned to %(name)s.") % {"name": assignee.get_full_name() or assignee.get_username()}


def _note(report: Report, actor, data: dict) -> str:
    services.report_note_add(report=report, actor=actor, text=data["text"])
    return _("Note added.")


def _plan(report: Report, actor, data: dict) -> str:
    services.report_plan_link(report=report, actor=actor, plan=data["plan"])
    return _("The report is linked to the action plan “%(title)s”.") % {"title": data["plan"].title}


def _resolve(report: Report, actor, data: dict) -> str:
    services.report_resolve(report=report, actor=actor, note=data["note"])
    return _("The report is resolved.")


APPLY: dict[str, Callable[[Report, object, dict], str]] = {
    "verify": _verify,
    "reject": _reject,
    "duplicate": _duplicate,
    "priority": _priority,
    "assign": _assign,
    "note": _note,
    "plan": _plan,
    "resolve": _resolve,
}


def _refusal(report: Report, action: str) -> str:
    current = Report.objects.filter(pk=report.pk).values_list("status", flat=True).first() or report.status
    return _("A report that is “%(status)s” cannot become “%(target)s”.") % {
        "status": Report.Status(current).label,
        "target": Report.Status(TARGETS[action]).label,
    }


# --- the page --------------------------------------------------------------------------------------


def _page(
    request: HttpRequest,
    report: Report,
    *,
    failed: ActionForm | None = None,
    committee_ids: list[int] | None = None,
    status: int = 200,
) -> HttpResponse:
    """The detail page in a fixed number of queries, whatever the number of photos, events and notes."""
    if committee_ids is None:
        committee_ids = committee_ids_serving(report)
    kwargs = {"report": report, "user": request.user, "committee_ids": committee_ids}
    forms = {action: form_class(**kwargs) for action, form_class in ACTION_FORMS.items()}
    if failed is not None:
        forms[failed.action] = failed
    context = {
        "report": report,
        "areas": Area.objects.filter(id__in=report.area_path).order_by("-level").only("id", "name", "level"),
        "photos": list(report.photos.all()),
        "events": list(report.events.select_related("actor").order_by("at", "id")),
        "notes": list(report.notes.select_related("author").order_by("created_at", "id")),
        "merged": list(report.duplicates.order_by("created_at").only("id", "tracking_code")),
        "candidates": duplicate_candidates(report, among=reports_for_user(request.user)),
        "actions": _actions(report, forms, failed),
        "duplicate_form": forms["duplicate"],
        "can_merge": Report.Status.DUPLICATE in services.TRANSITIONS.get(report.status, set())
        or (failed is not None and failed.action == "duplicate"),
        "failed": failed,
        "map": _map(report),
    }
    response = render(request, "reports/report_detail.html", context, status=status)
    response["Cache-Control"] = "private, no-store"
    return response


def _actions(report: Report, forms: dict[str, ActionForm], failed: ActionForm | None) -> list[dict]:
    """The action panels that make sense for the report's status (and the one that just failed)."""
    allowed = services.TRANSITIONS.get(report.status, set())
    linkable = report.status in (Report.Status.VERIFIED, Report.Status.IN_ACTION)
    panels = [
        ("verify", _("Verify"), _("Mark as verified"), Report.Status.VERIFIED in allowed),
        ("priority", _("Priority"), _("Set priority"), True),
        ("assign", _("Assignment"), _("Assign"), True),
        ("plan", _("Action plan"), _("Link to plan"), linkable),
        ("resolve", _("Resolve"), _("Mark as resolved"), Report.Status.RESOLVED in allowed),
        ("note", _("Internal note"), _("Add note"), True),
        ("reject", _("Reject"), _("Reject"), Report.Status.REJECTED in allowed),
    ]
    failed_action = failed.action if failed is not None else None
    return [
        {"action": action, "title": title, "button": button, "form": forms[action]}
        for action, title, button, shown in panels
        if shown or action == failed_action
    ]


def _map(report: Report) -> dict:
    shape = report.area.boundary_display or report.area.boundary
    return {
        "tiles": settings.MAP_TILE_URL,
        "attribution": settings.MAP_TILE_ATTRIBUTION,
        "point": [report.location.y, report.location.x] if report.location else None,
        "area": json.loads(shape.geojson) if shape else None,
    }
