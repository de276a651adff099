"""Every write to community data."""

from enum import Enum
from typing import Literal

from django.contrib.gis.geos import MultiPolygon, Polygon

from .models import Area


class _Keep(Enum):
    KEEP = "keep"


# Passed for a field the caller has no value for, so a re-import without, say, a population
# column does not wipe the census figures loaded earlier.
KEEP = _Keep.KEEP


def boundary_simplified(*, boundary: MultiPolygon, tolerance: float) -> MultiPolygon:
    """A lighter copy for maps; topology is preserved so no ring collapses or crosses itself."""
    simple = boundary.simplify(tolerance, preserve_topology=True)
    return MultiPolygon(simple, srid=boundary.srid) if isinstance(simple, Polygon) else simple


def area_upsert(
    *,
    code: str,
    name: str,
    level: int,
    boundary: MultiPolygon,
    display_tolerance: float,
    parent: Area | None | Literal[_Keep.KEEP] = KEEP,
    population: int | None | Literal[_Keep.KEEP] = KEEP,
) -> tuple[Area, bool]:
    """Create the area with this code or update it in place; True when it was created."""
    values = {
        "name": name,
        "level": level,
        "boundary": boundary,
        "boundary_display": boundary_simplified(boundary=boundary, tolerance=display_tolerance),
    }
    if parent is not KEEP:
        values["parent"] = parent
    if population is not KEEP:
        values["population"] = population
    return Area.objects.update_or_create(code=code, defaults=values)


# --- Action plans ------------------------------------------------------------------------------
# A plan links reports, so these writes call the reports services (report_plan_link, audit_record):
# the one place where community reaches into reports (DESIGN has community depend on nothing), since
# ActionPlan lives here while the report side of the link, its triage path and the audit live there.
