"""Recompute the pre-aggregated counts from the reports table (after bulk loads or imports)."""

from django.core.management.base import BaseCommand
from tqdm import tqdm

from insights.rollup import LEVELS, rollup_rebuild


class Command(BaseCommand):
    help = "Rebuild the insights rollup from the reports table."

    def handle(self, *args, **options) -> None:
        with tqdm(total=len(LEVELS) * 2, desc="rollup", unit="cuboid set", disable=None) as bar:
            cells = rollup_rebuild(progress=lambda level, kind: bar.update(1))
        self.stdout.write(self.style.SUCCESS(f"Rollup rebuilt: {cells} cells."))
