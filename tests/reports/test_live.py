"""The board's live feed through the real ASGI application (origin check, session auth, routing)
and the Redis channel layer: pushes sent after commit reach the committees serving the report,
and only them; who may open /ws/committee/<id>/ at all."""

import asyncio
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings
from django.db import connection, transaction
from django.test import Client

from config.asgi import application
from reports.consumers import CLOSE_NOT_FOUND
from reports.live import report_summary
from reports.models import Report
from reports.services import report_verify
from tests.factories import make_report

# Committed data, as the consumer and the on-commit pushes need; serialized rollback puts back the
# categories the migrations loaded after each test's flush.
pytestmark = pytest.mark.usefixtures("transactional_db", "django_db_serialized_rollback")

# Generous for a loaded machine: a passing run gets its message in milliseconds.
ARRIVES = 5
# How long a socket that should hear nothing is watched, after the expected socket heard its push.
SILENT = 0.5
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"


@pytest.fixture
def redis_layer(settings) -> dict:
    """The Redis channel layer, as with REDIS_URL in production, under a prefix of this test's own
    so that concurrent runs sharing the server never hear each other."""
    url = settings.REDIS_URL or DEFAULT_REDIS
    connection = redis.Redis.from_url(url)
    try:
        connection.ping()
    except redis.ConnectionError as exc:
        pytest.fail(f"the live tests need Redis at {url} (start redis-server, or set REDIS_URL): {exc}")
    prefix = f"convive-test-{uuid.uuid4().hex}"
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [url], "prefix": prefix},
        }
    }
    yield {"redis": connection, "prefix": prefix}
    async_to_sync(get_channel_layer().flush)()
    connection.close()


def site_origin() -> str:
    """An origin of this site. config.asgi's origin check took ALLOWED_HOSTS when it was imported,
    before the test run added "testserver", so that one may not be in it."""
    hosts = [host for host in django_settings.ALLOWED_HOSTS if host != "*" and not host.startswith(".")]
    return f"http://{hosts[0] if hosts else 'localhost'}"


def headers_for(user, origin: str | None = None) -> list[tuple[bytes, bytes]]:
    """What the browser sends with the handshake: the page's origin and the session cookie."""
    headers = [(b"origin", (origin or site_origin()).encode())]
    if user is not None:
        client = Client()
        client.force_login(user)
        cookie = client.cookies[django_settings.SESSION_COOKIE_NAME]
        headers.append((b"cookie", f"{cookie.key}={cookie.value}".encode()))
    return headers


def socket(headers, committee_id: int) -> WebsocketCommunicator:
    return WebsocketCommunicator(application, f"/ws/committee/{committee_id}/", headers=headers)


def connected(headers, committee_id: int) -> tuple[bool, object]:
    """Open and close a socket: (accepted?, subprotocol or close code)."""

    async def attempt():
        communicator = socket(headers, committee_id)
        accepted, detail = await communicator.connect(timeout=ARRIVES)
        if accepted:
            await communicator.disconnect()
        return accepted, detail

    return async_to_sync(attempt)()


def test_it_pushes_a_new_report_to_the_committee_serving_it_and_no_other(redis_layer, cast, geo):
    seen_by_a, seen_by_b = headers_for(cast["member_a"]), headers_for(cast["member_b"])

    async def body():
        board_a = socket(seen_by_a, cast["committee_a"].id)
        board_b = socket(seen_by_b, cast["committee_b"].id)
        assert (await board_a.connect(timeout=ARRIVES))[0]
        assert (await board_b.connect(timeout=ARRIVES))[0]
        report = await sync_to_async(make_report)(point=geo["west_point"])
        message = await board_a.receive_json_from(timeout=ARRIVES)
        assert await board_b.receive_nothing(timeout=SILENT)
        await board_a.disconnect()
        await board_b.disconnect()
        return report, message

    report, message = async_to_sync(body)()
    assert message["event"] == "created"
    assert message["report"]["id"] == report.id
    assert message["report"]["code"] == report.formatted_code()
    assert (message["report"]["status"], message["report"]["area"]) == ("new", geo["west"].name)
    assert set(message) == {"event", "report"}
    # Taken from the report as it was written, with nothing read back: the same as a re-read gives.
    stored = Report.objects.select_related("category", "area").get(pk=report.pk)
    assert message["report"] == report_summary(stored)


def test_it_pushes_a_report_written_outside_any_request(redis_layer, cast, geo):
    """A worker or a command has no server event loop to hand the send to: it sends it itself."""
    seen_by_a = headers_for(cast["member_a"])

    def in_a_plain_thread():
        try:
            return make_report(point=geo["west_point"])
        finally:
            connection.close()

    async def body():
        board_a = socket(seen_by_a, cast["committee_a"].id)
        assert (await board_a.connect(timeout=ARRIVES))[0]
        with ThreadPoolExecutor(max_workers=1) as plain:
            report = await asyncio.get_running_loop().run_in_executor(plain, in_a_plain_thread)
        message = await board_a.receive_json_from(timeout=ARRIVES)
        await board_a.disconnect()
        return report, message

    report, message = async_to_sync(body)()
    assert (message["event"], message["report"]["id"]) == ("created", report.id)


