import difflib
import re
import time
import unicodedata
from dataclasses import dataclass

from django.contrib.gis.geos import Point
from django.db import connection
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from .models import Area, Committee, Institution, Membership, Place

# Written out, in one statement: the ORM spent more CPU building this query (with the parents joined
# and the boundaries deferred) than the database spent answering it, on every located report.
_AREA_CHAIN = """
    WITH RECURSIVE chain AS (
        (SELECT id, name, code, level, parent_id, population, 0 AS depth
         FROM community_area WHERE ST_Covers(boundary, ST_GeomFromEWKB(%s))
         ORDER BY level DESC, id LIMIT 1)
        UNION ALL
        SELECT area.id, area.name, area.code, area.level, area.parent_id, area.population, chain.depth + 1
        FROM community_area area JOIN chain ON area.id = chain.parent_id
        WHERE chain.depth < 8
    )
    SELECT id, name, code, level, parent_id, population FROM chain ORDER BY depth
"""
_AREA_FIELDS = ["id", "name", "code", "level", "parent_id", "population"]


def area_for_point(point: Point) -> Area | None:
    """The most detailed configured area that contains the point, or None when outside all.

    It comes without its boundaries (large; loaded if touched) and with its parents, so that
    Area.ancestors(), a report's area path, needs no further query.
    """
    if point.srid != 4326:
        point = point.transform(4326, clone=True) if point.srid else Point(point.x, point.y, srid=4326)
    with connection.cursor() as cursor:
        cursor.execute(_AREA_CHAIN, [bytes(point.ewkb)])
        chain = [Area.from_db(connection.alias, _AREA_FIELDS, row) for row in cursor.fetchall()]
    for area, parent in zip(chain, chain[1:], strict=False):
        area.parent = parent
    return chain[0] if chain else None


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


# The folded gazetteer, built once per process and rebuilt when a place or an area is added or removed
# (seen by one cheap query per search), or a minute old (renames and new aliases).
GAZETTEER_TTL_SECONDS = 60
_gazetteer_index: tuple[tuple | None, float, list] = (None, 0.0, [])


def _gazetteer_version() -> tuple:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (SELECT count(*) FROM community_place), (SELECT max(id) FROM community_place),"
            " (SELECT count(*) FROM community_area), (SELECT max(id) FROM community_area)"
        )
        return cursor.fetchone()


def _gazetteer_folded() -> list[tuple[GazetteerMatch, set[str]]]:
    global _gazetteer_index
    version, now = _gazetteer_version(), time.monotonic()
    built_for, built_at, entries = _gazetteer_index
    if built_for != version or now - built_at >= GAZETTEER_TTL_SECONDS:
        entries = [(match, {_core(name) for name in names if name}) for match, names in _gazetteer()]
        _gazetteer_index = (version, now, entries)
    return entries


def gazetteer_search(text: str, *, limit: int = 5) -> list[GazetteerMatch]:
    """Places and areas matching what a resident typed: exact name or alias (ignoring case,
    accents and words such as "Barrio"), then names contained in the text, then close spellings."""
    wanted = _core(text)
    if not wanted:
        return []
    entries = _gazetteer_folded()
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


def area_descendant_ids(area_ids: list[int]) -> set[int]:
    """The areas and every area below them, in one recursive query."""
    if not area_ids:
        return set()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH RECURSIVE tree(id) AS (
                SELECT id FROM community_area WHERE id = ANY(%s)
                UNION SELECT child.id FROM community_area child JOIN tree ON child.parent_id = tree.id
            )
            SELECT id FROM tree
            """,
            [list(area_ids)],
        )
        return {row[0] for row in cursor.fetchall()}


def committee_ids_for(user) -> list[int]:
    if not user.is_authenticated:
        return []
    return list(Membership.objects.filter(user=user).values_list("committee_id", flat=True))


def committee_for_user(user, committee_id: int) -> Committee:
    """The one access check for committees: members (and administrators) only; others get 404."""
    if user.is_authenticated and user.is_superuser:
        return get_object_or_404(Committee, pk=committee_id)
    return get_object_or_404(Committee, pk=committee_id, memberships__user=user)


def served_area_ids(user) -> list[int]:
    """Areas served by the user's committees (not their descendants: reports carry their ancestors)."""
    return list(
        Committee.areas.through.objects.filter(committee_id__in=committee_ids_for(user)).values_list(
            "area_id", flat=True
        )
    )


def jurisdiction_area_ids(user) -> list[int]:
    if not user.is_authenticated:
        return []
    return list(
        Institution.jurisdiction.through.objects.filter(institution__analysts=user).values_list("area_id", flat=True)
    )
