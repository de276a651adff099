"""Background work of insights."""

import logging

from celery import shared_task

from .early_warning import early_warning_run

logger = logging.getLogger("convive.insights")


@shared_task
def early_warning_weekly() -> int:
    """Evaluate the ISO week that has just ended; scheduled early on Mondays (CELERY_BEAT_SCHEDULE)."""
    alerts = early_warning_run()
    logger.info("early warning: %s alerts", len(alerts))
    return len(alerts)