def test_it_pushes_a_status_change(redis_layer, cast, geo):
    report = make_report(point=geo["west_point"])
    seen_by_a = headers_for(cast["member_a"])

    async def body():
        board_a = socket(seen_by_a, cast["committee_a"].id)
        assert (await board_a.connect(timeout=ARRIVES))[0]
        await sync_to_async(report_verify)(report=report, actor=cast["member_a"])
        message = await board_a.receive_json_from(timeout=ARRIVES)
        assert await board_a.receive_nothing(timeout=SILENT)
        await board_a.disconnect()
        return message

    message = async_to_sync(body)()
    assert message["event"] == "changed"
    assert (message["report"]["id"], message["report"]["status"]) == (report.id, "verified")


def test_it_sends_nothing_for_a_report_that_was_rolled_back(redis_layer, cast, geo):
    seen_by_a = headers_for(cast["member_a"])

    def create_then_fail():
        with pytest.raises(RuntimeError), transaction.atomic():
            make_report(point=geo["west_point"])
            raise RuntimeError("the rest of the request failed")

    async def body():
        board_a = socket(seen_by_a, cast["committee_a"].id)
        assert (await board_a.connect(timeout=ARRIVES))[0]
        await sync_to_async(create_then_fail)()
        silent = await board_a.receive_nothing(timeout=SILENT)
        await board_a.disconnect()
        return silent

    assert async_to_sync(body)()


def test_it_lets_an_administrator_watch_any_committee(redis_layer, cast, geo):
    seen_by_admin = headers_for(cast["admin"])

    async def body():
        board = socket(seen_by_admin, cast["committee_b"].id)
        assert (await board.connect(timeout=ARRIVES))[0]
        report = await sync_to_async(make_report)(point=geo["east_point"])
        message = await board.receive_json_from(timeout=ARRIVES)
        await board.disconnect()
        return report, message

    report, message = async_to_sync(body)()
    assert (message["event"], message["report"]["id"]) == ("created", report.id)


# Who may open which committee's feed: members of that committee and administrators only.
FEEDS = {
    ("member_a", "committee_a"): True,
    ("member_a", "committee_b"): False,
    ("member_b", "committee_a"): False,
    ("member_b", "committee_b"): True,
    ("analyst", "committee_a"): False,  # institutions never see single reports
    ("admin", "committee_a"): True,
    ("admin", "committee_b"): True,
    (None, "committee_a"): False,  # anonymous
}
ACCEPTED, REFUSED = (True, None), (False, CLOSE_NOT_FOUND)


def test_it_lets_only_members_and_administrators_open_a_committees_feed(redis_layer, cast):
    expected = {case: ACCEPTED if allowed else REFUSED for case, allowed in FEEDS.items()}
    answers = {
        (who, committee): connected(headers_for(cast[who] if who else None), cast[committee].id)
        for who, committee in FEEDS
    }
    assert answers == expected


def test_it_answers_a_committee_that_does_not_exist_as_one_that_is_not_yours(redis_layer, cast):
    missing = cast["committee_b"].id + 1000
    assert connected(headers_for(cast["member_a"]), missing) == REFUSED
    assert connected(headers_for(cast["admin"]), missing) == REFUSED


def test_it_refuses_a_page_of_another_site_carrying_the_members_cookie(redis_layer, cast):
    # Cross-site websocket hijacking: the browser sends the cookie, the origin gives it away.
    headers = headers_for(cast["member_a"], origin="https://elsewhere.example")
    accepted, _code = connected(headers, cast["committee_a"].id)
    assert not accepted


def test_it_leaves_the_group_on_disconnect(redis_layer, cast):
    seen_by_a = headers_for(cast["member_a"])
    # channels_redis keeps a group as a sorted set of channel names under this key.
    key = f"{redis_layer['prefix']}:group:committee.{cast['committee_a'].id}"
    members = redis_layer["redis"].zcard

    async def body():
        board_a = socket(seen_by_a, cast["committee_a"].id)
        assert (await board_a.connect(timeout=ARRIVES))[0]
        joined = members(key)
        await board_a.disconnect()
        return joined

    assert async_to_sync(body)() == 1
    assert members(key) == 0


def test_it_ignores_what_a_client_sends(redis_layer, cast, geo):
    seen_by_a = headers_for(cast["member_a"])

    async def body():
        board_a = socket(seen_by_a, cast["committee_a"].id)
        assert (await board_a.connect(timeout=ARRIVES))[0]
        await board_a.send_to(text_data="not json {")
        await board_a.send_json_to({"type": "report.event", "event": "created", "report": {}})
        quiet = await board_a.receive_nothing(timeout=SILENT)
        # Still open and listening.
        report = await sync_to_async(make_report)(point=geo["west_point"])
        message = await board_a.receive_json_from(timeout=ARRIVES)
        await board_a.disconnect()
        return quiet, report, message

    quiet, report, message = async_to_sync(body)()
    assert quiet
    assert message["report"]["id"] == report.id
