import difflib
import re
import unicodedata
from dataclasses import dataclass

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


@dataclass(frozen=True)
class GazetteerMatch:
    kind: str  # "place" or "area"
    id: int
    label: str


# Words people put before a name that the gazetteer does not carry.
NAME_PREFIXES = {"BARRIO", "BO", "COLONIA", "COL", "ALDEA", "CASERIO", "SECTOR", "EL", "LA", "LOS", "LAS", "KARTYE"}


def _fold(text: str) -> str:
    plain = "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))
    return " ".join(re.sub(r"[^\w]+", " ", plain.upper()).split())


def _core(text: str) -> str:
    words = _fold(text).split()
    while len(words) > 1 and words[0] in NAME_PREFIXES:
        words = words[1:]
    return " ".join(words)


def _gazetteer() -> list[tuple[GazetteerMatch, list[str]]]:
    entries = []
    for place in Place.objects.select_related("area").only("id", "name", "aliases", "area__name"):
        names = [place.name, *place.aliases]
        entries.append((GazetteerMatch("place", place.id, f"{place.name} ({place.area.name})"), names))
    for area in Area.objects.filter(level__gte=Area.Level.MUNICIPALITY).only("id", "name"):
        entries.append((GazetteerMatch("area", area.id, area.name), [area.name]))
    return entries


def gazetteer_search(text: str, *, limit: int = 5) -> list[GazetteerMatch]:
    """Places and areas matching what a resident typed: exact name or alias (ignoring case,
    accents and words such as "Barrio"), then names contained in the text, then close spellings."""
    wanted = _core(text)
    if not wanted:
        return []
    entries = [(match, {_core(name) for name in names if name}) for match, names in _gazetteer()]
    exact = [match for match, names in entries if wanted in names]
    if exact:
        return exact[:limit]
    padded = f" {wanted} "
    contained = [match for match, names in entries if any(f" {name} " in padded for name in names if len(name) > 2)]
    if contained:
        return contained[:limit]
    scored = []
    for match, names in entries:
        ratio = max(difflib.SequenceMatcher(None, wanted, name).ratio() for name in names)
        if ratio >= 0.8:
            scored.append((ratio, match))
    scored.sort(key=lambda pair: -pair[0])
    return [match for _, match in scored[:limit]]
