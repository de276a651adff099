"""A resident on a phone: reports gunfire with the map and a photo, follows the report by its
code, leaves in a hurry with quick exit, and reads the site in another language."""

import re
import time

import pytest
from django.conf import settings
from django.contrib.gis.geos import Point
from django.utils import timezone, translation
from django.utils.translation import check_for_language
from PIL import Image
from playwright.sync_api import expect

from reports.models import TRACKING_ALPHABET, Report
from reports.selectors import tracking_history
from tests.factories import build_geography

pytestmark = pytest.mark.e2e

CODE = re.compile(rf"^[{TRACKING_ALPHABET}]{{5}}-[{TRACKING_ALPHABET}]{{5}}$")
DESCRIPTION = "Shots fired from a pickup on the main road, around dusk."
ARMS = {"weapon_type": "long_gun", "weapon_count": "2-5", "activity": "fired", "people_count": "6+"}
GPS_IFD = 0x8825


def jpeg_with_gps(path) -> str:
    """What a phone camera sends: a JPEG whose EXIF says where it was taken."""
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    gps = exif.get_ifd(GPS_IFD)
    gps.update({1: "N", 2: (15.0, 30.0, 12.5), 3: "W", 4: (88.0, 6.0, 3.25)})
    Image.new("RGB", (120, 80), (180, 60, 40)).save(path, "JPEG", exif=exif)
    with Image.open(path) as sent:
        assert sent.getexif().get_ifd(GPS_IFD), "the test photo should carry GPS"
    return str(path)


def assert_no_metadata(path) -> None:
    with Image.open(path) as stored:
        assert len(stored.getexif()) == 0
        assert not {"exif", "xmp", "comment", "icc_profile"} & set(stored.info)
    with open(path, "rb") as fh:
        assert b"Exif\x00\x00" not in fh.read()


def settled_box(locator) -> dict:
    """The element's box once the map stops moving: it zooms to the outlines with an animation."""
    previous, deadline = None, time.monotonic() + 5
    while (box := locator.bounding_box()) != previous and time.monotonic() < deadline:
        previous = box
        locator.page.wait_for_timeout(100)
    return box


def tap_inside_area(page, area) -> Point:
    """Tap the map inside the area's outline, off its label; return the point expected there."""
    label = page.locator(".leaflet-tooltip", has_text=area.name)
    expect(label).to_be_visible()
    page.locator("#map").scroll_into_view_if_needed()
    mark = settled_box(label)
    x, y = mark["x"] + mark["width"] / 2, mark["y"] + mark["height"] / 2
    shapes = page.locator(".leaflet-overlay-pane path.leaflet-interactive")
    boxes = [shapes.nth(i).bounding_box() for i in range(shapes.count())]
    (box,) = [b for b in boxes if b["x"] <= x <= b["x"] + b["width"] and b["y"] <= y <= b["y"] + b["height"]]
    fx, fy = 0.3, 0.7
    frame = page.locator("#map").bounding_box()
    page.locator("#map").tap(
        position={"x": box["x"] + fx * box["width"] - frame["x"], "y": box["y"] + fy * box["height"] - frame["y"]}
    )
    # Over a few hundredths of a degree the map's projection is as good as linear.
    west, south, east, north = area.boundary.extent
    return Point(west + fx * (east - west), north - fy * (north - south), srid=4326)


