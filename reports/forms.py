"""The resident's report form: parses and checks input; the service does the writing."""

from datetime import datetime, time, timedelta

from django import forms
from django.conf import settings
from django.contrib.gis.geos import Point
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from community.models import Area, Place
from community.selectors import area_choices, area_for_point, place_choices

from .models import ArmsSighting, Category, Report
from .photos import CleanPhoto, PhotoRejected, clean_photo
from .services import ArmsAnswers

# Django's own messages are not translated into Haitian Creole: every message a resident
# can see is ours.
REQUIRED = _("Please answer this question.")
INVALID_CHOICE = _("Please choose one of the options.")
OUTSIDE = _("This point is outside the areas Convive serves. Please check the spot, or choose a place.")
OLDEST_REPORT = timedelta(days=5 * 365)
CLOCK_SKEW = timedelta(minutes=10)


def _choice(choices, label, **kwargs) -> forms.ChoiceField:
    return forms.ChoiceField(
        label=label,
        choices=[("", "—"), *choices],
        required=False,
        error_messages={"invalid_choice": INVALID_CHOICE},
        **kwargs,
    )


class CategoryChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Category) -> str:
        return obj.name


class PlaceChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Place) -> str:
        return f"{obj.name} — {obj.area.name}"


class AreaChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Area) -> str:
        return obj.name if obj.parent is None else f"{obj.name} — {obj.parent.name}"


class MultiplePhotoInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class PhotosField(forms.FileField):
    widget = MultiplePhotoInput

    def to_python(self, data):
        if not data:
            return []
        return data if isinstance(data, list) else [data]

    def validate(self, value) -> None:
        if len(value) > settings.PHOTO_MAX_PER_REPORT:
            raise forms.ValidationError(
                _("You can attach up to %(count)s photos."), params={"count": settings.PHOTO_MAX_PER_REPORT}
            )


