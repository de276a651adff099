import json
import subprocess
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.gis.geos import Point
from django.core.management import CommandError, call_command

from community.models import Area
from community.selectors import area_for_point

from ..factories import area, square

pytestmark = pytest.mark.django_db

REGION = [(-88.5, 15.0), (-87.5, 15.0), (-87.5, 16.0), (-88.5, 16.0), (-88.5, 15.0)]
MUNICIPALITY = [(-88.2, 15.4), (-87.8, 15.4), (-87.8, 15.6), (-88.2, 15.6), (-88.2, 15.4)]
WEST = [(-88.2, 15.4), (-88.0, 15.4), (-88.0, 15.6), (-88.2, 15.6), (-88.2, 15.4)]
# A ring that crosses itself at (-87.9, 15.5): valid only once split into two triangles.
BOWTIE = [(-88.0, 15.4), (-87.8, 15.6), (-87.8, 15.4), (-88.0, 15.6), (-88.0, 15.4)]


def feature(code: str, name: str, ring: list, **properties) -> dict:
    return {
        "type": "Feature",
        "properties": {"code": code, "name": name, **properties},
        "geometry": {"type": "Polygon", "coordinates": [ring]},
    }


def write_geojson(path: Path, features: list[dict]) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


def nested(name_of_west: str = "La Ceiba") -> list[dict]:
    return [
        feature("HN03", "Norte", REGION, level="region", parent=None, pop=900000),
        feature("HN0301", "San Isidro", MUNICIPALITY, level="municipality", parent="HN03", pop=40000),
        feature("HN030101", name_of_west, WEST, level="community", parent="HN0301", pop=1200),
        feature("HN030102", "El Carmen", BOWTIE, level="community", parent="HN0301", pop=None),
    ]


def run(path: Path, **options) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    options = {"name_field": "name", "code_field": "code", "stdout": out, "stderr": err, **options}
    call_command("import_areas", str(path), **options)
    return out.getvalue(), err.getvalue()


def import_nested(tmp_path: Path, **options) -> tuple[str, str]:
    path = write_geojson(tmp_path / "areas.geojson", options.pop("features", None) or nested())
    fields = {"level_field": "level", "parent_field": "parent", "population_field": "pop"}
    return run(path, **{**fields, **options})


def shapefile(tmp_path: Path, features: list[dict], srs: str) -> Path:
    source = write_geojson(tmp_path / "source.geojson", features)
    target = tmp_path / "areas.shp"
    command = ["ogr2ogr", "-f", "ESRI Shapefile", target, source, "-s_srs", "EPSG:4326", "-t_srs", srs]
    subprocess.run(command, check=True, capture_output=True)
    return target


def test_it_imports_nested_levels_from_geojson(tmp_path):
    out, _ = import_nested(tmp_path)

    assert "Created 4, updated 0, repaired 1, skipped 0." in out
    areas = {a.code: a for a in Area.objects.select_related("parent")}
    assert {code: a.level for code, a in areas.items()} == {
        "HN03": Area.Level.REGION,
        "HN0301": Area.Level.MUNICIPALITY,
        "HN030101": Area.Level.COMMUNITY,
        "HN030102": Area.Level.COMMUNITY,
    }
    assert areas["HN03"].parent is None
    assert areas["HN0301"].parent == areas["HN03"]
    assert areas["HN030101"].parent == areas["HN030102"].parent == areas["HN0301"]
    assert (areas["HN03"].population, areas["HN030102"].population) == (900000, None)
    for a in areas.values():
        assert a.boundary.valid and a.boundary.srid == 4326 and a.boundary.geom_type == "MultiPolygon"
        assert a.boundary_display.valid and a.boundary_display.geom_type == "MultiPolygon"


def test_it_repairs_the_bowtie_into_two_triangles_that_points_resolve_to(tmp_path):
    import_nested(tmp_path)

    bowtie = Area.objects.get(code="HN030102")
    assert len(bowtie.boundary) == 2
    assert bowtie.boundary.area == pytest.approx(0.02)
    assert area_for_point(Point(-88.1, 15.5, srid=4326)).code == "HN030101"
    assert area_for_point(Point(-87.97, 15.5, srid=4326)) == bowtie
    assert area_for_point(Point(-87.83, 15.5, srid=4326)) == bowtie


def test_it_reprojects_a_projected_shapefile_to_wgs84(tmp_path):
    path = shapefile(tmp_path, [feature("HN0301", "San Isidro", MUNICIPALITY)], "EPSG:32616")

    run(path, level="municipality")

    municipality = Area.objects.get(code="HN0301")
    assert municipality.boundary.srid == 4326
    assert municipality.boundary.extent == pytest.approx((-88.2, 15.4, -87.8, 15.6), abs=1e-7)
    assert area_for_point(Point(-88.0, 15.5, srid=4326)) == municipality


