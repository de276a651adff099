"""Committee board latency over 10,000 reports: the list page and map.geojson.

Usage:
    .venv/bin/python bench/board.py [--reports 10000] [--requests 30] [--keep]

The database is the one DATABASE_URL names (var/database.env): use a development one with the
demo data (`DEMO_MODE=1 .venv/bin/python manage.py seed_demo`). The script adds a bench area (a
copy of the first demo community's outline, under the same municipality; the demo community keeps
winning for new points because it is older), a committee serving it and a member, and N reports
there: mixed categories, statuses, channels and priorities over the last year. A later run reuses
them. Everything it added is deleted at the end unless --keep.

It then requests, with django.test.Client logged in as the member (force_login, gzip accepted as a
browser would), the board and the map with default filters, a filtered query, a text search and
the last page: a few warm-up requests, then R timed ones each. It prints p50, p95 and max latency,
the database's share, the number of SQL queries, rows or points and bytes on the wire, and each
case's p50 as a ratio of the default board's. Benchmarks print figures; they assert nothing.
"""

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_AREA_CODE = "BENCH-BOARD"
BENCH_USERNAME = "bench-board"
BENCH_COMMITTEE = "Bench: board committee"
WARM_UP = 3
DESCRIPTIONS = [
    "Hay hombres armados cerca de la cancha por las noches",
    "Escuchamos disparos anoche, varias veces",
    "Asaltaron a dos personas en la parada del bus",
    "Un grupo cobra extorsion a los negocios de la calle",
    "No hay luz en el pasaje y roban a los que pasan",
]


def env_file_values() -> dict[str, str]:
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


def django_setup() -> None:
    for key, value in env_file_values().items():
        os.environ.setdefault(key, value)
    # As production runs: DEBUG off (no query log kept in memory). The test client's host must pass.
    os.environ.update({"DEBUG": "0", "ALLOWED_HOSTS": "testserver"})
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


# --- the bench data ---------------------------------------------------------------------------


def bench_member(area):
    from django.contrib.auth import get_user_model

    from community.models import Committee, Membership

    committee, _ = Committee.objects.get_or_create(name=BENCH_COMMITTEE)
    committee.areas.set([area])
    user, created = get_user_model().objects.get_or_create(username=BENCH_USERNAME)
    if created:
        user.set_unusable_password()
        user.save()
    Membership.objects.get_or_create(user=user, committee=committee)
    return user


def bench_area():
    from community.models import Area

    existing = Area.objects.filter(code=BENCH_AREA_CODE).first()
    if existing:
        return existing
    model = Area.objects.filter(level=Area.Level.COMMUNITY).exclude(code=BENCH_AREA_CODE).order_by("id").first()
    if model is None:
        sys.exit("No community area in this database: run `DEMO_MODE=1 .venv/bin/python manage.py seed_demo` first.")
    return Area.objects.create(
        name="Bench: board area",
        code=BENCH_AREA_CODE,
        level=Area.Level.COMMUNITY,
        parent=model.parent,
        boundary=model.boundary,
    )


def random_points(boundary, count: int, rng: random.Random) -> list:
    from django.contrib.gis.geos import Point

    x0, y0, x1, y1 = boundary.extent
    inside = boundary.prepared
    points = []
    while len(points) < count:
        point = Point(rng.uniform(x0, x1), rng.uniform(y0, y1), srid=4326)
        if inside.contains(point):
            points.append(point)
    return points


def bench_reports(area, user, count: int) -> tuple[int, float]:
    """Top the bench area up to count reports; returns how many were added and the seconds taken."""
    from datetime import timedelta

    from django.db import connection
    from django.utils import timezone

    from reports.models import Category, Report
    from reports.services import tracking_code_new

    started = time.perf_counter()
    missing = max(0, count - Report.objects.filter(area=area).count())
    rng = random.Random(count)
    path = [area.id, *(ancestor.id for ancestor in area.ancestors())]
    categories = list(Category.objects.all())
    statuses = (
        [Report.Status.NEW] * 4 + [Report.Status.VERIFIED] * 3 + [Report.Status.IN_ACTION, Report.Status.RESOLVED]
    )
    statuses.append(Report.Status.REJECTED)
    channels = [Report.Channel.WEB] * 3 + [Report.Channel.SMS] * 2 + [Report.Channel.WHATSAPP]
    now = timezone.now()
    points = random_points(area.boundary, missing, rng)
    batch = []
    for index, point in enumerate(points):
        created = now - timedelta(minutes=rng.randint(0, 365 * 24 * 60))
        batch.append(
            Report(
                tracking_code=tracking_code_new(),
                category=rng.choice(categories),
                description=f"{rng.choice(DESCRIPTIONS)} (bench {index})",
                occurred_at=created - timedelta(hours=rng.randint(0, 48)),
                location=point,
                location_source=Report.LocationSource.MAP,
                area=area,
                area_path=path,
                channel=rng.choice(channels),
                status=rng.choice(statuses),
                priority=rng.choice(Report.Priority.values),
                assigned_to=user if rng.random() < 0.2 else None,
                created_at=created,
            )
        )
        if len(batch) == 1000:
            Report.objects.bulk_create(batch)
            batch = []
    if batch:
        Report.objects.bulk_create(batch)
    # What autovacuum would do soon after: without statistics the planner believes one row matches.
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE reports_report")
    return missing, time.perf_counter() - started


