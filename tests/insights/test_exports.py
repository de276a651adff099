"""CSV, HXL and GeoJSON downloads: who gets which tier, what the files hold and never hold."""

import csv
import io
import json
from datetime import datetime, time, timedelta

import pytest
from django.contrib.gis.geos import Point
from django.utils import timezone

from community.models import Area, Institution
from reports.services import report_verify
from tests.factories import area, make_report, square

FORMATS = ["csv", "hxl", "geojson"]
ROLES = ["anonymous", "member_a", "member_b", "analyst", "admin"]
# Inside La Ceiba (west), on no boundary vertex: an export that held the point would show it.
ODD_POINT = Point(-88.1234, 15.4567, srid=4326)
DESCRIPTION = "Robo frente a la pulpería azul"


@pytest.fixture(autouse=True)
def _threshold(settings):
    settings.INSIGHTS_SUPPRESSION_THRESHOLD = 5


def months_ago(months: int, day: int = 15) -> datetime:
    """Noon, local time, on `day` of the month `months` before this one."""
    today = timezone.localdate()
    index = today.year * 12 + today.month - 1 - months
    moment = datetime.combine(today.replace(year=index // 12, month=index % 12 + 1, day=day), time(12))
    return timezone.make_aware(moment)


def month_of(moment: datetime) -> str:
    return timezone.localtime(moment).date().replace(day=1).isoformat()


def verified(cast, count: int, point: Point, occurred_at: datetime, **fields) -> list:
    reports = [
        make_report(point=point, occurred_at=occurred_at, description=DESCRIPTION, **fields) for _ in range(count)
    ]
    for report in reports:
        report_verify(report=report, actor=cast["admin"])
    return reports


@pytest.fixture
def south(geo) -> dict:
    """A second region outside the analyst's jurisdiction, with its own institution."""
    region = area("Sur", "TL02", Area.Level.REGION, square(-88.5, 14.0, -87.5, 15.0), geo["country"])
    municipality = area("Río Sur", "TL0201", Area.Level.MUNICIPALITY, square(-88.2, 14.4, -87.8, 14.6), region)
    area("Las Flores", "TL020101", Area.Level.COMMUNITY, square(-88.2, 14.4, -87.8, 14.6), municipality)
    Institution.objects.create(name="Secretaría de Seguridad, Sur").jurisdiction.add(region)
    return {"region": region, "point": Point(-88.1, 14.5, srid=4326)}


@pytest.fixture
def reports(cast, geo, south) -> list:
    """Reports in both regions, two months back: visible at both tiers. The 2 are withheld at tier
    B, and with them the 6 not stated (the smallest cell that keeps the 2 from the total)."""
    return [
        *verified(cast, 13, ODD_POINT, months_ago(2), affected_sex="female"),
        *verified(cast, 2, geo["east_point"], months_ago(2), affected_sex="male"),
        *verified(cast, 6, geo["west_point"], months_ago(2)),
        *verified(cast, 6, south["point"], months_ago(2), affected_sex="female"),
    ]


def client_as(client_for, cast, role: str):
    return client_for(None if role == "anonymous" else cast[role])


def table(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode())))


def records(response) -> list[dict]:
    header, *rows = table(response)
    return [dict(zip(header, row, strict=True)) for row in rows]


def records_hxl(response) -> list[dict]:
    header, _tags, *rows = table(response)
    return [dict(zip(header, row, strict=True)) for row in rows]


# --- Who gets what ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "status"),
    [("anonymous", 302), ("member_a", 404), ("member_b", 404), ("analyst", 200), ("admin", 200)],
)
def test_it_gives_institution_exports_to_analysts_and_administrators_only(client_for, cast, reports, role, status):
    client = client_as(client_for, cast, role)
    for fmt in FORMATS:
        response = client.get(f"/insights/export.{fmt}")
        assert response.status_code == status, fmt
        if status == 302:
            assert response["Location"].startswith("/accounts/login/")
        if status != 200:
            assert "TL01" not in response.content.decode()


@pytest.mark.parametrize("role", ROLES)
def test_it_gives_open_data_exports_to_everyone(client_for, cast, reports, role):
    client = client_as(client_for, cast, role)
    for fmt in FORMATS:
        response = client.get(f"/open-data/export.{fmt}")
        assert response.status_code == 200, fmt
        assert response["Content-Disposition"].startswith('attachment; filename="convive-A-general-municipality-month')


