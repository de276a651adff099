"""Aggregates API latency over 1,000,000 reports, beside a bare SQL GROUP BY of the same counts.

Usage:
    .venv/bin/python bench/aggregates.py [--reports 1000000] [--seed 1] [--requests 30] [--cold 3]
    .venv/bin/python bench/aggregates.py --database convive_bench_small --reports 100000

The script works in a database of its own (default convive_bench, on the server var/database.env
names), created and migrated when missing; it refuses the configured development database. When
that database holds fewer than N validated reports it runs `generate_reports --count <missing>
--seed S --synthetic-geography --force` and prints how long that took. It then makes an analyst
whose institution's jurisdiction is the synthetic country (SYN), and for three dashboard tables

    (a) region x month x category group      level=region&period=month&dims=group
    (b) municipality x week                  level=municipality&period=week
    (c) municipality x quarter x sex x age   level=municipality&period=quarter&dims=sex,age

requests GET /api/v1/aggregates/ through django.test.Client logged in as the analyst (gzip
accepted, as a browser would): C cold requests, each right after bumping the rollup version so
that every cache misses, then R warm ones. Beside each it times R runs of a bare SQL GROUP BY
over reports_report giving the same raw counts (validated statuses, general family, the analyst's
jurisdiction; area by joining area_path to community_area at the table's level, period by
date_trunc of occurred_at in the project time zone), with no disclosure control and no JSON.

It prints p50 and p95 of each, the ratios API/bare (lower is better; goal: warm at most 1), the
API's rows (every cell of the table, zeros and suppressed ones included) against the SQL's groups
(non-empty cells only), and how many cells the API suppressed. If the API answers 404 (not built
yet) it says so and prints the SQL figures alone. Benchmarks print figures; they assert nothing.
"""

import argparse
import gzip
import json
import os
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
URL = "/api/v1/aggregates/"
BENCH_USERNAME = "bench-aggregates"
BENCH_INSTITUTION = "Bench: aggregates institution"
SYNTHETIC_COUNTRY = "SYN"
GOAL = 1.0
TABLES = [
    ("(a) region x month x group", {"level": "region", "period": "month", "dims": "group"}),
    ("(b) municipality x week", {"level": "municipality", "period": "week"}),
    ("(c) municipality x quarter x sex x age", {"level": "municipality", "period": "quarter", "dims": "sex,age"}),
]
LEVELS = {"country": 0, "region": 1, "municipality": 2, "community": 3}
# The rollup's own columns for each dimension (insights.rollup), so both sides count the same thing.
DIMENSION_SQL = {
    "group": 'c."group"',
    "category": "c.code",
    "channel": "r.channel",
    "sex": "r.affected_sex",
    "age": "r.affected_age_band",
}


# --- configuration --------------------------------------------------------------------------


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


def bench_database_url(configured: str, name: str) -> str:
    """The configured server with another database name; never the configured database itself."""
    parts = urlsplit(configured)
    if parts.path.lstrip("/") == name:
        sys.exit(f"--database {name} is the configured database: the bench fills its own with fake reports.")
    return urlunsplit(parts._replace(path=f"/{name}"))


def django_setup(database: str) -> None:
    for key, value in env_file_values().items():
        os.environ.setdefault(key, value)
    if not os.environ.get("DATABASE_URL"):
        sys.exit("No DATABASE_URL (var/database.env): the bench needs the PostgreSQL server it names.")
    os.environ["DATABASE_URL"] = bench_database_url(os.environ["DATABASE_URL"], database)
    # As production runs: DEBUG off (no query log kept in memory). The test client's host must pass.
    os.environ.update({"DEBUG": "0", "ALLOWED_HOSTS": "testserver"})
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.conf import settings

    # A shared Redis must not serve the development database's cached tables to this one.
    settings.CACHES["default"]["KEY_PREFIX"] = f"bench-{database}"


# --- the bench data ---------------------------------------------------------------------------


