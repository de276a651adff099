"""SMS intake throughput: signed Twilio webhooks against the ASGI server, beside a bare yardstick.

Usage:
    .venv/bin/python bench/sms_intake.py [--count 2000] [--concurrency 16] [--phones 200] [--retries 0.05]
    .venv/bin/python bench/sms_intake.py --base http://127.0.0.1:8000 --token TOKEN --account ACxxxx
    .venv/bin/python bench/sms_intake.py --profile [--count 300]

By default the script starts its own daphne (config.asgi:application) on a free loopback port,
with DEMO_MODE=1, Twilio credentials made up for the run and var/*.env, and stops it at the end.
It posts the same N messages (plus the re-posts) at concurrency C first to the bare empty-TwiML
view, then to the real webhook, and prints messages per second, p50 and p99 latency, errors and
the ratio webhook/bare (goal: at least 0.5).

Messages are spread over P fake numbers (+504 9xxx xxxx) that each hold realistic conversations
(greeting, category number, place name, description, the small-arms answers, "1"); one phone's
messages are posted one after another, never two at once, as a phone would. A fraction of the
messages is posted twice with the same MessageSid: half at the same moment as the original, half
later. Afterwards the database is checked: every acknowledged MessageSid stored exactly once, and
a re-post answered exactly as the original. Losses or duplicates make the exit status 1. The
run's reporters, messages, conversations and reports are deleted unless --keep.

--profile runs no server: it sends the conversations through Django's test client in this
process, each request's code on a thread of asgiref's as under daphne, and prints SQL queries and
time per message, per conversation step, and cProfile's top functions. The database is the one
DATABASE_URL names (var/database.env): use a development one.
Benchmarks print figures; they assert nothing about time.
"""

import argparse
import asyncio
import os
import random
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import xml.etree.ElementTree as ET
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
WEBHOOK_PATH = "/sms/twilio/"
BARE_PATH = "/sms/twilio/bare/"
OUR_NUMBER = "+15005550006"
GOAL = 0.5
DESCRIPTIONS = [
    "Hay hombres armados cerca de la cancha por las noches",
    "Escuchamos disparos anoche, varias veces, y nadie vino",
    "Asaltaron a dos personas en la parada del bus ayer",
    "Un grupo cobra extorsion a los negocios de la calle",
    "No hay luz en el pasaje y roban a los que pasan",
]


# --- configuration --------------------------------------------------------------------------


def env_file_values() -> dict[str, str]:
    """KEY=VALUE lines of var/secrets.env and var/database.env (comments and blanks skipped)."""
    values = {}
    for name in ("secrets.env", "database.env"):
        path = ROOT / "var" / name
        if not path.exists():
            continue
        for line in path.read_text().splitlines():
            key, sep, value = line.strip().partition("=")
            if sep and key and not key.startswith("#"):
                values[key.removeprefix("export ").strip()] = value.strip().strip("'\"")
    return values


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Target:
    base: str  # where the bench connects
    public: str  # PUBLIC_BASE_URL the server signs against
    token: str
    account: str
    server_env: dict[str, str] = field(default_factory=dict)
    extra_env: dict[str, str] = field(default_factory=dict)  # --server-env: the server only


def self_hosted_target() -> Target:
    base = f"http://127.0.0.1:{free_port()}"
    account, token = "AC" + secrets.token_hex(16), secrets.token_hex(16)
    overrides = {
        "DEMO_MODE": "1",
        "DEBUG": "0",  # DEBUG keeps every SQL query in memory: not what production runs
        "TWILIO_ACCOUNT_SID": account,
        "TWILIO_AUTH_TOKEN": token,
        "PUBLIC_BASE_URL": base,
        "STATIC_FROM_SOURCE": "1",
        "SMS_BACKEND": "console",  # made-up credentials: nothing may try to reach Twilio
    }
    return Target(base=base, public=base, token=token, account=account, server_env=overrides)


