"""Forms for action plans: they parse and check input; the services do the writing."""

from django import forms
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from community.models import ActionPlan, Committee

from .models import Report


class ReportChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Report) -> str:
        return f"{obj.formatted_code()} · {obj.category.name} · {obj.area.name} · {obj.occurred_at:%Y-%m-%d}"


class PlanForm(forms.ModelForm):
    """A draft plan. The committee is asked only of those with a choice (several committees, or an
    administrator); the reports offered come from the caller, already narrowed to what the user may see."""

    committee = forms.ModelChoiceField(label=_("Committee"), queryset=Committee.objects.none(), empty_label=None)
    reports = ReportChoiceField(
        label=_("Linked reports"),
        queryset=Report.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Verified reports of the committee's areas. Linking a report puts it in action."),
    )

    class Meta:
        model = ActionPlan
        fields = ("title", "problem_summary", "measures", "responsible_party", "support_requested", "due_date")
        widgets = {
            "problem_summary": forms.Textarea(attrs={"rows": 4}),
            "measures": forms.Textarea(attrs={"rows": 4}),
            "support_requested": forms.Textarea(attrs={"rows": 3}),
            "due_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        }
        help_texts = {
            # Institutions read the plan: the pattern, not the people in it.
            "problem_summary": _(
                "Institutions read this. Describe the pattern; leave out names, addresses and report codes."
            ),
        }

    def __init__(
        self,
        *args,
        reports: QuerySet[Report],
        committees: QuerySet[Committee] | None = None,
        committee: Committee | None = None,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.fields["reports"].queryset = reports
        if not reports.exists():
            self.fields["reports"].help_text = _("There are no verified reports to link yet.")
        # Editing keeps the plan's committee; a member of one committee is not asked.
        if committee is None and committees is not None and len(committees) == 1:
            committee = committees[0]
        self.fixed_committee = committee
        if committee is not None:
            del self.fields["committee"]
        else:
            self.fields["committee"].queryset = committees

    def chosen_committee(self) -> Committee | None:
        return self.fixed_committee or self.cleaned_data.get("committee")

    def clean_due_date(self):
        due = self.cleaned_data["due_date"]
        if due is not None and due < timezone.localdate():
            raise forms.ValidationError(_("The due date cannot be in the past."))
        return due

    def clean(self) -> dict:
        data = super().clean()
        committee = self.chosen_committee()
        if committee is not None and data.get("reports"):
            served = set(committee.areas.values_list("id", flat=True))
            outside = [report for report in data["reports"] if not served.intersection(report.area_path)]
            if outside:
                codes = ", ".join(report.formatted_code() for report in outside)
                self.add_error(
                    "reports",
                    _("These reports are outside the areas the committee serves: %(codes)s.") % {"codes": codes},
                )
        return data


class NoteForm(forms.Form):
    note = forms.CharField(label=_("Note (optional)"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


class SubmitForm(forms.Form):
    pass


class DeclineForm(forms.Form):
    reason = forms.CharField(label=_("Reason for declining"), widget=forms.Textarea(attrs={"rows": 3}))


class ProgressForm(forms.Form):
    note = forms.CharField(label=_("Progress made"), widget=forms.Textarea(attrs={"rows": 3}))


class VerifyForm(forms.Form):
    verification = forms.CharField(
        label=_("How the community verified it"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("For example: a neighbourhood meeting, a walk-through, a survey."),
    )
