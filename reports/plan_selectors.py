"""Reads of action plans, and the one access check for each side of a plan.

Committee members see their committees' plans in full, with the reports they may see. Institution
analysts see the plans their jurisdiction's committees have submitted, and of the linked reports
only counts: never a report's text, code, point or date.
"""

from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncMonth
from django.shortcuts import get_object_or_404

from community.models import ActionPlan, Committee
from community.selectors import area_descendant_ids, committee_ids_for, jurisdiction_area_ids

from .models import Category, Report
from .selectors import reports_for_user


def member_committees(user) -> QuerySet[Committee]:
    """Committees the user may draft plans for: their own; every one for administrators."""
    if not user.is_authenticated:
        return Committee.objects.none()
    if user.is_superuser:
        return Committee.objects.all()
    return Committee.objects.filter(pk__in=committee_ids_for(user))


def plans_for_member(user) -> QuerySet[ActionPlan]:
    if not user.is_authenticated:
        return ActionPlan.objects.none()
    if user.is_superuser:
        return ActionPlan.objects.all()
    return ActionPlan.objects.filter(committee_id__in=committee_ids_for(user))


def plan_for_member(user, plan_id: int) -> ActionPlan:
    """A plan of one of the user's committees, or 404 (never 403: existence does not leak)."""
    return get_object_or_404(plans_for_member(user).select_related("committee", "created_by"), pk=plan_id)


def is_analyst(user) -> bool:
    return user.is_authenticated and user.institutions.exists()


def plans_for_analyst(user) -> QuerySet[ActionPlan]:
    """Submitted-or-later plans of the committees serving an area within the user's jurisdiction."""
    if not user.is_authenticated:
        return ActionPlan.objects.none()
    # Drafts stay with the committee until it submits them.
    visible = ActionPlan.objects.exclude(status=ActionPlan.Status.DRAFT)
    if user.is_superuser:
        return visible
    areas = area_descendant_ids(jurisdiction_area_ids(user))
    if not areas:
        return ActionPlan.objects.none()
    committees = Committee.areas.through.objects.filter(area_id__in=areas).values("committee_id")
    return visible.filter(committee_id__in=committees)


def plan_for_analyst(user, plan_id: int) -> ActionPlan:
    """A plan the analyst's institution may answer, or 404."""
    return get_object_or_404(plans_for_analyst(user).select_related("committee"), pk=plan_id)


def plan_reports_for_member(user, plan: ActionPlan) -> QuerySet[Report]:
    return reports_for_user(user).filter(action_plan=plan).select_related("category", "area")


def linkable_reports(user, *, plan: ActionPlan | None = None) -> QuerySet[Report]:
    """Reports a member may link to a plan: verified ones the user can see, those already linked
    to this plan, and those left linked to a declined plan; for an existing plan, of its committee's areas."""
    linkable = Q(status=Report.Status.VERIFIED) | Q(
        status=Report.Status.IN_ACTION, action_plan__status=ActionPlan.Status.DECLINED
    )
    reports = reports_for_user(user)
    if plan is not None:
        linkable |= Q(action_plan=plan)
        # Only the plan's own committee's areas: a member of two committees keeps them apart.
        reports = reports.filter(area_path__overlap=list(plan.committee.areas.values_list("id", flat=True)))
    return reports.filter(linkable).select_related("category", "area").order_by("-occurred_at", "id")


@dataclass(frozen=True)
class CountRow:
    label: str
    count: int | None  # None: withheld


@dataclass(frozen=True)
class MonthRow:
    month: date
    count: int | None


@dataclass(frozen=True)
class PlanReportCounts:
    total: int | None  # None: fewer than the threshold
    by_category: list[CountRow]
    by_month: list[MonthRow]
    threshold: int


def withheld_positions(counts: list[int], *, threshold: int) -> set[int]:
    """Which counts of a list published with its total to withhold: every one from 1 to
    threshold-1, and then the smallest others until no withheld count can be worked out from the
    total and the rest (at least two withheld, adding up to the threshold or more)."""
    withheld = {index for index, count in enumerate(counts) if 0 < count < threshold}
    if not withheld:
        return withheld
    others = sorted((count, index) for index, count in enumerate(counts) if count >= threshold)
    while others and (len(withheld) < 2 or sum(counts[index] for index in withheld) < threshold):
        withheld.add(others.pop(0)[1])
    return withheld


def plan_report_counts(plan: ActionPlan) -> PlanReportCounts:
    """How many linked reports, by category and by month of occurrence: counts only, for institutions,
    with small counts withheld as in every aggregate an institution sees."""
    threshold = settings.INSIGHTS_SUPPRESSION_THRESHOLD
    reports = Report.objects.filter(action_plan=plan, status__in=Report.VALIDATED)
    per_category = dict(reports.values_list("category").annotate(n=Count("id")).order_by())
    categories = list(Category.objects.filter(pk__in=per_category).order_by("sort_order", "code"))
    months = reports.annotate(month=TruncMonth("occurred_at")).values_list("month").annotate(n=Count("id"))
    months = list(months.order_by("month"))
    total = sum(per_category.values())
    if total < threshold:
        # Too few to say anything: not even how they split.
        return PlanReportCounts(total=None if total else 0, by_category=[], by_month=[], threshold=threshold)
    category_counts = [per_category[category.pk] for category in categories]
    hidden = withheld_positions(category_counts, threshold=threshold)
    by_category = [
        CountRow(label=category.name, count=None if index in hidden else count)
        for index, (category, count) in enumerate(zip(categories, category_counts, strict=True))
    ]
    hidden = withheld_positions([n for _month, n in months], threshold=threshold)
    by_month = [
        MonthRow(month=month.date(), count=None if index in hidden else n) for index, (month, n) in enumerate(months)
    ]
    return PlanReportCounts(total=total, by_category=by_category, by_month=by_month, threshold=threshold)