def django_setup(target: Target) -> None:
    """Same settings as the server, so that address hashes and signatures agree."""
    for key, value in env_file_values().items():
        os.environ.setdefault(key, value)
    os.environ.update(target.server_env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


# --- the server -----------------------------------------------------------------------------


class Server:
    """daphne in a subprocess, stopped by its own pid."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.port = target.base.rsplit(":", 1)[1]
        self.log = Path(tempfile.mkdtemp(prefix="sms-intake-")) / "daphne.log"
        self.command = [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", self.port, "config.asgi:application"]
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        env = {**env_file_values(), **os.environ, **self.target.server_env, **self.target.extra_env}
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(self.command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        self._wait_ready(timeout=60)
        chosen = {**self.target.server_env, **self.target.extra_env}
        shown = ", ".join(f"{k}={v}" for k, v in chosen.items() if k != "TWILIO_AUTH_TOKEN")
        print(f"server: started by this script, pid {self.process.pid}: {' '.join(self.command[1:])}")
        print(f"        env: var/secrets.env + var/database.env, {shown}, TWILIO_AUTH_TOKEN=<random>")
        print(f"        log: {self.log}")

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                sys.exit(f"daphne exited with {self.process.returncode}:\n{self.log.read_text()[-3000:]}")
            try:
                url = self.target.base + BARE_PATH
                request = urllib.request.Request(url, data=b"", method="POST")  # noqa: S310
                with urllib.request.urlopen(request, timeout=2) as response:  # noqa: S310 - loopback
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        self.stop()
        sys.exit(f"daphne did not answer on {self.target.base} within {timeout:.0f} s; log: {self.log}")

    def cpu_seconds(self) -> float:
        """The server's user + system CPU time so far (Linux /proc)."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


# --- the messages ---------------------------------------------------------------------------


@dataclass
class Message:
    sid: str
    phone: int
    step: str  # conversation step, for the profile
    text: str
    form: bytes = b""
    signature: str = ""
    retry: str = ""  # "", "together" (posted at the same moment) or "later"


@dataclass
class Script:
    """What the demo data lets a resident answer."""

    plain_numbers: list[int]
    arms_numbers: list[int]
    places: list[str]
    arms_menu_sizes: dict[str, int]


def script_from_database() -> Script:
    from community.models import Place
    from community.selectors import gazetteer_search
    from sms_gateway import replies
    from sms_gateway.conversation import categories

    menu = categories()
    # A name that finds exactly one entry keeps the conversation on the common path.
    places = [name for name in Place.objects.values_list("name", flat=True) if len(gazetteer_search(name)) == 1]
    if not menu or not places:
        sys.exit("No categories or places: load the demo data (DEMO_MODE=1 manage.py seed_demo).")
    return Script(
        plain_numbers=[n for n, c in enumerate(menu, 1) if not c.is_arms],
        arms_numbers=[n for n, c in enumerate(menu, 1) if c.is_arms],
        places=sorted(places),
        arms_menu_sizes={q: len(choices.choices) for q, choices in replies.ARMS_MENUS.items()},
    )


def conversation(script: Script, phone: int, turn: int) -> list[tuple[str, str]]:
    """One complete conversation as (step, text); three shapes, rotating."""
    place = ("place", script.places[(phone + turn) % len(script.places)])
    description = ("description", DESCRIPTIONS[(phone * 3 + turn) % len(DESCRIPTIONS)])
    confirm = ("confirm", "1" if (phone + turn) % 4 else "2")
    shape = (phone + turn) % 3
    if shape == 0:
        number = script.plain_numbers[(phone * 7 + turn) % len(script.plain_numbers)]
        return [("greeting", "Hola"), ("category", str(number)), place, description, confirm]
    if shape == 1:
        number = script.arms_numbers[(phone + turn) % len(script.arms_numbers)]
        sizes = script.arms_menu_sizes.items()
        arms = [(question, str((phone + turn + i) % size + 1)) for i, (question, size) in enumerate(sizes)]
        return [("greeting", "Hola"), ("category", str(number)), place, description, *arms, confirm]
    # A first message long enough to be the description: no greeting, no "what happened?".
    number = script.plain_numbers[(phone + turn) % len(script.plain_numbers)]
    return [("long first message", description[1]), ("category", str(number)), place, confirm]


def phone_number(block: int, index: int) -> str:
    """+504 9BBB IIII: Honduran mobile shape, in a block chosen per run."""
    return f"+5049{block:03d}{index:04d}"


def phone_messages(script: Script, phone: int, count: int) -> tuple[list[Message], int]:
    """The phone's first `count` messages, and how many conversations they complete."""
    steps, turn, complete = [], 0, 0
    while len(steps) < count:
        talk = conversation(script, phone, turn)
        steps.extend(talk)
        complete += len(steps) <= count
        turn += 1
    messages = [Message(sid="SM" + secrets.token_hex(16), phone=phone, step=s, text=t) for s, t in steps[:count]]
    return messages, complete


def twilio_form(message: Message, number: str, account: str) -> dict[str, str]:
    """The fields Twilio posts for an inbound SMS (tests/sms_gateway/conftest.py's shape)."""
    return {
        "ToCountry": "US",
        "ToState": "CA",
        "SmsMessageSid": message.sid,
        "NumMedia": "0",
        "ToCity": "",
        "FromZip": "",
        "SmsSid": message.sid,
        "FromState": "Cortés",
        "SmsStatus": "received",
        "FromCity": "San Pedro Sula",
        "Body": message.text,
        "FromCountry": "HN",
        "To": OUR_NUMBER,
        "ToZip": "",
        "NumSegments": "1",
        "MessageSid": message.sid,
        "AccountSid": account,
        "From": number,
        "ApiVersion": "2010-04-01",
    }


def sign_all(phones: list[list[Message]], numbers: list[str], target: Target) -> None:
    """Signatures are computed before timing, so the client spends its CPU on sending."""
    from twilio.request_validator import RequestValidator

    validator, url = RequestValidator(target.token), target.public + WEBHOOK_PATH
    for messages in phones:
        for message in messages:
            form = twilio_form(message, numbers[message.phone], target.account)
            message.form = urlencode(form).encode()
            message.signature = validator.compute_signature(url, form)


def choose_retries(phones: list[list[Message]], fraction: float, rng: random.Random) -> int:
    everyone = [m for messages in phones for m in messages]
    chosen = rng.sample(everyone, round(len(everyone) * fraction))
    for i, message in enumerate(chosen):
        message.retry = "together" if i % 2 == 0 else "later"
    return len(chosen)


def pick_block(count: int) -> int:
    """A block of numbers no reporter in the database uses yet."""
    from sms_gateway.identity import address_hash
    from sms_gateway.models import Reporter

    for _ in range(20):
        block = secrets.randbelow(900) + 100
        hashes = [address_hash(phone_number(block, i)) for i in range(count)]
        if not Reporter.objects.filter(address_hash__in=hashes).exists():
            return block
    sys.exit("Could not find a block of unused bench numbers; clean up earlier --keep runs.")


# --- the load -------------------------------------------------------------------------------


@dataclass
class Phase:
    name: str
    latencies: list[float] = field(default_factory=list)  # of every answered post, 2xx or not
    errors: Counter = field(default_factory=Counter)  # non-2xx statuses
    failures: Counter = field(default_factory=Counter)  # posts without an answer (connection, timeout)
    # (sid, attempt) -> (status, body); attempt 0 is the original, 1 the re-post
    answers: dict[tuple[str, int], tuple[int, bytes]] = field(default_factory=dict)
    wall: float = 0.0
    unsent: int = 0  # left when the time limit was reached
    server_cpu: float | None = None
    client_cpu: float = 0.0

    @property
    def ok(self) -> int:
        return sum(1 for status, _ in self.answers.values() if 200 <= status < 300)


async def post(session, url: str, message: Message, attempt: int, phase: Phase) -> None:
    import aiohttp

    # The same request to both views: the bare view is csrf_exempt like the webhook.
    headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": message.signature}
    started = time.perf_counter()
    try:
        async with session.post(url, data=message.form, headers=headers) as response:
            body = await response.read()
            status = response.status
    except (aiohttp.ClientError, TimeoutError) as exc:
        phase.failures[type(exc).__name__] += 1
        return
    phase.latencies.append(time.perf_counter() - started)
    phase.answers[(message.sid, attempt)] = (status, body)
    if not 200 <= status < 300:
        phase.errors[f"HTTP {status}"] += 1


async def post_with_retry(session, url: str, message: Message, phase: Phase, queue: asyncio.Queue) -> None:
    if message.retry == "together":
        # The provider's retry arriving while the first delivery is still being handled.
        await asyncio.gather(post(session, url, message, 0, phase), post(session, url, message, 1, phase))
        return
    await post(session, url, message, 0, phase)
    if message.retry == "later":
        queue.put_nowait(("retry", message))


async def run_phase(name: str, url: str, phones: list[list[Message]], concurrency: int, limit: float) -> Phase:
    """Each phone's messages in order, one at a time; C requests in flight over C keep-alive connections."""
    import aiohttp

    phase, queue = Phase(name), asyncio.Queue()
    for messages in phones:
        if messages:
            queue.put_nowait(("phone", deque(messages)))

    async def worker(session) -> None:
        while True:
            kind, item = await queue.get()
            try:
                if kind == "retry":
                    await post(session, url, item, 1, phase)
                    continue
                await post_with_retry(session, url, item.popleft(), phase, queue)
                if item:
                    queue.put_nowait(("phone", item))
            finally:
                queue.task_done()

    connector = aiohttp.TCPConnector(limit=concurrency, keepalive_timeout=60)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        workers = [asyncio.create_task(worker(session)) for _ in range(concurrency)]
        started = time.perf_counter()
        try:
            await asyncio.wait_for(queue.join(), timeout=limit)
        except TimeoutError:
            phase.unsent = sum(len(item) if kind == "phone" else 1 for kind, item in list(queue._queue)) or 1
        phase.wall = time.perf_counter() - started
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
    return phase


def bare_warmup(url: str, count: int) -> None:
    for _ in range(count):
        request = urllib.request.Request(url, data=b"x=1", method="POST")  # noqa: S310
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
            response.read()


def webhook_warmup(url: str, messages: list[Message]) -> None:
    """One phone's conversation, sequentially, so lazy imports and caches are loaded before timing."""
    for message in messages:
        headers = {"X-Twilio-Signature": message.signature}
        request = urllib.request.Request(url, data=message.form, method="POST", headers=headers)  # noqa: S310
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback
            response.read()


# --- results --------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def throughput(phase: Phase) -> float:
    return phase.ok / phase.wall if phase.wall else 0.0


def print_phases(phases: list[Phase]) -> None:
    print(
        f"{'phase':<8} {'posts':>6} {'2xx':>6} {'errors':>6} {'msg/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'wall s':>7} "
        f"{'server cpu ms/msg':>18} {'bench cpu ms/msg':>17}"
    )
    for p in phases:
        errors, server_cpu = sum(p.errors.values()) + sum(p.failures.values()), "n/a"
        if p.server_cpu is not None:
            server_cpu = f"{p.server_cpu * 1000 / max(1, len(p.latencies)):.2f}"
        print(
            f"{p.name:<8} {len(p.latencies) + sum(p.failures.values()):>6} {p.ok:>6} {errors:>6} "
            f"{throughput(p):>8.1f} {percentile(p.latencies, 0.5) * 1000:>8.1f} "
            f"{percentile(p.latencies, 0.99) * 1000:>8.1f} {p.wall:>7.2f} "
            f"{server_cpu:>18} {p.client_cpu * 1000 / max(1, len(p.latencies)):>17.2f}"
        )
        if errors or p.unsent:
            unsent = f"; time limit reached, {p.unsent} not sent" if p.unsent else ""
            print(f"         errors: {dict(p.errors + p.failures)}{unsent}")
    bare, webhook = phases
    ratio = throughput(webhook) / throughput(bare) if throughput(bare) else 0.0
    verdict = "met" if ratio >= GOAL else "NOT met"
    print(f"ratio webhook/bare: {ratio:.2f} (goal >= {GOAL}: {verdict}); msg/s counts 2xx answers per wall second")


def reply_of(body: bytes) -> str:
    try:
        # Our own server's answer, over loopback.
        return "\n".join(node.text or "" for node in ET.fromstring(body).iter("Message"))  # noqa: S314
    except ET.ParseError:
        return "<not TwiML>"


@dataclass
class Check:
    acknowledged: int = 0
    stored: int = 0
    losses: int = 0
    extra_rows: int = 0
    answered_differently: int = 0
    not_as_stored: int = 0
    statuses: Counter = field(default_factory=Counter)
    reports: int = 0

    @property
    def duplicates(self) -> int:
        return self.extra_rows + self.answered_differently


def check(phase: Phase, messages: list[Message], hashes: list[str]) -> Check:
    """Compare what the server acknowledged with what the database holds."""
    from django.db.models import Count

    from sms_gateway.models import Conversation, InboundMessage

    result, sids = Check(), [m.sid for m in messages]
    stored = InboundMessage.objects.filter(message_sid__in=sids).values("message_sid", "reply", "status")
    rows = {r["message_sid"]: r for r in stored}
    per_sid = InboundMessage.objects.filter(message_sid__in=sids).values("message_sid").annotate(n=Count("id"))
    result.extra_rows = sum(r["n"] - 1 for r in per_sid if r["n"] > 1)
    result.stored, result.statuses = len(rows), Counter(r["status"] for r in rows.values())
    for sid in sids:
        answers = [phase.answers.get((sid, attempt)) for attempt in (0, 1)]
        ok = [body for status, body in filter(None, answers) if 200 <= status < 300]
        if not ok:
            continue
        result.acknowledged += 1
        if sid not in rows:
            result.losses += 1
            continue
        result.answered_differently += len({reply_of(body) for body in ok}) > 1
        result.not_as_stored += reply_of(ok[0]) != rows[sid]["reply"]
    result.reports = Conversation.objects.filter(reporter__address_hash__in=hashes, report__isnull=False).count()
    return result


def print_check(result: Check, sent: int, expected_reports: int, log: Path | None) -> None:
    print(
        f"check: {result.acknowledged} of {sent} messages acknowledged (2xx), {result.stored} stored; "
        f"losses {result.losses}; duplicates {result.duplicates} "
        f"(rows per sid > 1: {result.extra_rows}, re-posts answered differently: {result.answered_differently})"
    )
    print(
        f"       answers differing from the stored reply: {result.not_as_stored}; "
        f"stored status: {dict(result.statuses)}; reports created: {result.reports} (expected {expected_reports})"
    )
    if result.statuses.get("processed", 0) != result.stored or result.reports != expected_reports:
        # Stored, so not lost (tasks.inbound_retry takes them up again), but the conversations broke.
        where = f"the server log {log}" if log else "the server's log"
        print(f"       WARNING: some stored messages were not processed as expected; see {where}")


def cleanup(hashes: list[str]) -> dict[str, int]:
    """Delete what the bench numbers created: reporters, messages, conversations, their reports.

    Returns the rows removed per model, cascades included."""
    from django.db import transaction

    from reports.models import Report
    from sms_gateway.models import Conversation, InboundMessage, OutboundMessage, Reporter

    with transaction.atomic():
        reporters = Reporter.objects.filter(address_hash__in=hashes)
        conversations = Conversation.objects.filter(reporter__in=reporters)
        report_ids = list(conversations.exclude(report=None).values_list("report_id", flat=True))
        removed = Counter()
        for queryset in (
            InboundMessage.objects.filter(reporter__in=reporters),
            OutboundMessage.objects.filter(reporter__in=reporters),
            conversations,
            Report.objects.filter(id__in=report_ids),  # with their triage events and arms answers
            reporters,
        ):
            removed.update(queryset.delete()[1])
    return {label.rsplit(".", 1)[1]: n for label, n in removed.items() if n}


# --- profile --------------------------------------------------------------------------------


class RequestLoop:
    """An event loop in a thread of its own, each call run from it by asgiref's SyncToAsync: the
    view's sync code then runs as under daphne, with a server loop to hand its live pushes to
    (called straight from this thread, a push would start an event loop of its own each time)."""

    def __enter__(self) -> "RequestLoop":
        import threading

        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="request-loop", daemon=True)
        self.thread.start()
        return self

    def call(self, function, *args):
        from asgiref.sync import sync_to_async

        async def run():
            return await sync_to_async(function)(*args)

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result()

    def __exit__(self, *exc) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join()
        self.loop.close()