def database_ready() -> None:
    from django.core.management import call_command

    call_command("prepare_database")
    call_command("migrate", verbosity=0)


def validated_reports() -> int:
    from reports.models import Report

    return Report.objects.filter(status__in=Report.VALIDATED).count()


def reports_top_up(wanted: int, seed: int) -> tuple[int, float]:
    """Generate the validated reports missing to reach `wanted`; returns how many and the seconds."""
    from django.core.management import call_command

    missing = wanted - validated_reports()
    if missing <= 0:
        return 0, 0.0
    started = time.perf_counter()
    # --force: this database is the bench's own, never a deployment.
    call_command("generate_reports", count=missing, seed=seed, synthetic_geography=True, force=True)
    return missing, time.perf_counter() - started


def bench_analyst():
    from django.contrib.auth import get_user_model

    from community.models import Area, Institution

    country = Area.objects.filter(code=SYNTHETIC_COUNTRY).first()
    if country is None:
        sys.exit(f"No synthetic country {SYNTHETIC_COUNTRY} here: run generate_reports --synthetic-geography.")
    institution, _ = Institution.objects.get_or_create(name=BENCH_INSTITUTION)
    institution.jurisdiction.set([country])
    user, created = get_user_model().objects.get_or_create(username=BENCH_USERNAME)
    if created:
        user.set_unusable_password()
        user.save()
    institution.analysts.add(user)
    return user, country


# --- measuring --------------------------------------------------------------------------------


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def figures(seconds: list[float]) -> dict:
    return {"p50": statistics.median(seconds) * 1000, "p95": percentile(seconds, 0.95) * 1000, "n": len(seconds)}


def rollup_version_bump() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("UPDATE insights_rollupstate SET version = version + 1")


def api_get(client, params: dict):
    started = time.perf_counter()
    response = client.get(URL, params, HTTP_ACCEPT_ENCODING="gzip")
    return time.perf_counter() - started, response


def api_body(response) -> dict:
    content = response.content
    if response.get("Content-Encoding") == "gzip":
        content = gzip.decompress(content)
    return json.loads(content)


def measure_api(client, params: dict, requests: int, cold: int) -> dict:
    """Cold requests (each right after a version bump), then warm ones; the first one also finds out
    whether the API is there at all."""
    colds = []
    for _ in range(cold):
        rollup_version_bump()
        seconds, response = api_get(client, params)
        if response.status_code != 200:
            return {"status_code": response.status_code, "detail": response.content[:200]}
        colds.append(seconds)
    warms = [api_get(client, params)[0] for _ in range(requests)]
    body = api_body(response)
    rows = body.get("rows", [])
    return {
        "status_code": 200,
        "cold": figures(colds),
        "warm": figures(warms),
        "status": body.get("status"),
        "rows": len(rows),
        "suppressed": sum(1 for row in rows if row.get("count") is None),
    }


def bare_sql(params: dict) -> str:
    dims = [DIMENSION_SQL[name] for name in params.get("dims", "").split(",") if name]
    keys = ", ".join(["a.id", "period", *dims])
    return f"""
        SELECT {keys}, count(*)
        FROM reports_report r
        JOIN reports_category c ON c.id = r.category_id
        JOIN community_area a ON a.level = %(level)s AND a.id = ANY(r.area_path)
        CROSS JOIN LATERAL (SELECT date_trunc(%(trunc)s, r.occurred_at AT TIME ZONE %(zone)s)::date AS period) p
        WHERE r.status = ANY(%(statuses)s) AND NOT c.is_sensitive AND %(root)s = ANY(r.area_path)
        GROUP BY {keys}
    """