def test_it_exports_only_the_analysts_jurisdiction(client_for, cast, reports):
    client = client_for(cast["analyst"])
    for fmt in FORMATS:
        for level in ("region", "municipality", "community"):
            response = client.get(f"/insights/export.{fmt}", {"level": level})
            assert response.status_code == 200
            text = response.content.decode()
            assert "TL01" in text
            assert "TL02" not in text and "Sur" not in text and "Las Flores" not in text, (fmt, level)


def test_it_exports_every_area_to_an_administrator(client_for, cast, reports):
    rows = records(client_for(cast["admin"]).get("/insights/export.csv"))
    assert {row["area_code"] for row in rows} == {"TL0101", "TL0201"}


def test_it_checks_access_before_parameters(client_for, cast):
    assert client_for(cast["member_a"]).get("/insights/export.csv", {"level": "planet"}).status_code == 404


# --- What the files hold ---------------------------------------------------------------------


def test_it_writes_csv_with_a_column_per_dimension_and_empty_suppressed_cells(client_for, cast, reports):
    response = client_for(cast["analyst"]).get("/insights/export.csv", {"dims": "sex"})
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"] == ('attachment; filename="convive-B-general-municipality-month-sex.csv"')
    header = table(response)[0]
    assert header == ["period", "area_code", "area_name", "area_level", "sex", "count", "shown"]
    cells = {(row["period"], row["sex"]): row for row in records(response)}
    month = month_of(months_ago(2))
    assert cells[(month, "female")] == {
        "period": month,
        "area_code": "TL0101",
        "area_name": "San Isidro",
        "area_level": "municipality",
        "sex": "female",
        "count": "13",
        "shown": "13",
    }
    assert cells[(month, "male")]["count"] == "" and cells[(month, "male")]["shown"] == "x"
    assert cells[(month, "")]["count"] == "" and cells[(month, "other")]["count"] == "0"
    assert all((row["count"] == "") == (row["shown"] == "x") for row in cells.values())


def test_it_writes_hxl_hashtags_under_the_header(client_for, cast, reports):
    response = client_for(cast["analyst"]).get("/insights/export.hxl", {"dims": "category,sex"})
    assert response["Content-Disposition"].endswith('-category-sex.hxl.csv"')
    header, tags, *_rows = table(response)
    assert header == ["period", "area_code", "area_name", "area_level", "category", "sex", "count", "shown"]
    assert tags == [
        "#date+start",
        "#adm2+code",
        "#adm2+name",
        "#meta+level",
        "#event+type+code",
        "#affected+sex",
        "#indicator+num",
        "#indicator+shown",
    ]
    assert all(tag.startswith("#") for tag in tags)


@pytest.mark.parametrize(
    ("params", "area_tag", "dimension_tags"),
    [
        ({"level": "community", "dims": "age"}, "#adm3", ["#affected+age"]),
        ({"level": "region", "dims": "group,channel"}, "#adm1", ["#event+type+group+code", "#meta+channel"]),
        ({"level": "country"}, "#country", []),
    ],
)
def test_it_tags_each_level_and_dimension(client_for, cast, reports, params, area_tag, dimension_tags):
    tags = table(client_for(cast["admin"]).get("/insights/export.hxl", params))[1]
    assert tags[1:3] == [f"{area_tag}+code", f"{area_tag}+name"]
    assert tags[4:-2] == dimension_tags


def test_it_writes_geojson_with_one_feature_per_area_and_its_polygon(client_for, cast, geo, reports):
    display = square(-88.19, 15.41, -87.81, 15.59)
    Area.objects.filter(pk=geo["municipality"].pk).update(boundary_display=display)
    response = client_for(cast["admin"]).get("/insights/export.geojson", {"dims": "sex"})
    assert response["Content-Type"] == "application/geo+json"
    assert response["Content-Disposition"].endswith('-sex.geojson"')
    collection = json.loads(response.content)
    assert collection["type"] == "FeatureCollection"
    assert collection["table"]["dims"] == ["sex"]
    features = {feature["properties"]["code"]: feature for feature in collection["features"]}
    assert set(features) == {"TL0101", "TL0201"}
    norte = features["TL0101"]
    assert norte["properties"]["name"] == "San Isidro" and norte["properties"]["level"] == "municipality"
    assert norte["geometry"]["type"] == "MultiPolygon"
    assert norte["geometry"]["coordinates"][0][0][0] == [-88.19, 15.41]  # the display copy
    assert features["TL0201"]["geometry"]["coordinates"][0][0][0] == [-88.2, 14.4]  # simplified boundary
    month = month_of(months_ago(2))
    counts = {(cell["period"], cell["sex"]): cell for cell in norte["properties"]["counts"]}
    assert counts[(month, "female")] == {"period": month, "sex": "female", "count": 13, "shown": "13"}
    assert counts[(month, "male")]["count"] is None and counts[(month, "male")]["shown"] == "x"


