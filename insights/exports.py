"""Released tables as files: CSV, HXL-tagged CSV and GeoJSON.

The builders are pure functions over a TableResult (insights.aggregates), so an export holds
exactly the cells the dashboard and the API show: no free text, no points, nothing unreleased.
The one read here is `area_display_geometries`, the area polygons a GeoJSON file is drawn with.

CSV columns, one row per released cell: `period` (first day, ISO 8601), `area_code`, `area_name`,
`area_level` (country, region, municipality, community), one column per dimension of the table
(its value; empty means "not stated"), `count` (empty when withheld) and `shown` (the value as
displayed: a number, "x" when withheld at tier B, "<10" at tier A). Column names stay English
whatever the language, so that scripts reading the files keep working; the HXL row names them
for people and tools.

HXL (Humanitarian Exchange Language) hashtags, on the row under the header:

    period       #date+start           first day of the period
    area_code    #country+code, #adm1+code, #adm2+code or #adm3+code  (by the table's level)
    area_name    #country+name, #adm1+name, #adm2+name or #adm3+name
    area_level   #meta+level
    group        #event+type+group+code   category group code (e.g. "violence")
    category     #event+type+code         Convive category code (e.g. "assault")
    channel      #meta+channel            how reports arrived (web, sms, whatsapp, api)
    sex          #affected+sex            affected person's sex (female, male, other)
    age          #affected+age            affected person's age band (0-14 ... 60+)
    count        #indicator+num           (+rounded at tier A: the 10-5 rule)
    shown        #indicator+shown

A row whose area is coarser than the table's level (reports located only that coarsely) keeps
its own code under the table's level hashtag; `area_level` tells them apart.
"""

import csv
import io
import json
import re

from django.db import connection

from .aggregates import Row, TableResult
from .tables import LEVEL_NAMES, SENSITIVE, TIER_PUBLIC

LEVEL_BY_NUMBER = {number: name for name, number in LEVEL_NAMES.items()}
HXL_AREA = {0: "#country", 1: "#adm1", 2: "#adm2", 3: "#adm3"}
HXL_DIMENSIONS = {
    "group": "#event+type+group+code",
    "category": "#event+type+code",
    "channel": "#meta+channel",
    "sex": "#affected+sex",
    "age": "#affected+age",
}
# Display geometry tolerance in degrees (about 50 m) when an area has no simplified copy.
SIMPLIFY_TOLERANCE = 0.0005
GEOJSON_DIGITS = 5


class MapRefused(ValueError):
    """The sensitive family is never drawn on a map: small areas would point at households."""


def table_meta(result: TableResult) -> dict:
    spec = result.spec
    return {
        "tier": result.tier,
        "level": LEVEL_BY_NUMBER[spec.level],
        "period": spec.period,
        "dims": list(spec.dims),
        "family": spec.family,
        "threshold": result.threshold,
    }


def area_record(row: Row) -> dict:
    return {"code": row.area.code, "name": row.area.name, "level": LEVEL_BY_NUMBER[row.area.level]}


def count_record(row: Row) -> dict:
    """One cell without its area: period, each dimension's value, count and shown."""
    return {"period": row.period.isoformat(), **dict(row.dims), "count": row.count, "shown": row.shown}


def table_columns(result: TableResult) -> list[str]:
    return ["period", "area_code", "area_name", "area_level", *result.spec.dims, "count", "shown"]


def hxl_tags(result: TableResult) -> list[str]:
    area = HXL_AREA[result.spec.level]
    count = "#indicator+num+rounded" if result.tier == TIER_PUBLIC else "#indicator+num"
    dims = [HXL_DIMENSIONS[name] for name in result.spec.dims]
    return ["#date+start", f"{area}+code", f"{area}+name", "#meta+level", *dims, count, "#indicator+shown"]


def _safe(text: str) -> str:
    # Spreadsheets run a cell starting with these as a formula; area names come from boundary files.
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _cells(row: Row) -> list[str]:
    return [
        row.period.isoformat(),
        _safe(row.area.code),
        _safe(row.area.name),
        LEVEL_BY_NUMBER[row.area.level],
        *(value for _name, value in row.dims),
        "" if row.count is None else str(row.count),
        row.shown,
    ]


def _csv(header_rows: list[list[str]], rows: list[Row]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerows(header_rows)
    writer.writerows(_cells(row) for row in rows)
    return buffer.getvalue()


def table_csv(result: TableResult) -> str:
    return _csv([table_columns(result)], result.rows)


def table_hxl(result: TableResult) -> str:
    return _csv([table_columns(result), hxl_tags(result)], result.rows)


def table_geojson(result: TableResult, geometries: dict[int, str]) -> dict:
    """A FeatureCollection: one Feature per area with its display polygon and its cells.

    `geometries` maps area id to a GeoJSON geometry text (see area_display_geometries)."""
    if result.spec.family == SENSITIVE:
        raise MapRefused(result.spec.family)
    features: dict[int, dict] = {}
    for row in result.rows:
        feature = features.get(row.area.id)
        if feature is None:
            geometry = geometries.get(row.area.id)
            feature = features[row.area.id] = {
                "type": "Feature",
                "id": row.area.code,
                "geometry": json.loads(geometry) if geometry else None,
                "properties": {**area_record(row), "counts": []},
            }
        feature["properties"]["counts"].append(count_record(row))
    return {
        "type": "FeatureCollection",
        "table": table_meta(result),
        "suppressed": result.suppressed,
        "features": list(features.values()),
    }


def area_display_geometries(area_ids: set[int]) -> dict[int, str]:
    """Each area's display polygon as GeoJSON text, in one query: the stored simplified copy, or
    else the boundary simplified by PostGIS (topology kept, so no polygon collapses to a line)."""
    if not area_ids:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, ST_AsGeoJSON(COALESCE(boundary_display, "
            "ST_Multi(ST_SimplifyPreserveTopology(boundary, %s))), %s) "
            "FROM community_area WHERE id = ANY(%s)",
            [SIMPLIFY_TOLERANCE, GEOJSON_DIGITS, sorted(area_ids)],
        )
        return dict(cursor.fetchall())


def export_filename(result: TableResult, extension: str) -> str:
    """A name that says which table this is, e.g. convive-B-general-municipality-month-sex.csv."""
    query, spec = result.query, result.spec
    parts = ["convive", result.tier, spec.family, LEVEL_BY_NUMBER[spec.level], spec.period, *spec.dims]
    parts += [value or "none" for _name, value in query.filters]
    if query.area_code:
        parts.append(query.area_code)
    if query.start:
        parts.append(f"from-{query.start.isoformat()}")
    if query.end:
        parts.append(f"to-{query.end.isoformat()}")
    name = "-".join(re.sub(r"[^A-Za-z0-9_.+]+", "_", part) for part in parts)
    return f"{name}.{extension}"