def test_it_assumes_wgs84_for_a_layer_without_a_spatial_reference_and_says_so(tmp_path):
    path = shapefile(tmp_path, [feature("HN0301", "San Isidro", MUNICIPALITY)], "EPSG:4326")
    path.with_suffix(".prj").unlink()

    _, err = run(path, level="municipality")

    assert "no spatial reference; assuming EPSG:4326" in err
    assert Area.objects.get(code="HN0301").boundary.extent == pytest.approx((-88.2, 15.4, -87.8, 15.6))


def test_it_refuses_projected_coordinates_without_a_spatial_reference(tmp_path):
    path = shapefile(tmp_path, [feature("HN0301", "San Isidro", MUNICIPALITY)], "EPSG:32616")
    path.with_suffix(".prj").unlink()

    with pytest.raises(CommandError, match="not longitude/latitude"):
        run(path, level="municipality")
    assert not Area.objects.exists()


def test_it_updates_by_code_when_run_again(tmp_path):
    import_nested(tmp_path)
    first_ids = set(Area.objects.values_list("id", flat=True))

    out, _ = import_nested(tmp_path, features=nested(name_of_west="La Ceiba Nueva"))

    assert "Created 0, updated 4, repaired 1, skipped 0." in out
    assert set(Area.objects.values_list("id", flat=True)) == first_ids
    assert Area.objects.get(code="HN030101").name == "La Ceiba Nueva"


def test_it_keeps_the_population_when_the_file_has_none(tmp_path):
    import_nested(tmp_path)
    path = write_geojson(tmp_path / "boundaries.geojson", [feature("HN03", "Norte", REGION)])

    run(path, level="region")

    assert Area.objects.get(code="HN03").population == 900000


def test_it_finds_a_parent_stored_by_an_earlier_import(tmp_path):
    region = area("Norte", "HN03", Area.Level.REGION, square(-88.5, 15.0, -87.5, 16.0))
    path = write_geojson(tmp_path / "m.geojson", [feature("HN0301", "San Isidro", MUNICIPALITY, parent="HN03")])

    run(path, level="municipality", parent_field="parent")

    assert Area.objects.get(code="HN0301").parent == region


def test_it_skips_a_feature_whose_parent_is_unknown(tmp_path):
    features = [*nested(), feature("HN030103", "El Pino", WEST, level="community", parent="XX99")]

    out, err = import_nested(tmp_path, features=features)

    assert "Feature 4: parent code 'XX99' is not a known area" in err
    assert "Created 4, updated 0, repaired 1, skipped 1." in out
    assert not Area.objects.filter(code="HN030103").exists()


def test_it_stores_nothing_when_strict_and_a_parent_is_unknown(tmp_path):
    features = [*nested(), feature("HN030103", "El Pino", WEST, level="community", parent="XX99")]

    with pytest.raises(CommandError, match="'XX99' is not a known area.*nothing was imported"):
        import_nested(tmp_path, features=features, strict=True)
    assert not Area.objects.exists()


def test_it_skips_a_parent_of_a_lower_level(tmp_path):
    features = [*nested(), feature("HN0302", "Otro", WEST, level="municipality", parent="HN030101")]

    _, err = import_nested(tmp_path, features=features)

    assert "parent 'HN030101' is a Community and cannot contain a Municipality" in err
    assert not Area.objects.filter(code="HN0302").exists()


def test_it_skips_a_feature_with_an_unreadable_population_or_level(tmp_path):
    features = [
        *nested(),
        feature("HN030103", "El Pino", WEST, level="community", parent="HN0301", pop="12.345"),
        feature("HN030104", "El Roble", WEST, level="barrio", parent="HN0301"),
    ]

    out, err = import_nested(tmp_path, features=features)

    assert "population '12.345' is not a whole number of people; skipped." in err
    assert "code 'HN030104' has unknown level 'barrio'; skipped." in err
    assert "Created 4, updated 0, repaired 1, skipped 2." in out


def test_it_skips_features_without_code_or_name_with_a_warning(tmp_path):
    features = [*nested(), feature("", "Sin código", WEST, level="community"), feature("HN9", " ", WEST)]

    out, err = import_nested(tmp_path, features=features)

    assert err.count("empty code or name; skipped") == 2
    assert "Created 4, updated 0, repaired 1, skipped 2." in out


def test_it_refuses_an_unknown_field_and_stores_nothing(tmp_path):
    with pytest.raises(CommandError, match="--parent-field 'padre' is not a field of layer"):
        import_nested(tmp_path, parent_field="padre")
    assert not Area.objects.exists()


def test_it_refuses_an_unknown_level(tmp_path):
    path = write_geojson(tmp_path / "areas.geojson", nested())
    with pytest.raises(CommandError, match="unknown level 'district'"):
        run(path, level="district")


def test_it_refuses_a_missing_file(tmp_path):
    with pytest.raises(CommandError, match="No such file"):
        run(tmp_path / "nowhere.geojson", level="region")


def test_it_refuses_an_unreadable_file(tmp_path):
    path = tmp_path / "areas.geojson"
    path.write_text("this is not geojson")

    with pytest.raises(CommandError, match="Could not read"):
        run(path, level="region")
    assert not Area.objects.exists()