def test_it_never_puts_sexual_violence_on_a_map(client_for, cast, geo):
    # Six months back: its quarter has ended and passed the month of lag, whatever today is.
    verified(cast, 12, geo["west_point"], months_ago(6), category_code="sexual_violence")
    client = client_for(cast["admin"])
    for url in ("/insights/export.geojson", "/open-data/export.geojson"):
        for params in ({"family": "sensitive"}, {"category_is": "sexual_violence"}):
            params = {"level": "region", "period": "quarter", **params}
            response = client.get(url, params, HTTP_ACCEPT_LANGUAGE="en")
            assert response.status_code == 400
            assert "never shown on a map" in response.content.decode()
            tabular = client.get(url.replace("geojson", "csv"), params)
            assert tabular.status_code == 200
            assert any(row["count"] for row in records(tabular))


def test_it_holds_no_free_text_and_no_points(client_for, cast, reports):
    urls = [f"/insights/export.{fmt}" for fmt in FORMATS] + [f"/open-data/export.{fmt}" for fmt in FORMATS]
    for url in urls:
        for level in ("region", "municipality", "community"):
            response = client_for(cast["admin"]).get(url, {"level": level, "dims": "sex"})
            text = response.content.decode()
            assert "pulpería" not in text
            assert not any(report.tracking_code in text for report in reports)
            assert "88.1234" not in text and "15.4567" not in text
            if url.endswith("geojson") and response.status_code == 200:
                geometries = {feature["geometry"]["type"] for feature in json.loads(text)["features"]}
                assert geometries <= {"Polygon", "MultiPolygon"}


# --- Open data -------------------------------------------------------------------------------


def test_it_publishes_under_10_and_rounded_counts(client_for, cast, reports):
    response = client_for(None).get("/open-data/export.hxl")
    assert table(response)[1][-2] == "#indicator+num+rounded"
    month = month_of(months_ago(2))
    cells = {(row["area_code"], row["period"]): row for row in records_hxl(response)}
    assert cells[("TL0101", month)]["count"] == "20" and cells[("TL0101", month)]["shown"] == "20"  # 21 reports
    assert cells[("TL0201", month)]["count"] == "" and cells[("TL0201", month)]["shown"] == "<10"  # 6 reports
    assert {row["shown"] for row in cells.values()} <= {"0", "<10", "20"}


def test_it_publishes_nothing_from_this_month_or_the_last(client_for, cast, geo, reports):
    verified(cast, 12, geo["west_point"], months_ago(1))
    verified(cast, 12, geo["west_point"], timezone.now() - timedelta(minutes=5))
    previous = month_of(months_ago(1))
    for fmt in ("csv", "geojson"):
        response = client_for(None).get(f"/open-data/export.{fmt}", {"period": "month"})
        if fmt == "csv":
            periods = {row["period"] for row in records(response)}
        else:
            features = json.loads(response.content)["features"]
            periods = {cell["period"] for feature in features for cell in feature["properties"]["counts"]}
        assert periods and max(periods) < previous, periods


def test_it_refuses_an_unreleasable_table_with_its_reason(client_for, cast):
    response = client_for(None).get("/open-data/export.csv", {"level": "community"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert "communities" in response.content.decode()


def test_it_rejects_invalid_parameters_with_translated_errors(client_for, cast):
    response = client_for(None).get("/open-data/export.csv", {"period": "decade"}, HTTP_ACCEPT_LANGUAGE="es")
    assert response.status_code == 400
    assert "Escoja una opción válida" in response.content.decode()


def test_it_answers_404_for_an_unknown_format(client_for, cast):
    assert client_for(None).get("/open-data/export.xlsx").status_code == 404
