"""Action plans: drafted by committees, answered by institution analysts."""

from collections.abc import Callable
from dataclasses import dataclass

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.forms.models import model_to_dict
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from community.models import ActionPlan
from community.selectors import committee_ids_for

from . import plan_selectors as plans_read
from . import plan_services as services
from .models import Report
from .plan_forms import DeclineForm, NoteForm, PlanForm, ProgressForm, SubmitForm, VerifyForm
from .services import TransitionRefused

# --- Action plans: shared ----------------------------------------------------------------------

CONTENT_FIELDS = PlanForm.Meta.fields
REPORTS_CHANGED = _("A chosen report changed meanwhile (it may no longer be verified). Please check the list.")
REFUSED = _("This plan has moved on meanwhile; that step is no longer possible.")


@dataclass(frozen=True)
class PlanAction:
    service: Callable[..., ActionPlan]
    form_class: type[forms.Form]
    to_status: str
    label: str
    done: str


@dataclass(frozen=True)
class OfferedAction:
    name: str
    label: str
    form: forms.Form


MEMBER_ACTIONS = {
    "submit": PlanAction(
        services.plan_submit, SubmitForm, ActionPlan.Status.SUBMITTED, _("Submit to institutions"), _("Plan submitted.")
    ),
    "done": PlanAction(services.plan_done, NoteForm, ActionPlan.Status.DONE, _("Mark as done"), _("Marked as done.")),
    "verify": PlanAction(
        services.plan_verify,
        VerifyForm,
        ActionPlan.Status.VERIFIED,
        _("Record the community's verification"),
        _("Verification recorded."),
    ),
}
ANALYST_ACTIONS = {
    "accept": PlanAction(services.plan_accept, NoteForm, ActionPlan.Status.ACCEPTED, _("Accept"), _("Plan accepted.")),
    "decline": PlanAction(
        services.plan_decline, DeclineForm, ActionPlan.Status.DECLINED, _("Decline"), _("Plan declined.")
    ),
    "progress": PlanAction(
        services.plan_progress,
        ProgressForm,
        ActionPlan.Status.IN_PROGRESS,
        _("Report progress"),
        _("Progress recorded."),
    ),
}


def _action_form(name: str, action: PlanAction, data=None) -> forms.Form:
    # Several action forms share a page: their field ids must not collide.
    return action.form_class(data, auto_id=f"id_{name}_%s")


def _offered(plan: ActionPlan, actions: dict[str, PlanAction], invalid: dict[str, forms.Form]) -> list[OfferedAction]:
    return [
        OfferedAction(name=name, label=action.label, form=invalid.get(name) or _action_form(name, action))
        for name, action in actions.items()
        if services.plan_allows(status=plan.status, to_status=action.to_status)
    ]


def _act(request: HttpRequest, plan: ActionPlan, name: str, *, actions: dict[str, PlanAction], page, detail: str):
    action = actions.get(name)
    if action is None:
        raise Http404
    if not services.plan_allows(status=plan.status, to_status=action.to_status):
        messages.error(request, REFUSED)
        return page(request, plan, status=409)
    form = _action_form(name, action, request.POST)
    if not form.is_valid():
        return page(request, plan, invalid={name: form}, status=400)
    try:
        action.service(plan=plan, actor=request.user, **form.cleaned_data)
    except services.PlanRefused:  # another step won the race since the page loaded
        messages.error(request, REFUSED)
        return page(request, plan, status=409)
    messages.success(request, action.done)
    return redirect(detail, plan.id)


# --- Action plans: committee members -----------------------------------------------------------


def _require_member(request: HttpRequest) -> None:
    if not request.user.is_superuser and not committee_ids_for(request.user):
        raise Http404


@login_required
@require_GET
def plans(request: HttpRequest) -> HttpResponse:
    if not request.user.is_superuser and not committee_ids_for(request.user):
        # The workspace menu links here for everyone; analysts have their own list.
        if plans_read.is_analyst(request.user):
            return redirect("plans:institution_plans")
        raise Http404
    rows = plans_read.plans_for_member(request.user).select_related("committee").annotate(report_count=Count("reports"))
    return render(request, "plans/plan_list.html", {"plans": rows})


