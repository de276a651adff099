"""Load official administrative boundaries (GeoJSON, Shapefile, anything GDAL reads) into Area."""

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.contrib.gis.gdal import CoordTransform, DataSource, GDALException, SpatialReference
from django.contrib.gis.gdal.feature import Feature
from django.contrib.gis.gdal.layer import Layer
from django.contrib.gis.geos import GEOSException, GEOSGeometry, MultiPolygon, Polygon
from django.core.management.base import BaseCommand, CommandError, CommandParser, OutputWrapper
from django.db import transaction
from django.utils.translation import gettext as _
from tqdm import tqdm

from community.models import Area
from community.services import KEEP, area_upsert

WGS84 = 4326
VALID = "Valid Geometry"  # what GEOS answers in valid_reason for a valid geometry
MAX_POPULATION = 2_147_483_647  # PositiveIntegerField's upper bound in PostgreSQL


class Skip(Exception):
    """A feature that cannot be imported; the message says why."""

    def __init__(self, message: str, warning: bool = False) -> None:
        super().__init__(message)
        self.warning = warning


@dataclass(frozen=True)
class Source:
    """Which attribute holds what, and how to bring geometries to EPSG:4326."""

    code_field: str
    name_field: str
    parent_field: str | None
    population_field: str | None
    level_field: str | None
    level: int | None
    transform: CoordTransform | None


@dataclass(frozen=True)
class Row:
    code: str
    name: str
    level: int
    parent_code: str | None
    population: int | None


@dataclass
class Tally:
    created: int = 0
    updated: int = 0
    repaired: int = 0
    skipped: int = 0
    imported: dict[str, Area] = field(default_factory=dict)  # by code, to find parents without a query


def level_parse(value: str) -> int:
    text = value.strip().lower()
    for level in Area.Level:
        if text in (level.name.lower(), str(level.value)):
            return level.value
    raise ValueError(text)


def _level_option(value: object) -> int:
    # Parsed here rather than by argparse: call_command(level=...) hands the raw value through.
    try:
        return level_parse(str(value))
    except ValueError:
        message = _("unknown level %(level)r; use country, region, municipality or community")
        raise CommandError(message % {"level": value}) from None


def _text(feature: Feature, field_name: str | None) -> str:
    if field_name is None:
        return ""
    try:
        value = feature.get(field_name)
    except UnicodeDecodeError:
        message = _("field %(field)r is not %(encoding)s text; pass the file's --encoding")
        raise Skip(message % {"field": field_name, "encoding": feature.encoding}) from None
    if value is None:
        return ""
    # Numeric columns (common for codes in shapefiles) come back as 12.0; the code is "12".
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _population(text: str) -> int | None:
    if not text:
        return None
    try:
        number = float(text)
    except ValueError:
        number = float("nan")
    # No guessing at thousands separators: "12.345" means 12345 in some locales and 12.345 in others.
    if not number.is_integer() or not 0 <= number <= MAX_POPULATION:
        raise Skip(_("population %(value)r is not a whole number of people") % {"value": text})
    return int(number)


def _row(feature: Feature, source: Source) -> Row:
    code, name = _text(feature, source.code_field), _text(feature, source.name_field)
    if not code or not name:
        raise Skip(_("empty code or name"), warning=True)
    for value, field_name in ((code, "code"), (name, "name")):
        if len(value) > Area._meta.get_field(field_name).max_length:
            raise Skip(_("%(field)s %(value)r is too long") % {"field": field_name, "value": value})
    level = source.level
    if source.level_field is not None:
        try:
            level = level_parse(_text(feature, source.level_field))
        except ValueError as exc:
            raise Skip(_("code %(code)r has unknown level %(level)r") % {"code": code, "level": str(exc)}) from None
    parent_code = _text(feature, source.parent_field) or None
    return Row(code, name, level, parent_code, _population(_text(feature, source.population_field)))


def _lonlat(extent: tuple[float, float, float, float]) -> bool:
    x0, y0, x1, y1 = extent
    return -180 <= x0 <= x1 <= 180 and -90 <= y0 <= y1 <= 90


def _polygonal(shape: GEOSGeometry) -> MultiPolygon | None:
    """The polygon parts of a geometry as one MultiPolygon; repair can leave stray lines and points."""
    if isinstance(shape, Polygon):
        return MultiPolygon(shape, srid=shape.srid)
    if isinstance(shape, MultiPolygon):
        return shape
    if shape.geom_type == "GeometryCollection":
        parts = [polygon for part in shape for polygon in (_polygonal(part) or [])]
        return MultiPolygon(parts, srid=shape.srid) if parts else None
    return None