def profile(phones: list[list[Message]], warmup: list[Message]) -> None:
    """Queries, wall and CPU time per message through Django's test client, in this process."""
    from django.test import Client

    client = Client(SERVER_NAME="127.0.0.1")
    ordered = [m for group in zip_longest_phones(phones) for m in group]
    half = len(ordered) // 2
    per_step: dict[str, list[tuple[int, float, float, float]]] = {}
    refused = Counter()
    with RequestLoop() as requests:
        for message in warmup:  # lazy imports and caches, as before the HTTP phases
            requests.call(post_in_process, client, message)
        for message in ordered[:half]:
            status, *figures = requests.call(measured_post, client, message)
            if status != 200:
                refused[status] += 1
            per_step.setdefault(message.step, []).append(tuple(figures))
        print_profile_steps(per_step)
        if refused:
            print(f"non-200 answers: {dict(refused)}")
        bare = requests.call(time_bare, client, 200)
        print(f"bare view through the test client: {bare * 1000:.2f} ms CPU per request")
        cpu_profile(requests, client, ordered[half:])


def measured_post(client, message: Message) -> tuple[int, int, float, float, float]:
    """Status, queries, wall, CPU (the whole process: live pushes run on the loop's thread) and SQL time."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        started, cpu = time.perf_counter(), time.process_time()
        response = post_in_process(client, message)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    sql = sum(float(q["time"]) for q in queries.captured_queries)
    return response.status_code, len(queries), elapsed, cpu, sql


def cpu_profile(requests: RequestLoop, client, messages: list[Message]) -> None:
    """cProfile on CPU time: under load the server is bound by its CPU (one core, the GIL)."""
    import cProfile
    import pstats

    profiler = cProfile.Profile(time.process_time)
    for message in messages:
        requests.call(profiled_post, profiler, client, message)
    stats = pstats.Stats(profiler)
    each = stats.total_tt / max(1, len(messages))
    print(f"\nwebhook under cProfile: {each * 1000:.2f} ms CPU per message ({len(messages)} messages)")
    stats.sort_stats("cumulative").print_stats(25)
    print("The project's own functions:")
    stats.sort_stats("cumulative").print_stats(r"/(sms_gateway|community|reports)/", 25)


def profiled_post(profiler, client, message: Message) -> None:
    # Enabled in the thread that runs the view: cProfile sees only the thread it was enabled in.
    profiler.enable()
    try:
        post_in_process(client, message)
    finally:
        profiler.disable()


def zip_longest_phones(phones: list[list[Message]]):
    """Interleave phones, keeping each phone's order, as the load generator roughly does."""
    for i in range(max(len(p) for p in phones)):
        yield [p[i] for p in phones if i < len(p)]


