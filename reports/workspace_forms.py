"""Forms of the report detail's triage actions: they parse and check input; services write.

Every form takes the report, the member and the committees serving the report, so that choices
(members to assign, plans to link, the original of a duplicate) stay within what the member may see.
"""

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.http import Http404
from django.utils.translation import gettext_lazy as _

from community.models import ActionPlan

from .models import Report
from .selectors import normalise_tracking_code, report_for_user

NOTE_MAX = 4000
INVALID_CHOICE = _("Please choose one of the options.")
TOO_LONG = _("Please keep it to at most %(limit_value)d characters.")


def assignable_members(committee_ids: list[int]) -> QuerySet:
    """Members of the committees serving a report: the only people it can be assigned to."""
    return (
        get_user_model()
        .objects.filter(is_active=True, memberships__committee_id__in=committee_ids)
        .distinct()
        .order_by("username")
    )


def linkable_plans(committee_ids: list[int]) -> QuerySet[ActionPlan]:
    """Plans of those committees that are still open (not verified by the community, not declined)."""
    return (
        ActionPlan.objects.filter(committee_id__in=committee_ids)
        .exclude(status__in=[ActionPlan.Status.VERIFIED, ActionPlan.Status.DECLINED])
        .select_related("committee")
        .order_by("-updated_at", "-id")
    )


def _text(label, *, required: bool, required_message=None) -> forms.CharField:
    messages = {"max_length": TOO_LONG}
    if required_message:
        messages["required"] = required_message
    return forms.CharField(
        label=label,
        required=required,
        max_length=NOTE_MAX,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages=messages,
    )


class ActionForm(forms.Form):
    action = ""

    def __init__(self, *args, report: Report, user, committee_ids: list[int], **kwargs):
        self.report, self.user, self.committee_ids = report, user, committee_ids
        kwargs.setdefault("auto_id", f"id_{self.action}_%s")
        super().__init__(*args, **kwargs)


class VerifyForm(ActionForm):
    action = "verify"
    note = _text(_("Internal note (optional)"), required=False)


class ResolveForm(ActionForm):
    action = "resolve"
    note = _text(_("Internal note (optional)"), required=False)


class RejectForm(ActionForm):
    action = "reject"
    reason = _text(_("Reason"), required=True, required_message=_("Please say why this report is rejected."))


class DuplicateForm(ActionForm):
    action = "duplicate"
    # Rendered by hand as radio buttons over the suggested duplicates.
    original = forms.IntegerField(required=False, widget=forms.HiddenInput)
    code = forms.CharField(
        label=_("or the code of another report"),
        required=False,
        max_length=20,
        error_messages={"max_length": TOO_LONG},
    )
    note = _text(_("Internal note (optional)"), required=False)

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        data["original"] = self._original(data.get("code", "").strip(), data.get("original"))
        return data

    def _original(self, code: str, chosen_id: int | None) -> Report:
        if code:
            normalised = normalise_tracking_code(code)
            found = Report.objects.filter(tracking_code=normalised).values_list("pk", flat=True).first()
        elif chosen_id is not None:
            found = chosen_id
        else:
            raise forms.ValidationError(_("Please choose a suggested report or type another report's code."))
        # The access check decides: an unknown code and another committee's report read the same.
        original = self._visible(found)
        if original.pk == self.report.pk or original.duplicate_of_id == self.report.pk:
            raise forms.ValidationError(_("A report cannot be a duplicate of itself."))
        if original.duplicate_of_id is not None:
            # The merge points at the original's own original: that one must be visible too.
            self._visible(original.duplicate_of_id)
        return original

    def _visible(self, report_id: int | None) -> Report:
        try:
            if report_id is None:
                raise Http404
            return report_for_user(self.user, report_id)
        except Http404:
            raise forms.ValidationError(_("There is no such report among the reports you can see.")) from None


class PriorityForm(ActionForm):
    action = "priority"
    priority = forms.TypedChoiceField(
        label=_("Priority"),
        choices=Report.Priority.choices,
        coerce=int,
        error_messages={"required": INVALID_CHOICE, "invalid_choice": INVALID_CHOICE},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["priority"].initial = self.report.priority


class MemberChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return obj.get_full_name() or obj.get_username()


class AssignForm(ActionForm):
    action = "assign"
    assignee = MemberChoiceField(
        label=_("Assign to"),
        queryset=get_user_model().objects.none(),
        required=False,
        empty_label=_("Nobody"),
        error_messages={"invalid_choice": _("Please choose a member of a committee serving this report.")},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = assignable_members(self.committee_ids)
        self.fields["assignee"].initial = self.report.assigned_to_id


class NoteForm(ActionForm):
    action = "note"
    text = _text(_("Note"), required=True, required_message=_("Please write the note."))


class PlanChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: ActionPlan) -> str:
        return f"{obj.title} — {obj.committee.name} ({obj.get_status_display()})"


class PlanForm(ActionForm):
    action = "plan"
    plan = PlanChoiceField(
        label=_("Action plan"),
        queryset=ActionPlan.objects.none(),
        empty_label="—",
        error_messages={
            "required": _("Please choose an action plan."),
            "invalid_choice": _("Please choose an open action plan of a committee serving this report."),
        },
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["plan"].queryset = linkable_plans(self.committee_ids)


ACTION_FORMS: dict[str, type[ActionForm]] = {
    form.action: form
    for form in (VerifyForm, RejectForm, DuplicateForm, PriorityForm, AssignForm, NoteForm, PlanForm, ResolveForm)
}
