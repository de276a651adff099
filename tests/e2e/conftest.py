"""Browser journeys: daphne serving config.asgi:application (the production stack, websockets
included) on the test database, driven by headless Chromium through Playwright.

Fixtures for tests/e2e/:

- ``live_site``: the running server for one test, on the transactional test database (data the
  test creates is committed, so the server sees it, and the test reads back what the server
  wrote). ``live_site.url("/report/")``, ``live_site.ws_url("/ws/...")``.
- ``open_page(**context_options)``: a new phone-sized page in its own browser context (own
  cookies and session), English unless ``locale=`` says otherwise. ``page`` is one such page.

Every page is guarded: requests to anything but 127.0.0.1/localhost are blocked, so no test
touches the Internet; an uncaught JavaScript error, a blocked request, a failed sub-resource
(404 stylesheet, 500 fetch) or an error logged by the server fails the test. They are collected
in ``e2e_problems``; a test that provokes one on purpose removes it from that list.
"""

import logging
import threading
import time
from functools import partial
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.db import connections
from django.test import Client
from playwright.sync_api import expect, sync_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
# A mid-range Android phone.
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 1}
TIMEOUT_MS = 10_000
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
UNROUTED_SCHEMES = {"about", "blob", "data"}
# Generous for a loaded CI machine; a passing run never waits this long.
expect.set_options(timeout=TIMEOUT_MS)
PROBLEMS = pytest.StashKey[list[str]]()
REPORTED = pytest.StashKey[int]()


