"""Background work of insights."""

import logging

from celery import shared_task

from .early_warning import early_warning_run
from .tables import GENERAL, SENSITIVE, TIER_INSTITUTION, TIER_PUBLIC, TableSpec, releases_refresh

logger = logging.getLogger("convive.insights")


@shared_task
def early_warning_weekly() -> int:
    """Evaluate the ISO week that has just ended; scheduled early on Mondays (CELERY_BEAT_SCHEDULE)."""
    alerts = early_warning_run()
    logger.info("early warning: %s alerts", len(alerts))
    return len(alerts)


# What the dashboards open with, by tier: these are always served from a finished release.
STANDARD_TABLES = [
    TableSpec(TIER_INSTITUTION, level, period, dims, GENERAL)
    for level in (1, 2, 3)
    for period in ("week", "month")
    for dims in ((), ("group",))
] + [
    TableSpec(TIER_INSTITUTION, 2, "month", ("group",), SENSITIVE),
    TableSpec(TIER_INSTITUTION, 2, "quarter", ("sex", "age"), GENERAL),
    TableSpec(TIER_PUBLIC, 2, "month", (), GENERAL),
    TableSpec(TIER_PUBLIC, 1, "quarter", ("group",), GENERAL),
]


@shared_task
def releases_refresh_task() -> int:
    """Re-release the standard tables when the counts have changed since the last release."""
    version = releases_refresh(STANDARD_TABLES)
    logger.info("insights: tables released at rollup version %s", version)
    return version