def test_it_takes_a_gunfire_report_from_a_phone_to_the_tracking_page(live_site, page, tmp_path):
    geo = build_geography()
    photo = jpeg_with_gps(tmp_path / "IMG_0042.jpg")
    page.goto(live_site.url("/report/"))

    arms = page.locator("#step-arms")
    expect(arms).to_be_hidden()
    page.get_by_role("radio", name="Gunfire").check()
    expect(arms).to_be_visible()
    for name, value in ARMS.items():
        page.locator(f"#id_{name}").select_option(value)

    expected = tap_inside_area(page, geo["west"])
    expect(page.locator(".leaflet-marker-icon")).to_be_visible()
    tapped = Point(float(page.input_value("#id_longitude")), float(page.input_value("#id_latitude")), srid=4326)
    assert tapped.distance(expected) < 0.005

    expect(page.locator("#id_occurred_date")).to_have_value(timezone.localdate().isoformat())
    page.fill("#id_description", DESCRIPTION)
    page.set_input_files("#id_photos", photo)
    page.screenshot(path=tmp_path / "report-form.png", full_page=True)
    page.click("#submit-report")

    expect(page).to_have_url(live_site.url("/report/sent/"))
    code = page.locator("#tracking-code").inner_text().strip()
    assert CODE.match(code)
    page.click("#track-link")
    expect(page).to_have_url(live_site.url(f"/track/{code.replace('-', '')}/"))
    expect(page.locator("#current-status")).to_have_class(re.compile(r"\bstatus-new\b"))
    expect(page.locator("#current-status")).to_contain_text("Received")
    expect(page.locator("#history li")).to_have_count(1)
    # The status page never says where or what.
    expect(page.locator("main")).not_to_contain_text(DESCRIPTION)
    expect(page.locator("main")).not_to_contain_text(geo["west"].name)

    report = Report.objects.select_related("category", "arms").get()
    assert report.formatted_code() == code
    assert (report.channel, report.category.code, report.status) == ("web", "gunfire", "new")
    assert report.area == geo["west"]
    assert report.location_source == "map"
    assert report.location.distance(tapped) < 1e-5
    assert geo["west"].boundary.contains(report.location)
    assert report.description == DESCRIPTION
    assert report.language == "en"
    answers = {name: getattr(report.arms, name) for name in ARMS}
    assert answers == ARMS
    with translation.override("en"):
        (received,) = tracking_history(report)
    expect(page.locator("#history li")).to_contain_text(received.label)
    stored = report.photos.get()
    assert_no_metadata(stored.image.path)
    assert_no_metadata(stored.thumbnail.path)


@pytest.mark.parametrize("how", ["button", "escape twice"])
def test_it_leaves_by_quick_exit_without_a_way_back(live_site, page, how):
    exit_url = settings.QUICK_EXIT_URL
    referers = []

    def elsewhere(route) -> None:
        referers.append(route.request.header_value("referer"))
        route.fulfill(content_type="text/html", body="<h1>Elsewhere</h1>")

    page.route(lambda url: url == exit_url, elsewhere)
    page.goto(live_site.url("/track/"))
    page.get_by_role("link", name="Report", exact=True).click()
    expect(page).to_have_url(live_site.url("/report/"))
    page.wait_for_load_state()  # quick exit's script is deferred

    if how == "button":
        page.click("#quick-exit")
    else:
        page.keyboard.press("Escape")
        page.keyboard.press("Escape")
    expect(page).to_have_url(exit_url)
    expect(page.locator("h1")).to_have_text("Elsewhere")
    assert referers == [None]  # the other site is not told where the resident came from

    # The report page was replaced in the history: back goes to where the resident was before it.
    page.go_back()
    expect(page).to_have_url(live_site.url("/track/"))


def _translated(language: str, text: str) -> str:
    with translation.override(language):
        return translation.gettext(text)


def test_it_switches_language_from_the_footer(live_site, page):
    build_geography()
    heading = page.locator("h1")
    current = page.locator("footer button[aria-current=true]")
    page.goto(live_site.url("/report/"))
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(current).to_have_attribute("value", "en")
    expect(heading).to_have_text("Report a safety concern")
    expect(page.get_by_role("radio", name="Gunfire")).to_be_visible()

    page.get_by_role("button", name="Español").click()
    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(current).to_have_attribute("value", "es")
    expect(page).to_have_url(live_site.url("/report/"))
    # Category names come from the database in every language; page text from the catalogues.
    expect(page.get_by_role("radio", name="Disparos")).to_be_visible()
    if (settings.BASE_DIR / "locale/es/LC_MESSAGES/django.mo").exists():
        expect(heading).to_have_text(_translated("es", "Report a safety concern"))
        expect(heading).not_to_have_text("Report a safety concern")

    if not check_for_language("ht"):
        pytest.skip("Django offers Haitian Creole only with locale/ht/LC_MESSAGES/django.mo: run compilemessages")
    page.get_by_role("button", name="Kreyòl ayisyen").click()
    expect(page.locator("html")).to_have_attribute("lang", "ht")
    expect(current).to_have_attribute("value", "ht")
    expect(page.get_by_role("radio", name="Tire zam")).to_be_visible()
    expect(heading).to_have_text(_translated("ht", "Report a safety concern"))