@login_required
@require_http_methods(["GET", "POST"])
def plan_new(request: HttpRequest) -> HttpResponse:
    _require_member(request)
    committees = plans_read.member_committees(request.user)
    data = request.POST if request.method == "POST" else None
    form = PlanForm(data, committees=committees, reports=plans_read.linkable_reports(request.user))
    if form.is_bound and form.is_valid():
        content = {name: form.cleaned_data[name] for name in CONTENT_FIELDS}
        try:
            plan = services.plan_create(
                committee=form.chosen_committee(),
                actor=request.user,
                reports=list(form.cleaned_data["reports"]),
                **content,
            )
        except TransitionRefused:
            form.add_error("reports", REPORTS_CHANGED)
        else:
            messages.success(request, _("Draft saved. Submit it when the committee agrees."))
            return redirect("plans:plan_detail", plan.id)
    return render(request, "plans/plan_form.html", {"form": form}, status=400 if form.is_bound else 200)


def _edit_form(request: HttpRequest, plan: ActionPlan, data=None) -> PlanForm:
    linked = plans_read.plan_reports_for_member(request.user, plan).values_list("id", flat=True)
    return PlanForm(
        data,
        committee=plan.committee,
        reports=plans_read.linkable_reports(request.user, plan=plan),
        initial={**model_to_dict(plan, fields=CONTENT_FIELDS), "reports": list(linked)},
    )


def _member_page(request: HttpRequest, plan: ActionPlan, *, form=None, invalid=None, status: int = 200):
    if form is None and plan.status == ActionPlan.Status.DRAFT:
        form = _edit_form(request, plan)
    context = {
        "plan": plan,
        "form": form,
        "reports": plans_read.plan_reports_for_member(request.user, plan),
        "events": plan.events.select_related("actor"),
        "actions": _offered(plan, MEMBER_ACTIONS, invalid or {}),
    }
    return render(request, "plans/plan_detail.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def plan_detail(request: HttpRequest, plan_id: int) -> HttpResponse:
    """The plan, the draft's edit form, and the committee's next steps."""
    plan = plans_read.plan_for_member(request.user, plan_id)
    if request.method == "GET":
        return _member_page(request, plan)
    if plan.status != ActionPlan.Status.DRAFT:
        messages.error(request, _("Only drafts can be edited."))
        return _member_page(request, plan, status=409)
    form = _edit_form(request, plan, request.POST)
    if not form.is_valid():
        return _member_page(request, plan, form=form, status=400)
    content = {name: form.cleaned_data[name] for name in CONTENT_FIELDS}
    try:
        services.plan_update(plan=plan, actor=request.user, reports=list(form.cleaned_data["reports"]), **content)
    except TransitionRefused:
        form.add_error("reports", REPORTS_CHANGED)
        return _member_page(request, plan, form=form, status=409)
    except services.PlanRefused:
        messages.error(request, _("Only drafts can be edited."))
        return _member_page(request, plan, status=409)
    messages.success(request, _("Draft saved."))
    return redirect("plans:plan_detail", plan.id)


@login_required
@require_POST
def plan_action(request: HttpRequest, plan_id: int, action: str) -> HttpResponse:
    plan = plans_read.plan_for_member(request.user, plan_id)
    return _act(request, plan, action, actions=MEMBER_ACTIONS, page=_member_page, detail="plans:plan_detail")


# --- Action plans: institution analysts --------------------------------------------------------


def _require_analyst(request: HttpRequest) -> None:
    if not request.user.is_superuser and not plans_read.is_analyst(request.user):
        raise Http404


@login_required
@require_GET
def institution_plans(request: HttpRequest) -> HttpResponse:
    _require_analyst(request)
    validated = Q(reports__status__in=Report.VALIDATED)
    rows = (
        plans_read.plans_for_analyst(request.user)
        .select_related("committee")
        .annotate(report_count=Count("reports", filter=validated))
    )
    return render(request, "plans/institution_plan_list.html", {"plans": rows})


def _analyst_page(request: HttpRequest, plan: ActionPlan, *, invalid=None, status: int = 200) -> HttpResponse:
    # Counts only: this page never holds a report's text, code, point or date.
    context = {
        "plan": plan,
        "areas": plan.committee.areas.values_list("name", flat=True),
        "counts": plans_read.plan_report_counts(plan),
        "events": plan.events.only("at", "from_status", "to_status", "note", "plan_id"),
        "actions": _offered(plan, ANALYST_ACTIONS, invalid or {}),
    }
    return render(request, "plans/institution_plan_detail.html", context, status=status)


@login_required
@require_GET
def institution_plan_detail(request: HttpRequest, plan_id: int) -> HttpResponse:
    return _analyst_page(request, plans_read.plan_for_analyst(request.user, plan_id))


@login_required
@require_POST
def institution_plan_action(request: HttpRequest, plan_id: int, action: str) -> HttpResponse:
    plan = plans_read.plan_for_analyst(request.user, plan_id)
    return _act(
        request, plan, action, actions=ANALYST_ACTIONS, page=_analyst_page, detail="plans:institution_plan_detail"
    )