def measure_sql(params: dict, root_id: int, requests: int) -> dict:
    from django.conf import settings
    from django.db import connection

    from reports.models import Report

    values = {
        "level": LEVELS[params["level"]],
        "trunc": params["period"],
        "zone": settings.TIME_ZONE,
        "statuses": [str(status) for status in Report.VALIDATED],
        "root": root_id,
    }
    sql, seconds = bare_sql(params), []
    with connection.cursor() as cursor:
        for _ in range(requests):
            started = time.perf_counter()
            cursor.execute(sql, values)
            groups = len(cursor.fetchall())
            seconds.append(time.perf_counter() - started)
    return {"sql": figures(seconds), "groups": groups}


# --- printing ---------------------------------------------------------------------------------


def ms(pair: dict | None) -> str:
    return f"{pair['p50']:8.1f} {pair['p95']:8.1f}" if pair else f"{'-':>8} {'-':>8}"


def ratio(api: dict | None, bare: dict) -> str:
    return f"{api['p50'] / bare['p50']:7.2f}" if api else f"{'-':>7}"


def print_row(name: str, api: dict, bare: dict) -> None:
    present = api["status_code"] == 200
    cold, warm = (api["cold"], api["warm"]) if present else (None, None)
    counted = (api["rows"], bare["groups"], api["suppressed"]) if present else ("-", bare["groups"], "-")
    status = api["status"] if present else f"HTTP {api['status_code']}"
    latency = f"{ms(cold)} {ms(warm)} {ms(bare['sql'])}"
    ratios = f"{ratio(warm, bare['sql'])} {ratio(cold, bare['sql'])}"
    print(f"{name:40} {latency} {ratios} " + " ".join(f"{value:>8}" for value in counted) + f"  {status}")


def print_header(requests: int, cold: int) -> None:
    print(f"\nAPI: {cold} cold requests (rollup version bumped before each), {requests} warm; SQL: {requests} runs")
    print(
        f"{'':40} {'API cold (ms)':>17} {'API warm (ms)':>17} {'bare SQL (ms)':>17} {'warm/SQL':>7} {'cold/SQL':>7} "
        f"{'API rows':>8} {'SQL grp':>8} {'suppr.':>8}  status"
    )
    print(f"{'table':40} " + f"{'p50':>8} {'p95':>8} " * 3 + f"{'p50':>7} {'p50':>7}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", default="convive_bench", help="the bench's own database (default convive_bench)")
    parser.add_argument("--reports", type=int, default=1_000_000, help="validated reports wanted (default 1,000,000)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--requests", type=int, default=30, help="warm API requests and SQL runs per table")
    parser.add_argument("--cold", type=int, default=3, help="cold API requests per table (default 3)")
    args = parser.parse_args()
    if args.cold < 1 or args.requests < 1:
        parser.error("--cold and --requests must be at least 1")
    django_setup(args.database)
    from django.db import connection
    from django.test import Client

    database_ready()
    added, seconds = reports_top_up(args.reports, args.seed)
    print(
        f"database {connection.settings_dict['NAME']} on {connection.settings_dict['HOST']}: "
        f"{validated_reports():,} validated reports"
    )
    if added:
        rate = added / seconds
        print(f"generation: {added:,} reports in {seconds:.1f} s, rollup rebuild included ({rate:,.0f} reports/s)")
    else:
        print("generation: none needed")
    user, country = bench_analyst()
    client = Client()
    client.force_login(user)
    print_header(args.requests, args.cold)
    missing_api = False
    for name, params in TABLES:
        api = measure_api(client, params, args.requests, args.cold)
        missing_api |= api["status_code"] == 404
        print_row(name, api, measure_sql(params, country.id, args.requests))
        if api["status_code"] not in (200, 404):
            print(f"    {URL} answered {api['status_code']}: {api['detail']!r}")
    print(f"\nratio API/bare SQL, p50: lower is better; goal for warm requests: at most {GOAL:g}")
    if missing_api:
        print(
            f"{URL} answered 404: the aggregates API is not built yet (or does not let this analyst in); "
            "SQL figures only."
        )


if __name__ == "__main__":
    main()
