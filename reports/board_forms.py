"""The board's filters: a GET form that narrows a queryset the access check already limited."""

from datetime import date, datetime, time, timedelta

from django import forms
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _

from community.models import Area

from .models import TRACKING_ALPHABET, Category, Report
from .selectors import normalise_tracking_code

# A fragment this long is worth matching inside tracking codes ("ABCDE" from a torn note).
CODE_FRAGMENT_MIN = 4
# A browser's date picker reads and writes ISO dates whatever the page's language.
DATE_INPUT = forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"})


def _blank(label) -> list[tuple[str, str]]:
    return [("", label)]


class BoardFilterForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), required=False)
    category = forms.ChoiceField(label=_("Category"), required=False)
    area = forms.TypedChoiceField(label=_("Area"), required=False, coerce=int, empty_value=None)
    date_from = forms.DateField(label=_("Received from"), required=False, widget=DATE_INPUT)
    date_to = forms.DateField(label=_("Received until"), required=False, widget=DATE_INPUT)
    channel = forms.ChoiceField(label=_("Channel"), required=False)
    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=200,
        widget=forms.SearchInput(attrs={"placeholder": _("Words or tracking code")}),
    )

    def __init__(self, data, *, categories: list[Category], areas: list[Area]) -> None:
        super().__init__(data)
        self.fields["status"].choices = _blank(_("All statuses")) + list(Report.Status.choices)
        self.fields["channel"].choices = _blank(_("All channels")) + list(Report.Channel.choices)
        self.fields["category"].choices = _blank(_("All categories")) + [(c.code, c.name) for c in categories]
        self.fields["area"].choices = _blank(_("All my areas")) + [(a.id, _area_label(a)) for a in areas]

    def clean(self) -> dict:
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", _("The end date is before the start date."))
        return data

    def valid_data(self) -> dict:
        """The filters that passed validation: a bad field is reported and ignored, not guessed."""
        self.is_valid()
        return {name: value for name, value in self.cleaned_data.items() if name not in self.errors and value}

    def query_string(self) -> str:
        """The valid filters as a query string, for the map and the page links."""
        data = self.valid_data()
        return urlencode(
            {name: (value.isoformat() if isinstance(value, date) else value) for name, value in data.items()}
        )


def _area_label(area: Area) -> str:
    return f"{area.name} ({area.get_level_display()})"


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_default_timezone())


def reports_filter(queryset: QuerySet[Report], filters: dict) -> QuerySet[Report]:
    """Narrow an already access-checked queryset by valid filters (see BoardFilterForm.valid_data)."""
    if "status" in filters:
        queryset = queryset.filter(status=filters["status"])
    if "category" in filters:
        queryset = queryset.filter(category__code=filters["category"])
    if "channel" in filters:
        queryset = queryset.filter(channel=filters["channel"])
    if "area" in filters:
        # The area and everything below it: reports carry their area's ancestors.
        queryset = queryset.filter(area_path__contains=[filters["area"]])
    if "date_from" in filters:
        queryset = queryset.filter(created_at__gte=_day_start(filters["date_from"]))
    if "date_to" in filters:
        queryset = queryset.filter(created_at__lt=_day_start(filters["date_to"] + timedelta(days=1)))
    if "q" in filters:
        queryset = queryset.filter(_text_match(filters["q"]))
    return queryset


def _text_match(text: str) -> Q:
    match = Q(description__icontains=text)
    code = normalise_tracking_code(text)
    if code:
        return match | Q(tracking_code=code)
    fragment = "".join(ch for ch in text.upper() if ch.isalnum())
    if len(fragment) >= CODE_FRAGMENT_MIN and set(fragment) <= set(TRACKING_ALPHABET):
        match |= Q(tracking_code__contains=fragment)
    return match
