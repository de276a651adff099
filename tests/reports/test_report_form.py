"""The resident's web form: what it stores, and every way it refuses input without storing anything."""

import io
import os
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from reports.models import ArmsSighting, Category, Photo, Report, TriageEvent

pytestmark = pytest.mark.django_db


def jpeg(name: str = "photo.jpg", size=(64, 48)) -> SimpleUploadedFile:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, format="JPEG")
    return SimpleUploadedFile(name, out.getvalue(), content_type="image/jpeg")


def form_data(geo, **overrides) -> dict:
    data = {
        "category": Category.objects.get(code="assault").pk,
        "latitude": geo["west_point"].y,
        "longitude": geo["west_point"].x,
        "location_source": "map",
        "occurred_date": timezone.localdate().isoformat(),
        "occurred_time": "",
        "description": "Two men beat a boy at the bus stop.",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def arms_data(geo, **overrides) -> dict:
    answers = {
        "category": Category.objects.get(code="gunfire").pk,
        "weapon_type": "handgun",
        "weapon_count": "2-5",
        "activity": "fired",
        "people_count": "1",
    }
    answers.update(overrides)
    return form_data(geo, **answers)


def assert_nothing_stored(settings) -> None:
    assert Report.objects.count() == 0
    assert ArmsSighting.objects.count() == 0
    assert Photo.objects.count() == 0
    assert TriageEvent.objects.count() == 0
    stored = [files for _, _, files in os.walk(settings.MEDIA_ROOT) if files]
    assert stored == []


def post(client, data):
    return client.post("/report/", data, HTTP_ACCEPT_LANGUAGE="en")


def test_it_shows_the_form_with_categories_and_places(client, geo):
    response = client.get("/report/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    body = response.content.decode()
    assert "Armed person or weapon seen" in body
    assert "Parque Central" in body
    assert 'id="quick-exit"' in body
    assert "cdn" not in body.lower()


def test_it_stores_a_report_and_shows_the_code_once(client, geo):
    yesterday = (timezone.localdate() - timedelta(days=1)).isoformat()
    response = post(client, form_data(geo, occurred_date=yesterday, occurred_time="21:30"))
    assert response.status_code == 302
    assert response["Location"] == "/report/sent/"
    report = Report.objects.get()
    assert report.area == geo["west"]
    assert report.channel == Report.Channel.WEB
    assert report.status == Report.Status.NEW
    assert report.occurred_precision == Report.Precision.TIME
    assert timezone.localtime(report.occurred_at).strftime("%H:%M") == "21:30"
    assert report.language == "en"
    assert list(report.events.values_list("from_status", "to_status")) == [("", "new")]

    sent = client.get("/report/sent/")
    assert report.formatted_code() in sent.content.decode()
    assert sent["Cache-Control"] == "no-store"
    # The code is shown once: a reload (or someone else later on this phone) does not see it.
    assert client.get("/report/sent/")["Location"] == "/track/"


def test_it_stores_the_arms_answers_for_an_arms_category(client, geo):
    assert post(client, arms_data(geo)).status_code == 302
    arms = Report.objects.get().arms
    assert (arms.weapon_type, arms.weapon_count, arms.activity, arms.people_count) == ("handgun", "2-5", "fired", "1")


def test_it_fills_unknown_counts_when_left_blank(client, geo):
    assert post(client, arms_data(geo, weapon_count="", people_count="")).status_code == 302
    arms = Report.objects.get().arms
    assert (arms.weapon_count, arms.people_count) == ("unknown", "unknown")


def test_it_ignores_arms_answers_for_other_categories(client, geo):
    data = form_data(geo, weapon_type="handgun", activity="fired")
    assert post(client, data).status_code == 302
    assert ArmsSighting.objects.count() == 0


def test_it_locates_by_place_name(client, geo):
    data = form_data(geo, latitude="", longitude="", place=geo["place"].pk)
    assert post(client, data).status_code == 302
    report = Report.objects.get()
    assert report.location_source == Report.LocationSource.PLACE
    assert report.area == geo["west"]
    assert report.location.equals(geo["place"].point)


def test_it_accepts_an_area_only_report(client, geo):
    data = form_data(geo, latitude="", longitude="", area=geo["east"].pk)
    assert post(client, data).status_code == 302
    report = Report.objects.get()
    assert (report.location, report.location_source, report.area) == (None, "area", geo["east"])


def test_it_records_device_location(client, geo):
    assert post(client, form_data(geo, location_source="gps")).status_code == 302
    assert Report.objects.get().location_source == Report.LocationSource.GPS


def test_it_stores_photos_without_the_original_bytes(client, geo, settings):
    upload = jpeg()
    original = upload.read()
    upload.seek(0)
    assert post(client, form_data(geo, photos=[upload, jpeg("b.png")])).status_code == 302
    photos = Report.objects.get().photos.all()
    assert len(photos) == 2
    for photo in photos:
        with open(photo.image.path, "rb") as fh:
            assert fh.read() != original


ERROR_CASES = {
    "no category": ({"category": ""}, "Please choose what happened."),
    "unknown category": ({"category": "99999"}, "Please choose one of the options."),
    "arms without weapon type": ({"_arms": True, "weapon_type": ""}, "Please answer this question, or choose"),
    "arms without activity": ({"_arms": True, "activity": ""}, "Please answer this question, or choose"),
    "bad weapon type": ({"_arms": True, "weapon_type": "bazooka"}, "Please choose one of the options."),
    "no place at all": ({"latitude": "", "longitude": ""}, "Please tell us where it happened"),
    "point outside every area": ({"latitude": "10.0", "longitude": "-60.0"}, "outside the areas Convive serves"),
    "latitude only": ({"longitude": ""}, "give both latitude and longitude"),
    "latitude not a number": ({"latitude": "north"}, "Enter the latitude as a number"),
    "latitude out of range": ({"latitude": "123"}, "The latitude must be between -90 and 90."),
    "unknown place": ({"latitude": "", "longitude": "", "place": "424242"}, "Please choose one of the options."),
    "unknown area": ({"latitude": "", "longitude": "", "area": "424242"}, "Please choose one of the options."),
    "no day": ({"occurred_date": ""}, "Please tell us the day."),
    "malformed day": ({"occurred_date": "yesterday"}, "Enter the day as DD/MM/YYYY"),
    "malformed time": ({"occurred_time": "25:99"}, "Enter the time as HH:MM"),
    "future day": ({"_future": True}, "This is in the future."),
    "too long ago": ({"occurred_date": "2001-01-01"}, "last five years"),
    "no description": ({"description": ""}, "Please describe what happened."),
    "description too long": ({"description": "x" * 2001}, "at most 2000 characters"),
    "bad sex": ({"affected_sex": "robot"}, "Please choose one of the options."),
    "bad age band": ({"affected_age_band": "200+"}, "Please choose one of the options."),
}


@pytest.mark.parametrize("case", ERROR_CASES, ids=list(ERROR_CASES))
def test_it_refuses_bad_input_and_stores_nothing(client, geo, settings, case):
    overrides, message = ERROR_CASES[case]
    overrides = dict(overrides)
    if overrides.pop("_future", False):
        overrides["occurred_date"] = (timezone.localdate() + timedelta(days=2)).isoformat()
    builder = arms_data if overrides.pop("_arms", False) else form_data
    response = post(client, builder(geo, **overrides))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert 'role="alert"' in response.content.decode()
    assert_nothing_stored(settings)


def _photo_error(client, geo, settings, photos) -> str:
    response = post(client, form_data(geo, photos=photos))
    assert response.status_code == 400
    assert_nothing_stored(settings)
    return response.content.decode()


def test_it_refuses_a_file_that_is_not_a_photo(client, geo, settings):
    fake = SimpleUploadedFile("cv.jpg", b"%PDF-1.4 not really a photo", content_type="image/jpeg")
    assert "not a photo we can read" in _photo_error(client, geo, settings, [jpeg(), fake])


def test_it_refuses_an_oversize_photo(client, geo, settings):
    settings.PHOTO_MAX_BYTES = 1024
    assert "The photo is too large" in _photo_error(client, geo, settings, [jpeg(size=(800, 800))])


def test_it_refuses_too_many_photos(client, geo, settings):
    settings.PHOTO_MAX_PER_REPORT = 2
    assert "up to 2 photos" in _photo_error(client, geo, settings, [jpeg(), jpeg(), jpeg()])


def test_it_keeps_what_the_resident_typed_after_an_error(client, geo):
    response = post(client, form_data(geo, description="Gunshots near the school", occurred_date=""))
    assert "Gunshots near the school" in response.content.decode()


def test_it_refuses_other_methods(client, geo):
    assert client.put("/report/").status_code == 405
