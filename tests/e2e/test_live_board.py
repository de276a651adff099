"""A committee member keeps the board open; a resident reports from a phone; the report shows up
on the board without a reload, through the websocket at /ws/committee/<id>/."""

import pytest
from playwright.sync_api import expect

from reports.models import Report

pytestmark = pytest.mark.e2e

DESKTOP = {"viewport": {"width": 1280, "height": 800}, "is_mobile": False, "has_touch": False}


@pytest.fixture
def in_memory_layer(settings):
    # One process serves the pages and the pushes; pinned so that REDIS_URL in the environment
    # does not put this test on a layer shared with other runs (tests/reports/test_live.py covers Redis).
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}


def test_it_shows_a_new_report_on_an_open_board_without_a_reload(live_site, open_page, cast, geo, in_memory_layer):
    board = open_page(user=cast["member_a"], **DESKTOP)
    board.goto(live_site.url("/committee/"))
    expect(board.locator("#live-status")).to_have_attribute("data-state", "connected")
    expect(board.locator("#board-rows tr[data-report-id]")).to_have_count(0)
    board.evaluate("window.stillTheSamePage = true")

    resident = open_page()
    resident.goto(live_site.url("/report/"))
    resident.get_by_role("radio", name="Assault").check()
    resident.locator("#coords summary").click()
    point = geo["west_point"]
    resident.fill("#id_latitude", str(point.y))
    resident.fill("#id_longitude", str(point.x))
    resident.fill("#id_description", "Two men beat a boy outside the football pitch.")
    resident.click("#submit-report")
    expect(resident).to_have_url(live_site.url("/report/sent/"))
    code = resident.locator("#tracking-code").inner_text().strip()

    report = Report.objects.get(area=geo["west"])
    assert report.formatted_code() == code
    row = board.locator(f'#board-rows tr[data-report-id="{report.id}"]')
    expect(row).to_contain_text(code)
    expect(row).to_contain_text(geo["west"].name)
    assert board.evaluate("window.stillTheSamePage") is True
    expect(board.locator("#live-status")).to_have_attribute("data-state", "connected")
