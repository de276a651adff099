"""The e2e harness itself: the page guard catches what it should, and pages can start logged in."""

import time

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e


def test_it_catches_script_errors_and_requests_off_this_machine(live_site, page, e2e_problems):
    page.goto(live_site.url("/track/"))
    page.evaluate("setTimeout(() => { throw new Error('boom'); }, 0)")
    page.evaluate("fetch('https://tiles.example.org/1/2/3.png').catch(() => {})")
    deadline = time.monotonic() + 5
    while len(e2e_problems) < 2 and time.monotonic() < deadline:
        page.wait_for_timeout(25)
    assert any("JavaScript error" in p and "boom" in p for p in e2e_problems)
    assert "blocked a request off this machine: https://tiles.example.org/1/2/3.png" in e2e_problems
    e2e_problems.clear()  # seen; the test itself passes


def test_it_opens_a_page_logged_in(live_site, open_page):
    admin = get_user_model().objects.create_user("root", is_staff=True, is_superuser=True)
    page = open_page(user=admin, viewport={"width": 1280, "height": 800}, is_mobile=False)
    page.goto(live_site.url("/admin/"))
    expect(page).to_have_url(live_site.url("/admin/"))
    expect(page.locator("#user-tools")).to_contain_text("root")
