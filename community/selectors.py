from django.contrib.gis.geos import Point
from django.db.models import QuerySet

from .models import Area, Place


def area_for_point(point: Point) -> Area | None:
    """The most detailed configured area that contains the point, or None when outside all."""
    return Area.objects.filter(boundary__covers=point).order_by("-level", "id").first()


def area_choices() -> QuerySet[Area]:
    """Areas a resident can pick by name when they cannot point at a spot."""
    return Area.objects.filter(level__gte=Area.Level.MUNICIPALITY).select_related("parent").order_by("name")


def place_choices() -> QuerySet[Place]:
    return Place.objects.select_related("area").order_by("name")