def _boundary(feature: Feature, transform: CoordTransform | None) -> tuple[MultiPolygon, bool]:
    """The feature's geometry in EPSG:4326 as a valid MultiPolygon; True when it had to be repaired."""
    try:
        geometry = feature.geom
        # The column is 2D; PostGIS refuses Z or M coordinates in it.
        geometry.set_3d(False)
        geometry.set_measured(False)
        if transform is not None:
            geometry.transform(transform)
        shape = GEOSGeometry(geometry.wkb, srid=WGS84)
    except (GDALException, GEOSException) as exc:
        raise Skip(_("geometry is missing or unreadable (%(error)s)") % {"error": exc}) from None
    polygons = _polygonal(shape)
    if polygons is None or polygons.empty:
        raise Skip(_("geometry is an empty or non-polygonal %(type)s") % {"type": shape.geom_type})
    repaired = polygons.valid_reason != VALID
    if repaired:
        polygons = _polygonal(polygons.make_valid())
    if polygons is None or polygons.empty or polygons.valid_reason != VALID:
        raise Skip(_("geometry could not be repaired into a valid polygon"))
    return polygons, repaired


def _parent(row: Row, tally: Tally) -> Area | None:
    if row.parent_code is None:
        return None
    parent = tally.imported.get(row.parent_code) or Area.objects.filter(code=row.parent_code).first()
    if parent is None:
        message = _("parent code %(parent)r is not a known area (import parents first, or list them earlier)")
        raise Skip(message % {"parent": row.parent_code})
    # Levels strictly increase downwards, which also rules out an area being its own ancestor.
    if parent.level >= row.level:
        raise Skip(
            _("parent %(parent)r is a %(parent_level)s and cannot contain a %(level)s")
            % {
                "parent": parent.code,
                "parent_level": parent.get_level_display(),
                "level": Area.Level(row.level).label,
            }
        )
    return parent


