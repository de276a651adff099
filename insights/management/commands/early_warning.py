"""Run the early-warning rule for one ISO week and print its alerts."""

import re
from datetime import date

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from insights.early_warning import early_warning_run, last_complete_week
from insights.models import Alert
from insights.selectors import alert_list, iso_week_label

ISO_WEEK = re.compile(r"^(\d{4})-?W(\d{2})$")


def iso_week(text: str) -> date:
    """Monday of an ISO week written as 2026-W47."""
    match = ISO_WEEK.match(text.strip().upper())
    if match is None:
        raise CommandError(f"--week takes an ISO week such as 2026-W47, not {text!r}.")
    try:
        return date.fromisocalendar(int(match[1]), int(match[2]), 1)
    except ValueError as exc:
        raise CommandError(f"{text} is not a week: {exc}.") from exc


class Command(BaseCommand):
    help = "Evaluate the early-warning rule for one ISO week (default: the last complete one) and store its alerts."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--week", help="ISO week, e.g. 2026-W47.")

    def handle(self, *args, week: str | None = None, **options) -> None:
        monday = iso_week(week) if week else last_complete_week()

        def progress(items, total):
            return tqdm(items, total=total, desc=iso_week_label(monday), unit="area", disable=None)

        found = early_warning_run(week=monday, progress=progress)
        alerts = alert_list(Alert.objects.filter(pk__in=[alert.pk for alert in found]))
        for alert in alerts:
            self.stdout.write(
                f"{iso_week_label(alert.week)}  {alert.area.name}  {alert.group}: {alert.observed} reports, "
                f"{alert.expected:.1f} expected, alerts from {alert.threshold}, p = {alert.p_value:.2g}"
            )
        self.stdout.write(self.style.SUCCESS(f"{len(found)} alerts for {iso_week_label(monday)}."))