class ReportForm(forms.Form):
    category = CategoryChoiceField(
        label=_("What happened?"),
        queryset=Category.objects.none(),
        widget=forms.RadioSelect,
        empty_label=None,
        error_messages={"required": _("Please choose what happened."), "invalid_choice": INVALID_CHOICE},
    )
    weapon_type = _choice(ArmsSighting.WeaponType.choices, _("What kind of weapon?"))
    weapon_count = _choice(ArmsSighting.CountBand.choices, _("How many weapons?"))
    activity = _choice(ArmsSighting.Activity.choices, _("What was being done with it?"))
    people_count = _choice(ArmsSighting.CountBand.choices, _("How many people were involved?"))

    latitude = forms.FloatField(
        label=_("Latitude"),
        required=False,
        min_value=-90,
        max_value=90,
        error_messages={
            "invalid": _("Enter the latitude as a number, such as 15.5043."),
            "min_value": _("The latitude must be between -90 and 90."),
            "max_value": _("The latitude must be between -90 and 90."),
        },
    )
    longitude = forms.FloatField(
        label=_("Longitude"),
        required=False,
        min_value=-180,
        max_value=180,
        error_messages={
            "invalid": _("Enter the longitude as a number, such as -88.0250."),
            "min_value": _("The longitude must be between -180 and 180."),
            "max_value": _("The longitude must be between -180 and 180."),
        },
    )
    location_source = forms.ChoiceField(
        choices=[(Report.LocationSource.MAP, ""), (Report.LocationSource.GPS, "")],
        required=False,
        widget=forms.HiddenInput,
    )
    place = PlaceChoiceField(
        label=_("Or choose a known place"),
        queryset=Place.objects.none(),
        required=False,
        empty_label="—",
        error_messages={"invalid_choice": INVALID_CHOICE},
    )
    area = AreaChoiceField(
        label=_("Or choose the neighbourhood"),
        queryset=Area.objects.none(),
        required=False,
        empty_label="—",
        error_messages={"invalid_choice": INVALID_CHOICE},
    )
    occurred_date = forms.DateField(
        label=_("On what day?"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        input_formats=["%Y-%m-%d", "%d/%m/%Y"],
        error_messages={
            "required": _("Please tell us the day."),
            "invalid": _("Enter the day as DD/MM/YYYY, for example 24/03/2026."),
        },
    )
    occurred_time = forms.TimeField(
        label=_("At what time? (if you know)"),
        required=False,
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        input_formats=["%H:%M", "%H:%M:%S"],
        error_messages={"invalid": _("Enter the time as HH:MM, for example 21:30.")},
    )
    description = forms.CharField(
        label=_("Describe what happened"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 5, "maxlength": 2000}),
        help_text=_("Do not write your name or phone number."),
        error_messages={
            "required": _("Please describe what happened."),
            "max_length": _("Please use at most %(limit_value)d characters (the description has %(show_value)d)."),
        },
    )
    affected_sex = _choice(Report.Sex.choices, _("Sex of the person affected (optional)"))
    affected_age_band = _choice(Report.AgeBand.choices, _("Age of the person affected (optional)"))
    photos = PhotosField(
        label=_("Photos (optional)"),
        required=False,
        widget=MultiplePhotoInput(attrs={"accept": "image/jpeg,image/png,image/webp,image/heic,image/heif"}),
        help_text=_("Photos are cleaned of hidden data such as GPS position before they are stored."),
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = Category.objects.filter(is_active=True)
        self.fields["place"].queryset = place_choices()
        self.fields["area"].queryset = area_choices()
        if not self.is_bound:
            self.initial.setdefault("occurred_date", timezone.localdate())

    def clean_description(self) -> str:
        return self.cleaned_data["description"].replace("\x00", "").strip()

    def clean_photos(self) -> list[CleanPhoto]:
        cleaned = []
        for upload in self.cleaned_data.get("photos") or []:
            try:
                cleaned.append(clean_photo(upload))
            except PhotoRejected as exc:
                raise forms.ValidationError(
                    _("%(name)s: %(reason)s"), params={"name": upload.name[:60], "reason": exc}
                ) from exc
        return cleaned

    def clean(self) -> dict:
        data = super().clean()
        self._clean_arms(data)
        self._clean_location(data)
        self._clean_when(data)
        return data

    def _clean_arms(self, data: dict) -> None:
        category = data.get("category")
        if category is None or not category.is_arms:
            return
        for name in ("weapon_type", "activity"):
            if not data.get(name):
                self.add_error(name, _("Please answer this question, or choose “I don't know”."))
        if self.errors:
            return
        data["arms"] = ArmsAnswers(
            weapon_type=data["weapon_type"],
            weapon_count=data.get("weapon_count") or ArmsSighting.CountBand.UNKNOWN,
            activity=data["activity"],
            people_count=data.get("people_count") or ArmsSighting.CountBand.UNKNOWN,
        )

    def _clean_location(self, data: dict) -> None:
        lat, lon = data.get("latitude"), data.get("longitude")
        if "latitude" in self.errors or "longitude" in self.errors:
            return
        if (lat is None) != (lon is None):
            self.add_error("latitude", _("The point is incomplete: give both latitude and longitude."))
        elif lat is not None:
            self._locate_point(data, Point(lon, lat, srid=4326), data.get("location_source") or "map")
        elif data.get("place") is not None:
            self._locate_point(data, data["place"].point, Report.LocationSource.PLACE)
        elif data.get("area") is not None:
            data.update(location=None, location_source=Report.LocationSource.AREA, resolved_area=data["area"])
        elif "place" not in self.errors and "area" not in self.errors:
            self.add_error(
                None, _("Please tell us where it happened: tap the map, use your location, or choose a place.")
            )

    def _locate_point(self, data: dict, point: Point, source: str) -> None:
        area = area_for_point(point)
        if area is None:
            self.add_error("latitude", OUTSIDE)
            return
        data.update(location=point, location_source=source, resolved_area=area)

    def _clean_when(self, data: dict) -> None:
        day = data.get("occurred_date")
        if day is None:
            return
        at = data.get("occurred_time")
        occurred = timezone.make_aware(datetime.combine(day, at or time(12, 0)))
        now = timezone.now()
        if at is None and day == timezone.localdate():
            occurred = min(occurred, now)
        if occurred > now + CLOCK_SKEW:
            self.add_error("occurred_date" if at is None else "occurred_time", _("This is in the future."))
        elif occurred < now - OLDEST_REPORT:
            self.add_error("occurred_date", _("Please report things from the last five years."))
        data["occurred_at"] = occurred
        data["occurred_precision"] = Report.Precision.DAY if at is None else Report.Precision.TIME