class ServerErrors(logging.Handler):
    """Collects what the server logs at ERROR (500 tracebacks, crashed consumers) for the running test."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.setFormatter(logging.Formatter("server: %(name)s: %(message)s"))
        self.sink: list[str] | None = None

    def emit(self, record: logging.LogRecord) -> None:
        if self.sink is not None:
            self.sink.append(self.format(record))


class DaphneThread:
    """daphne serving config.asgi:application from a thread of this process.

    A thread, not a process (channels' DaphneProcess), so the server shares this process's
    settings: the test database's name, and whatever a test changes with the ``settings``
    fixture (MEDIA_ROOT, limits, QUICK_EXIT_URL), as the Django test client would. Twisted's
    reactor runs once per process, so there is one server per test session.
    """

    host = "127.0.0.1"
    loggers = ("django.request", "daphne")

    def __init__(self) -> None:
        from daphne.server import Server

        from config.asgi import application

        self.errors = ServerErrors()
        self._server = Server(
            application=application,
            endpoints=[f"tcp:port=0:interface={self.host}"],
            signal_handlers=False,
            verbosity=0,
        )
        self._thread = threading.Thread(target=self._run, name="daphne", daemon=True)
        self._failure: BaseException | None = None
        self.port = 0

    def url(self, path: str = "/") -> str:
        return f"http://{self.host}:{self.port}{path}"

    def ws_url(self, path: str = "/") -> str:
        return f"ws://{self.host}:{self.port}{path}"

    def start(self) -> None:
        for name in self.loggers:
            logging.getLogger(name).addHandler(self.errors)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.listening_addresses:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"daphne did not start listening: {self._failure!r}")
            time.sleep(0.01)
        self.port = self._server.listening_addresses[0][1]

    def stop(self) -> None:
        from twisted.internet import reactor

        reactor.callFromThread(reactor.stop)
        self._thread.join(timeout=10)
        for name in self.loggers:
            logging.getLogger(name).removeHandler(self.errors)
        assert not self._thread.is_alive(), "daphne did not stop"

    def _run(self) -> None:
        try:
            self._server.run()
        except BaseException as exc:  # reported by start()
            self._failure = exc


@pytest.fixture(scope="session")
def daphne_server(django_db_setup):
    """The server, started once: requesting django_db_setup first points it at the test database."""
    server = DaphneThread()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def e2e_problems(request) -> list[str]:
    """What went wrong in the browser or the server during this test; pytest_runtest_call fails on it."""
    problems: list[str] = []
    request.node.stash[PROBLEMS] = problems
    yield problems
    # Anything that arrived after the test body (while the pages closed) fails at teardown.
    reported = request.node.stash.get(REPORTED, 0)
    assert problems[reported:] == [], "\n".join(problems[reported:])


@pytest.fixture
def live_site(daphne_server, transactional_db, django_db_serialized_rollback, e2e_problems):
    """The server for one test, on a committed test database.

    Serialized rollback puts back what migrations loaded (the categories) after each test's flush.
    """
    daphne_server.errors.sink = e2e_problems
    yield daphne_server
    daphne_server.errors.sink = None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    try:
        return (yield)
    finally:
        problems = item.stash.get(PROBLEMS, [])
        item.stash[REPORTED] = len(problems)
        if problems:
            raise AssertionError("the browser or the server reported problems:\n" + "\n".join(problems))


@pytest.fixture(scope="module")
def playwright():
    """Playwright's sync API, for one test module.

    While it is up, its asyncio loop counts as running in this thread, so Django refuses ORM
    calls from the test (SynchronousOnlyOperation) unless DJANGO_ALLOW_ASYNC_UNSAFE is set: the
    documented workaround for Playwright with Django tests. The variable is process-wide, so the
    server thread runs without that check too while the browser is up (consumers' own tests keep
    it). Module scope, not session: a loop left running would also break async_to_sync in the
    tests that follow.
    """
    serialized = {
        alias: connections[alias]._test_serialized_contents
        for alias in connections
        if hasattr(connections[alias], "_test_serialized_contents")
    }
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as pw:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        # With a loop running, Django keeps this thread's connections apart from the ones the
        # test database was set up with (asgiref Local): give the new ones the copy of the
        # migrated data that serialized rollback restores after each test's flush.
        for alias, contents in serialized.items():
            connections[alias]._test_serialized_contents = contents
        yield pw


@pytest.fixture(scope="module")
def browser(playwright):
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    yield browser
    browser.close()


def _is_external(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme not in UNROUTED_SCHEMES and parts.hostname not in LOCAL_HOSTS


def _block(problems: list[str], route) -> None:
    problems.append(f"blocked a request off this machine: {route.request.url}")
    route.abort("blockedbyclient")


def _check_response(problems: list[str], response) -> None:
    # A page may answer 4xx on purpose (a wrong tracking code); its sub-resources may not.
    if response.status >= 500 or (response.status >= 400 and response.request.resource_type != "document"):
        problems.append(f"{response.status} for {response.request.method} {response.url}")


def _session_cookie(user, base_url: str) -> dict:
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    return {"name": cookie.key, "value": cookie.value, "url": base_url}


@pytest.fixture
def open_page(browser, daphne_server, e2e_problems):
    """Open a guarded page in a new context: phone-sized, English, in the project's timezone.

    ``open_page(user=member)`` starts the context logged in as that user (a committee member
    on the board, say); other keywords go to ``browser.new_context``.
    """
    contexts = []

    def open_(user=None, **context_options):
        options = {**PHONE, "locale": "en", "timezone_id": settings.TIME_ZONE, **context_options}
        context = browser.new_context(**options)
        contexts.append(context)
        context.set_default_timeout(TIMEOUT_MS)
        # Tests may route a URL to a stand-in page with page.route: page routes win over this one.
        context.route(_is_external, partial(_block, e2e_problems))
        context.on("response", partial(_check_response, e2e_problems))
        # page.on("pageerror") for every page of the context, pop-ups included.
        context.on("weberror", lambda error: e2e_problems.append(f"JavaScript error: {error.error.stack}"))
        if user is not None:
            context.add_cookies([_session_cookie(user, daphne_server.url())])
        return context.new_page()

    yield open_
    for context in contexts:
        context.close()


@pytest.fixture
def page(open_page):
    return open_page()
