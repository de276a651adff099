"""Logging in: the form, protection against password guessing, logout, sessions that end."""

from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.core.cache.backends import locmem
from django.utils import timezone

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

WRONG = "not the password"


@pytest.fixture(autouse=True)
def _fresh_counters():
    # The local-memory cache outlives a test; attempts counted in one must not refuse the next.
    cache.clear()
    yield
    cache.clear()


def attempt(client, username: str, password: str, address: str = "127.0.0.1", **extra):
    data = {"username": username, "password": password, **extra}
    return client.post("/accounts/login/", data, REMOTE_ADDR=address, HTTP_ACCEPT_LANGUAGE="en")


def logged_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_it_shows_the_form_in_the_workspace_layout(client, cast):
    response = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="en")
    body = response.content.decode()
    assert response.status_code == 200
    assert 'class="workspace"' in body
    assert 'name="username"' in body and 'name="password"' in body


def test_it_sends_a_member_to_the_board(client, cast):
    response = attempt(client, "ana", PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == "/committee/"
    assert logged_in(client)


def test_it_sends_an_analyst_to_the_committee_proposals(client, cast):
    response = attempt(client, "carla", PASSWORD)
    assert response["Location"] == "/institution/plans/"


def test_it_follows_next_within_the_site_only(client, cast):
    assert attempt(client, "ana", PASSWORD, next="/committee/plans/")["Location"] == "/committee/plans/"
    client.post("/accounts/logout/")
    assert attempt(client, "ana", PASSWORD, next="https://evil.example/")["Location"] == "/committee/"


def test_it_sends_someone_logged_in_on_to_the_board(client_for, cast):
    response = client_for(cast["member_a"]).get("/accounts/login/")
    assert response.status_code == 302
    assert response["Location"] == "/committee/"


def test_it_refuses_a_wrong_password(client, cast):
    response = attempt(client, "ana", WRONG)
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()
    assert not logged_in(client)


def test_it_refuses_the_right_password_after_five_wrong_ones(client, cast):
    for _ in range(5):
        assert attempt(client, "ana", WRONG).status_code == 200
    response = attempt(client, "ana", PASSWORD)
    assert response.status_code == 429
    assert "Too many login attempts. Please wait 15 minutes and try again." in response.content.decode()
    assert response["Retry-After"] == "900"
    assert not logged_in(client)


def test_it_throttles_every_username_from_one_address(client, cast):
    for _ in range(5):
        attempt(client, "ana", WRONG, address="203.0.113.7")
    assert attempt(client, "beto", PASSWORD, address="203.0.113.7").status_code == 429
    assert not logged_in(client)
    # Another address is not held back by this one.
    assert attempt(client, "beto", PASSWORD, address="198.51.100.2").status_code == 302


def test_it_throttles_one_username_from_many_addresses(client, cast):
    for number in range(5):
        attempt(client, "ana", WRONG, address=f"203.0.113.{number}")
    assert attempt(client, "ANA ", PASSWORD, address="203.0.113.99").status_code == 429
    assert attempt(client, "ana", PASSWORD, address="203.0.113.99").status_code == 429
    assert attempt(client, "beto", PASSWORD, address="198.51.100.2").status_code == 302


def test_it_counts_attempts_without_a_username_by_address(client, cast):
    for _ in range(5):
        assert attempt(client, "", WRONG).status_code == 200
    assert attempt(client, "ana", PASSWORD).status_code == 429


def test_it_does_not_check_the_password_once_refused(client, cast, monkeypatch):
    for _ in range(5):
        attempt(client, "ana", WRONG)

    def fail(*args, **kwargs):
        raise AssertionError("the password was checked")

    monkeypatch.setattr("django.contrib.auth.forms.authenticate", fail)
    assert attempt(client, "ana", PASSWORD).status_code == 429


def test_it_follows_the_configured_limit(client, cast, settings):
    settings.LOGIN_ATTEMPTS_PER_WINDOW = 2
    settings.LOGIN_ATTEMPT_WINDOW_SECONDS = 60
    attempt(client, "ana", WRONG)
    attempt(client, "ana", WRONG)
    response = attempt(client, "ana", PASSWORD)
    assert response.status_code == 429
    assert "Please wait 1 minute and try again." in response.content.decode()


def test_it_lets_people_try_again_after_the_window(client, cast, monkeypatch):
    for _ in range(6):
        attempt(client, "ana", WRONG)
    later = locmem.time.time() + 901

    class Clock:
        @staticmethod
        def time() -> float:
            return later

    monkeypatch.setattr(locmem, "time", Clock)
    assert attempt(client, "ana", PASSWORD).status_code == 302


def test_it_logs_out_by_post_only(client_for, cast):
    client = client_for(cast["member_a"])
    assert client.get("/accounts/logout/").status_code == 405
    assert logged_in(client)
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/"
    assert not logged_in(client)


def test_the_session_ends_with_the_browser_and_after_eight_hours(client, cast, settings):
    assert settings.SESSION_COOKIE_AGE == 8 * 60 * 60
    response = attempt(client, "ana", PASSWORD)
    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    # A browser-session cookie: no lifetime of its own, gone when the browser closes.
    assert cookie["expires"] == "" and cookie["max-age"] == ""
    assert cookie["httponly"]
    assert client.session.get_expire_at_browser_close()
    # The server forgets it after the configured age even if the browser stays open.
    stored = Session.objects.get(session_key=cookie.value)
    expected = timezone.now() + timedelta(seconds=settings.SESSION_COOKIE_AGE)
    assert abs(stored.expire_date - expected) < timedelta(minutes=1)


def test_an_expired_session_must_log_in_again(client, cast):
    attempt(client, "ana", PASSWORD)
    assert client.get("/committee/plans/").status_code == 200
    Session.objects.update(expire_date=timezone.now() - timedelta(seconds=1))
    response = client.get("/committee/plans/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")