def bench_cleanup(area) -> None:
    from django.contrib.auth import get_user_model

    from community.models import Committee
    from reports.models import Report

    Report.objects.filter(area=area).delete()
    Committee.objects.filter(name=BENCH_COMMITTEE).delete()
    get_user_model().objects.filter(username=BENCH_USERNAME).delete()
    area.delete()


# --- measuring --------------------------------------------------------------------------------


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def measure(client, url: str, data: dict, requests: int) -> dict:
    import json
    import re

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(WARM_UP):
        client.get(url, data, HTTP_ACCEPT_ENCODING="gzip")
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get(url, data, HTTP_ACCEPT_ENCODING="gzip")
        times.append(time.perf_counter() - started)
        if response.status_code != 200:
            sys.exit(f"{url} {data} answered {response.status_code}")
    wire = len(response.content)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, data)
    db = sum(float(query["time"]) for query in queries.captured_queries)
    if response["Content-Type"].startswith("application/json"):
        body = json.loads(response.content)
        items = f"{len(body['features'])} points{' (truncated)' if body['truncated'] else ''}"
    else:
        items = f"{len(re.findall(rb'data-report-id=', response.content))} rows"
    return {
        "p50": statistics.median(times) * 1000,
        "p95": percentile(times, 0.95) * 1000,
        "max": max(times) * 1000,
        "db": db * 1000,
        "queries": len(queries.captured_queries),
        "items": items,
        "bytes": wire,
    }


def cases(area_id: int, total: int) -> list[tuple[str, str, dict]]:
    from django.urls import reverse

    from reports.board import PAGE_SIZE

    board, geojson = reverse("reports:board"), reverse("reports:board_geojson")
    filtered = {"status": "verified", "channel": "sms", "date_from": "2000-01-01"}
    last_page = max(1, -(-total // PAGE_SIZE))
    return [
        ("board", board, {}),
        ("board filtered", board, filtered),
        ("board search q=disparos", board, {"q": "disparos"}),
        (f"board last page ({last_page})", board, {"page": last_page}),
        ("board area filter", board, {"area": area_id}),
        ("map.geojson", geojson, {}),
        ("map.geojson filtered", geojson, filtered),
        ("map.geojson search", geojson, {"q": "disparos"}),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reports", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--keep", action="store_true", help="leave the bench area, committee, member and reports")
    args = parser.parse_args()
    django_setup()
    from django.db import connection
    from django.test import Client

    from reports.models import Report

    area = bench_area()
    try:
        user = bench_member(area)
        added, seconds = bench_reports(area, user, args.reports)
        total = Report.objects.filter(area=area).count()
        print(f"database {connection.settings_dict['NAME']} on {connection.settings_dict['HOST']}")
        print(f"bench area {area.code} (id {area.id}): {total} reports ({added} added in {seconds:.1f} s)")
        print(f"{args.requests} timed requests per case after {WARM_UP} warm-up; django.test.Client, gzip accepted\n")
        client = Client()
        client.force_login(user)
        header = f"{'case':32} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'db ms':>7} {'queries':>7} {'x board':>7}  "
        print(header + "returned, bytes on the wire")
        baseline = None
        for name, url, data in cases(area.id, total):
            figures = measure(client, url, data, args.requests)
            baseline = baseline or figures["p50"]
            print(
                f"{name:32} {figures['p50']:8.1f} {figures['p95']:8.1f} {figures['max']:8.1f} {figures['db']:7.1f} "
                f"{figures['queries']:7d} {figures['p50'] / baseline:7.2f}  {figures['items']}, {figures['bytes']:,} B"
            )
    finally:
        if args.keep:
            print(f"\nkept: area {BENCH_AREA_CODE}, committee {BENCH_COMMITTEE!r}, user {BENCH_USERNAME}")
        else:
            bench_cleanup(area)
            print("\ncleaned up the bench area, committee, member and reports")


if __name__ == "__main__":
    main()