def post_in_process(client, message: Message):
    return client.generic(
        "POST",
        WEBHOOK_PATH,
        message.form,
        content_type="application/x-www-form-urlencoded",
        HTTP_X_TWILIO_SIGNATURE=message.signature,
    )


def time_bare(client, count: int) -> float:
    started = time.process_time()
    for _ in range(count):
        client.post(BARE_PATH)
    return (time.process_time() - started) / count


def print_profile_steps(per_step: dict[str, list[tuple[int, float, float, float]]]) -> None:
    print(f"{'step':<20} {'msgs':>5} {'queries':>8} {'wall ms':>8} {'cpu ms':>7} {'sql ms':>7}")
    everything = [row for rows in per_step.values() for row in rows]
    for step, rows in [*per_step.items(), ("all", everything)]:
        means = [statistics.mean(row[i] for row in rows) for i in range(4)]
        print(
            f"{step:<20} {len(rows):>5} {means[0]:>8.1f} {means[1] * 1000:>8.2f} "
            f"{means[2] * 1000:>7.2f} {means[3] * 1000:>7.2f}"
        )
    print(
        "(queries count BEGIN, COMMIT and SAVEPOINT too; wall and cpu: the whole request in this process, "
        "query capture on; sql: time waiting for the database)"
    )


# --- main -----------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000, help="messages (before re-posts); default 2000")
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight; default 16")
    parser.add_argument("--phones", type=int, default=200, help="distinct fake numbers; default 200")
    parser.add_argument("--retries", type=float, default=0.05, help="fraction re-posted with the same MessageSid")
    parser.add_argument("--base", help="a running server (then --token and --account are required)")
    parser.add_argument("--public", help="the PUBLIC_BASE_URL of that server; default --base")
    parser.add_argument("--token", help="that server's TWILIO_AUTH_TOKEN")
    parser.add_argument("--account", help="that server's TWILIO_ACCOUNT_SID")
    parser.add_argument("--time-limit", type=float, default=300, help="seconds per phase; default 300")
    parser.add_argument("--seed", type=int, default=1, help="which messages are re-posted")
    parser.add_argument("--keep", action="store_true", help="keep the rows this run created")
    parser.add_argument(
        "--server-env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra environment for the server this script starts (repeatable), e.g. CONN_MAX_AGE=0",
    )
    parser.add_argument("--profile", action="store_true", help="no server: queries and cProfile in this process")
    args = parser.parse_args()
    if args.base and not (args.token and args.account):
        parser.error("--base needs --token and --account (the server's Twilio credentials)")
    if any("=" not in item for item in args.server_env) or (args.server_env and (args.base or args.profile)):
        parser.error("--server-env takes KEY=VALUE, and only applies to the server this script starts")
    if not 1 <= args.phones <= 9999 or args.count < 1 or args.concurrency < 1 or not 0 <= args.retries <= 1:
        parser.error("need 1 <= --phones <= 9999, --count >= 1, --concurrency >= 1, 0 <= --retries <= 1")
    return args


