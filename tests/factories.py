"""Small builders shared by the tests: a tiny geography and reports inside it."""

from datetime import timedelta

from django.contrib.gis.geos import MultiPolygon, Point, Polygon
from django.utils import timezone

from community.models import Area, Place
from reports.models import Category, Report
from reports.services import report_create


def square(x0: float, y0: float, x1: float, y1: float) -> MultiPolygon:
    return MultiPolygon(Polygon(((x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0))), srid=4326)


def area(name: str, code: str, level: int, boundary: MultiPolygon, parent: Area | None = None) -> Area:
    return Area.objects.create(name=name, code=code, level=level, boundary=boundary, parent=parent)


def build_geography() -> dict:
    """Country > region > municipality > two communities side by side (west and east)."""
    country = area("Testland", "TL", Area.Level.COUNTRY, square(-89.0, 14.0, -87.0, 16.0))
    region = area("Norte", "TL01", Area.Level.REGION, square(-88.5, 15.0, -87.5, 16.0), country)
    municipality = area("San Isidro", "TL0101", Area.Level.MUNICIPALITY, square(-88.2, 15.4, -87.8, 15.6), region)
    west = area("La Ceiba", "TL010101", Area.Level.COMMUNITY, square(-88.2, 15.4, -88.0, 15.6), municipality)
    east = area("El Carmen", "TL010102", Area.Level.COMMUNITY, square(-88.0, 15.4, -87.8, 15.6), municipality)
    place = Place.objects.create(
        name="Parque Central", aliases=["El Parque"], point=Point(-88.1, 15.5, srid=4326), area=west
    )
    return {
        "country": country,
        "region": region,
        "municipality": municipality,
        "west": west,
        "east": east,
        "place": place,
        "west_point": Point(-88.1, 15.5, srid=4326),
        "east_point": Point(-87.9, 15.5, srid=4326),
        "outside_point": Point(-60.0, 10.0, srid=4326),
    }


def make_report(*, point: Point, category_code: str = "assault", **fields) -> Report:
    defaults = {
        "category": Category.objects.get(code=category_code),
        "description": "Two men fighting by the school gate.",
        "occurred_at": timezone.now() - timedelta(hours=3),
        "location": point,
        "location_source": Report.LocationSource.MAP,
    }
    defaults.update(fields)
    return report_create(**defaults)
