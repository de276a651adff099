"""Action plans: drafted by committees, answered by institution analysts. Every write, with its
event and audit entry. (The plan model lives in community; its workflow touches reports, so it
lives here, keeping the dependency from reports to community one way.)"""

from collections.abc import Iterable
from datetime import date

from django.db import transaction

from community.models import ActionPlan, ActionPlanEvent, Committee

from .models import Report
from .services import audit_record, report_plan_link, report_status_set

# Who moves a plan where: the committee drafts, submits, marks done and records the community's
# verification; the institution accepts, declines and reports progress (repeatedly).
PLAN_TRANSITIONS: dict[str, set[str]] = {
    ActionPlan.Status.DRAFT: {ActionPlan.Status.SUBMITTED},
    ActionPlan.Status.SUBMITTED: {ActionPlan.Status.ACCEPTED, ActionPlan.Status.DECLINED},
    ActionPlan.Status.ACCEPTED: {ActionPlan.Status.IN_PROGRESS, ActionPlan.Status.DONE},
    ActionPlan.Status.IN_PROGRESS: {ActionPlan.Status.IN_PROGRESS, ActionPlan.Status.DONE},
    ActionPlan.Status.DONE: {ActionPlan.Status.VERIFIED},
}


class PlanRefused(ValueError):
    """The plan cannot move from its status to the one asked, or the input is incomplete."""


def plan_allows(*, status: str, to_status: str) -> bool:
    return to_status in PLAN_TRANSITIONS.get(status, set())


def plan_create(
    *,
    committee: Committee,
    actor,
    title: str,
    problem_summary: str,
    measures: str,
    responsible_party: str,
    support_requested: str = "",
    due_date: date | None = None,
    reports: Iterable[Report] = (),
) -> ActionPlan:
    """A committee's draft, its first event, and its reports linked (verified ones become in action)."""
    with transaction.atomic():
        plan = ActionPlan.objects.create(
            committee=committee,
            created_by=actor,
            title=title,
            problem_summary=problem_summary,
            measures=measures,
            responsible_party=responsible_party,
            support_requested=support_requested,
            due_date=due_date,
        )
        ActionPlanEvent.objects.create(plan=plan, actor=actor, to_status=ActionPlan.Status.DRAFT)
        linked = _plan_reports_link(plan=plan, actor=actor, reports=reports)
        _plan_audit(actor=actor, verb="create", plan=plan, to_status=plan.status, reports=linked)
    return plan


def plan_update(
    *,
    plan: ActionPlan,
    actor,
    title: str,
    problem_summary: str,
    measures: str,
    responsible_party: str,
    support_requested: str = "",
    due_date: date | None = None,
    reports: Iterable[Report] = (),
) -> ActionPlan:
    """Edit a draft: its text, and which reports it links (reports let go are verified again)."""
    reports = list(reports)
    fields = {
        "title": title,
        "problem_summary": problem_summary,
        "measures": measures,
        "responsible_party": responsible_party,
        "support_requested": support_requested,
        "due_date": due_date,
    }
    with transaction.atomic():
        locked = ActionPlan.objects.select_for_update().get(pk=plan.pk)
        if locked.status != ActionPlan.Status.DRAFT:
            raise PlanRefused(f"{locked.status}: only drafts are edited")
        changed = sorted(name for name, value in fields.items() if getattr(locked, name) != value)
        for name in changed:
            setattr(locked, name, fields[name])
        locked.save(update_fields=[*changed, "updated_at"])
        released = _plan_reports_release(plan=locked, actor=actor, keep={report.pk for report in reports})
        linked = _plan_reports_link(plan=locked, actor=actor, reports=reports)
        # An edit is a change too: the history shows it as draft → draft.
        ActionPlanEvent.objects.create(plan=locked, actor=actor, from_status=locked.status, to_status=locked.status)
        _plan_audit(actor=actor, verb="edit", plan=locked, fields=changed, reports=linked, released=released)
    return locked


def _plan_reports_link(*, plan: ActionPlan, actor, reports: Iterable[Report]) -> list[int]:
    linked = []
    for report in reports:
        if report.action_plan_id != plan.pk:
            report_plan_link(report=report, actor=actor, plan=plan)
            linked.append(report.pk)
    return linked


def _plan_reports_release(*, plan: ActionPlan, actor, keep: set[int]) -> list[int]:
    released = []
    for report in Report.objects.filter(action_plan=plan, status=Report.Status.IN_ACTION).exclude(pk__in=keep):
        report_status_set(report=report, actor=actor, to_status=Report.Status.VERIFIED, action_plan=None)
        released.append(report.pk)
    return released


def _plan_audit(*, actor, verb: str, plan: ActionPlan, **detail) -> None:
    audit_record(actor=actor, action=f"plan:{verb}", plan=plan, **detail)


def _plan_move(*, plan: ActionPlan, actor, to_status: str, verb: str, note: str = "", **fields) -> ActionPlan:
    """Move a plan one step, with its event and audit entry; refused unless the step is allowed."""
    with transaction.atomic():
        locked = ActionPlan.objects.select_for_update().get(pk=plan.pk)
        from_status = locked.status
        if not plan_allows(status=from_status, to_status=to_status):
            raise PlanRefused(f"{from_status} → {to_status}")
        for name, value in fields.items():
            setattr(locked, name, value)
        locked.status = to_status
        locked.save(update_fields=["status", "updated_at", *fields])
        ActionPlanEvent.objects.create(
            plan=locked, actor=actor, from_status=from_status, to_status=to_status, note=note
        )
        _plan_audit(actor=actor, verb=verb, plan=locked, from_status=from_status, to_status=to_status)
    return locked


def _required(text: str, what: str) -> str:
    text = text.strip()
    if not text:
        raise PlanRefused(f"{what} is required")
    return text


def plan_submit(*, plan: ActionPlan, actor, note: str = "") -> ActionPlan:
    return _plan_move(plan=plan, actor=actor, to_status=ActionPlan.Status.SUBMITTED, verb="submit", note=note)


def plan_accept(*, plan: ActionPlan, actor, note: str = "") -> ActionPlan:
    return _plan_move(plan=plan, actor=actor, to_status=ActionPlan.Status.ACCEPTED, verb="accept", note=note)


def plan_decline(*, plan: ActionPlan, actor, reason: str) -> ActionPlan:
    reason = _required(reason, "a reason")
    return _plan_move(
        plan=plan, actor=actor, to_status=ActionPlan.Status.DECLINED, verb="decline", note=reason, decline_reason=reason
    )


def plan_progress(*, plan: ActionPlan, actor, note: str) -> ActionPlan:
    note = _required(note, "a progress note")
    return _plan_move(plan=plan, actor=actor, to_status=ActionPlan.Status.IN_PROGRESS, verb="progress", note=note)


def plan_done(*, plan: ActionPlan, actor, note: str = "") -> ActionPlan:
    return _plan_move(plan=plan, actor=actor, to_status=ActionPlan.Status.DONE, verb="done", note=note)


def plan_verify(*, plan: ActionPlan, actor, verification: str) -> ActionPlan:
    verification = _required(verification, "the community's verification")
    return _plan_move(
        plan=plan,
        actor=actor,
        to_status=ActionPlan.Status.VERIFIED,
        verb="verify",
        note=verification,
        verification=verification,
    )