def target_from(args: argparse.Namespace) -> Target:
    if args.profile:
        # The in-process client signs against the same settings it validates with.
        return self_hosted_target()
    if args.base:
        base = args.base.rstrip("/")
        return Target(base=base, public=(args.public or base).rstrip("/"), token=args.token, account=args.account)
    target = self_hosted_target()
    target.extra_env = dict(item.split("=", 1) for item in args.server_env)
    return target


@dataclass
class Load:
    phones: list[list[Message]]
    numbers: list[str]
    hashes: list[str]
    retries: int
    expected_reports: int
    warmup: list[Message]


def build_load(args: argparse.Namespace, target: Target) -> Load:
    from sms_gateway.identity import address_hash

    script, block = script_from_database(), pick_block(args.phones + 1)
    numbers = [phone_number(block, i) for i in range(args.phones + 1)]  # the last one warms up
    phones, expected = [], 0
    for i in range(args.phones):
        messages, complete = phone_messages(script, i, args.count // args.phones + (i < args.count % args.phones))
        phones.append(messages)
        expected += complete
    warmup, warmed = phone_messages(script, args.phones, 5)  # one short conversation, one report
    sign_all([*phones, warmup], numbers, target)
    retries = choose_retries(phones, args.retries, random.Random(args.seed))
    return Load(phones, numbers, [address_hash(n) for n in numbers], retries, expected + warmed, warmup)


def run_http(args: argparse.Namespace, target: Target, load: Load, server: "Server | None") -> Phase:
    print(
        f"load: {args.count} messages from {args.phones} phones + {load.retries} re-posts of the same MessageSid "
        f"({args.retries:.0%}, half at the same moment), concurrency {args.concurrency}, "
        f"aiohttp keep-alive pool; the same requests to both views"
    )
    bare_warmup(target.base + BARE_PATH, 50)
    bare = measured(server, run_phase("bare", target.base + BARE_PATH, load.phones, args.concurrency, args.time_limit))
    webhook_warmup(target.base + WEBHOOK_PATH, load.warmup)
    webhook = measured(
        server, run_phase("webhook", target.base + WEBHOOK_PATH, load.phones, args.concurrency, args.time_limit)
    )
    print_phases([bare, webhook])
    return webhook


def measured(server: "Server | None", phase_run) -> Phase:
    """Run one phase, with the CPU time the server and this process spent on it."""
    server_before, client_before = server.cpu_seconds() if server else 0.0, time.process_time()
    phase = asyncio.run(phase_run)
    phase.client_cpu = time.process_time() - client_before
    if server is not None:
        phase.server_cpu = server.cpu_seconds() - server_before
    return phase


def main() -> int:
    args = parse_args()
    target = target_from(args)
    django_setup(target)
    load = build_load(args, target)
    server = Server(target) if not (args.base or args.profile) else None
    failed = False
    try:
        if args.profile:
            profile(load.phones, load.warmup)
        else:
            if server is not None:
                server.start()
            else:
                print(f"server: already running at {target.base} (not started by this script)")
            webhook = run_http(args, target, load, server)
            result = check(webhook, [m for p in load.phones for m in p], load.hashes)
            print_check(result, args.count, load.expected_reports, server.log if server else None)
            failed = bool(result.losses or result.duplicates or result.not_as_stored)
    finally:
        if server is not None:
            server.stop()
        if args.keep:
            print(f"kept the rows of numbers {load.numbers[0]}..{load.numbers[-1]}")
        else:
            removed = cleanup(load.hashes)
            print("cleanup: removed " + (", ".join(f"{n} {what}" for what, n in removed.items()) or "nothing"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