class Command(BaseCommand):
    help = (
        "Create or update areas from a boundary file (GeoJSON, Shapefile, ...), matched by code. "
        "Geometries are reprojected to EPSG:4326 and repaired; the whole file is imported or nothing is."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="GeoJSON file, Shapefile (.shp) or any other vector file GDAL reads.")
        parser.add_argument("--layer", help="Layer name or index, for files with several layers (default: first).")
        parser.add_argument(
            "--encoding",
            default="utf-8",
            help="Text encoding of the attributes when the file does not declare one (default utf-8).",
        )
        parser.add_argument("--name-field", required=True, help="Attribute holding the area's name.")
        parser.add_argument("--code-field", required=True, help="Attribute holding the official code (P-code).")
        parser.add_argument("--parent-field", help="Attribute holding the parent area's code.")
        parser.add_argument("--population-field", help="Attribute holding the population.")
        levels = parser.add_mutually_exclusive_group(required=True)
        levels.add_argument("--level", help="Level of every feature: country, region, municipality, community.")
        levels.add_argument("--level-field", help="Attribute holding each feature's level name (or 0-3).")
        parser.add_argument(
            "--tolerance",
            type=float,
            default=0.0005,
            help="Simplification tolerance for the display boundary, in degrees (default 0.0005, about 50 m).",
        )
        parser.add_argument(
            "--strict", action="store_true", help="Fail and import nothing if any feature would be skipped."
        )

    def handle(self, *args, **options) -> None:
        if options["tolerance"] < 0:
            raise CommandError(_("--tolerance must be zero or more degrees."))
        layer = self._open_layer(options["path"], options["layer"], options["encoding"])
        source = self._source(layer, options)
        with transaction.atomic():
            tally = self._import(layer, source, options)
        summary = _("Created %(created)s, updated %(updated)s, repaired %(repaired)s, skipped %(skipped)s.")
        style = self.style.WARNING if tally.skipped else self.style.SUCCESS
        counts = {
            "created": tally.created,
            "updated": tally.updated,
            "repaired": tally.repaired,
            "skipped": tally.skipped,
        }
        self.stdout.write(style(summary % counts))

    def _open_layer(self, path: str, layer_key: str | None, encoding: str) -> Layer:
        # GDAL's own message for a missing file is a vague "could not open".
        if not path.startswith("/vsi") and not Path(path).exists():
            raise CommandError(_("No such file: %(path)s") % {"path": path})
        try:
            source = DataSource(path, encoding=encoding)
        except GDALException:
            message = _("Could not read %(path)s as a vector file (GeoJSON, Shapefile, ...).") % {"path": path}
            raise CommandError(message) from None
        names = [layer.name for layer in source]
        if not names:
            raise CommandError(_("%(path)s has no layers.") % {"path": path})
        if layer_key is None:
            if len(names) > 1:
                self._say(
                    _("Reading layer %(name)r; the file also has %(others)s.")
                    % {"name": names[0], "others": ", ".join(names[1:])},
                    self.style.WARNING,
                )
            return source[0]
        if layer_key in names:
            return source[layer_key]
        if layer_key.isdigit() and int(layer_key) < len(names):
            return source[int(layer_key)]
        raise CommandError(
            _("No layer %(layer)r; the file has: %(names)s.") % {"layer": layer_key, "names": ", ".join(names)}
        )

    def _source(self, layer: Layer, options: dict) -> Source:
        named = {
            "--name-field": options["name_field"],
            "--code-field": options["code_field"],
            "--parent-field": options["parent_field"],
            "--population-field": options["population_field"],
            "--level-field": options["level_field"],
        }
        for option, field_name in named.items():
            if field_name is not None and field_name not in layer.fields:
                raise CommandError(
                    _("%(option)s %(field)r is not a field of layer %(layer)r; its fields are: %(fields)s.")
                    % {"option": option, "field": field_name, "layer": layer.name, "fields": ", ".join(layer.fields)}
                )
        return Source(
            code_field=options["code_field"],
            name_field=options["name_field"],
            parent_field=options["parent_field"],
            population_field=options["population_field"],
            level_field=options["level_field"],
            level=None if options["level"] is None else _level_option(options["level"]),
            transform=self._transform(layer),
        )

    def _transform(self, layer: Layer) -> CoordTransform | None:
        if layer.srs is not None:
            try:
                return CoordTransform(layer.srs, SpatialReference(WGS84))
            except GDALException as exc:
                message = _("Cannot reproject layer %(layer)r to EPSG:4326: %(error)s")
                raise CommandError(message % {"layer": layer.name, "error": exc}) from None
        # Projected metres read as degrees would put every area off the globe; refuse rather than guess.
        if len(layer) and not _lonlat(layer.extent.tuple):
            raise CommandError(
                _(
                    "Layer %(layer)r has no spatial reference and its coordinates are not longitude/latitude; "
                    "add the .prj file that came with it."
                )
                % {"layer": layer.name}
            )
        self._say(
            _("Layer %(layer)r has no spatial reference; assuming EPSG:4326 (longitude/latitude).")
            % {"layer": layer.name},
            self.style.WARNING,
        )
        return None

    def _import(self, layer: Layer, source: Source, options: dict) -> Tally:
        tally = Tally()
        # disable=None turns the bar off when stderr is not a terminal (cron, CI, tests).
        quiet = options["verbosity"] == 0 or None
        with tqdm(layer, total=len(layer), unit=" features", file=sys.stderr, disable=quiet) as features:
            for feature in features:
                try:
                    self._import_feature(feature, source, tally, options)
                except Skip as skip:
                    self._skip(feature, skip, tally, strict=options["strict"])
        return tally

    def _skip(self, feature: Feature, skip: Skip, tally: Tally, strict: bool) -> None:
        if strict:
            message = _("Feature %(fid)s: %(reason)s. Stopped by --strict; nothing was imported.")
            raise CommandError(message % {"fid": feature.fid, "reason": skip}) from None
        tally.skipped += 1
        style = self.style.WARNING if skip.warning else self.style.ERROR
        self._say(_("Feature %(fid)s: %(reason)s; skipped.") % {"fid": feature.fid, "reason": skip}, style)

    def _import_feature(self, feature: Feature, source: Source, tally: Tally, options: dict) -> None:
        row = _row(feature, source)
        if row.code in tally.imported:
            raise Skip(_("code %(code)r appears earlier in this file") % {"code": row.code})
        parent = _parent(row, tally) if source.parent_field else KEEP
        boundary, repaired = _boundary(feature, source.transform)
        area, created = area_upsert(
            code=row.code,
            name=row.name,
            level=row.level,
            boundary=boundary,
            display_tolerance=options["tolerance"],
            parent=parent,
            population=row.population if source.population_field else KEEP,
        )
        tally.imported[area.code] = area
        tally.created += created
        tally.updated += not created
        tally.repaired += repaired
        if repaired and options["verbosity"] >= 2:
            note = _("Feature %(fid)s: repaired the boundary of %(code)r.") % {"fid": feature.fid, "code": area.code}
            self._say(note, str, self.stdout)

    def _say(self, message: str, style: Callable[[str], str], stream: OutputWrapper | None = None) -> None:
        # Clear the progress bar first so the line is not drawn over it.
        with tqdm.external_write_mode(file=sys.stderr):
            (stream or self.stderr).write(message, style)
