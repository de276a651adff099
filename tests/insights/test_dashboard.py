"""The institution dashboard at /insights/ and its map data at /insights/map.json: who sees them,
what they show of the released tables (withheld cells, totals from the margins), what they refuse,
and their query counts."""

import re
from datetime import datetime, time, timedelta
from html.parser import HTMLParser
from itertools import cycle

import pytest
from django.contrib.auth import get_user_model
from django.contrib.gis.geos import Point
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from community.models import Area, Institution
from insights import views
from insights.aggregates import AreaRef, Row, TableQuery, TableResult, aggregate_table, institution_scope_for_user
from insights.rollup import rollup_rebuild
from insights.tables import TableSpec
from insights.views import period_label
from reports.models import Category, Report
from reports.services import report_verify, tracking_code_new

from ..conftest import PASSWORD
from ..factories import area, make_report, square

pytestmark = pytest.mark.django_db

DASHBOARD = "/insights/"
MAP = "/insights/map.json"
ENGLISH = {"HTTP_ACCEPT_LANGUAGE": "en"}


# --- Data ------------------------------------------------------------------------------------


def last_month(day: int = 15) -> datetime:
    """Noon on a day of the last complete month, in the project's time zone."""
    first = timezone.localdate().replace(day=1)
    return timezone.make_aware(datetime.combine((first - timedelta(days=1)).replace(day=day), time(12)))


def months_ago(months: int, day: int = 15) -> datetime:
    first = timezone.localdate().replace(day=1)
    for _month in range(months):
        first = (first - timedelta(days=1)).replace(day=1)
    return timezone.make_aware(datetime.combine(first.replace(day=day), time(12)))


def validated(cast, point: Point, count: int, *, when: datetime, **fields) -> None:
    for _index in range(count):
        report = make_report(point=point, occurred_at=when, **fields)
        report_verify(report=report, actor=cast["member_a"])


@pytest.fixture
def norte(geo) -> dict:
    """Two more municipalities in the region Norte, beside San Isidro."""
    return {
        "santa_rosa": area(
            "Santa Rosa", "TL0102", Area.Level.MUNICIPALITY, square(-88.5, 15.0, -88.2, 15.4), geo["region"]
        ),
        "tres_rios": area(
            "Tres Ríos", "TL0103", Area.Level.MUNICIPALITY, square(-87.8, 15.6, -87.5, 16.0), geo["region"]
        ),
        "santa_rosa_point": Point(-88.3, 15.2, srid=4326),
        "tres_rios_point": Point(-87.6, 15.8, srid=4326),
    }


@pytest.fixture
def sur(geo) -> dict:
    """A second region with its own institution and analyst."""
    region = area("Sur", "TL02", Area.Level.REGION, square(-88.5, 14.0, -87.5, 15.0), geo["country"])
    municipality = area("Puerto Lempa", "TL0201", Area.Level.MUNICIPALITY, square(-88.4, 14.2, -88.0, 14.6), region)
    institution = Institution.objects.create(name="Secretaría de Seguridad, Sur")
    institution.jurisdiction.add(region)
    analyst = get_user_model().objects.create_user(username="diego", password=PASSWORD)
    institution.analysts.add(analyst)
    return {"region": region, "municipality": municipality, "analyst": analyst, "point": Point(-88.2, 14.4, srid=4326)}


@pytest.fixture
def spread(cast, geo, norte) -> None:
    """Last month: San Isidro 12 (8 women, 4 men), Santa Rosa 2, Tres Ríos 9: the small ones withheld."""
    when = last_month()
    validated(cast, geo["west_point"], 8, when=when, affected_sex="female")
    validated(cast, geo["west_point"], 4, when=when, affected_sex="male")
    validated(cast, norte["santa_rosa_point"], 2, when=when, affected_sex="female")
    validated(cast, norte["tres_rios_point"], 9, when=when, affected_sex="male")


# --- Reading the page ------------------------------------------------------------------------


class _Table(HTMLParser):
    """The rows of one table (by id) as lists of cell texts, with the classes of each row."""

    def __init__(self, table_id: str) -> None:
        super().__init__()
        self.table_id, self.depth = table_id, 0
        self.rows: list[tuple[str, list[str]]] = []
        self.withheld: list[tuple[int, int]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table" and (self.depth or attrs.get("id") == self.table_id):
            self.depth += 1
        if not self.depth:
            return
        if tag == "tr":
            self.rows.append((attrs.get("class") or "", []))
        elif tag in ("td", "th") and self.rows:
            self._cell = []
            if "withheld" in (attrs.get("class") or ""):
                self.withheld.append((len(self.rows) - 1, len(self.rows[-1][1])))

    def handle_endtag(self, tag):
        if tag == "table" and self.depth:
            self.depth -= 1
        elif tag in ("td", "th") and self._cell is not None:
            self.rows[-1][1].append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def table_rows(response, table_id: str = "insights-table") -> _Table:
    parser = _Table(table_id)
    parser.feed(response.content.decode())
    return parser


def row_named(table: _Table, label: str, *, nth: int = 0) -> list[str]:
    """The cells of the nth row whose row header (first cell after any period cell) is `label`."""
    found = [cells for _classes, cells in table.rows[1:] if label in cells]
    return found[nth]


# --- Who sees it -----------------------------------------------------------------------------


@pytest.mark.parametrize("url", [DASHBOARD, MAP])
def test_it_sends_anonymous_visitors_to_log_in(client_for, url):
    response = client_for(None).get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


@pytest.mark.parametrize("who", ["member_a", "member_b"])
@pytest.mark.parametrize("url", [DASHBOARD, MAP])
def test_it_answers_404_to_committee_members(cast, client_for, who, url):
    assert client_for(cast[who]).get(url).status_code == 404


@pytest.mark.parametrize("who", ["analyst", "admin"])
def test_it_shows_the_dashboard_to_analysts_and_administrators(cast, client_for, spread, who):
    response = client_for(cast[who]).get(DASHBOARD, **ENGLISH)
    assert response.status_code == 200
    page = response.content.decode()
    assert 'href="/insights/" aria-current="page"' in page
    assert "San Isidro" in page
    assert client_for(cast[who]).get(MAP).status_code == 200


def test_it_never_shows_an_analyst_the_areas_outside_its_jurisdiction(cast, geo, client_for, spread, sur):
    validated(cast, sur["point"], 6, when=last_month())
    norte_analyst, sur_analyst = client_for(cast["analyst"]), client_for(sur["analyst"])

    for level in ("region", "municipality"):
        page = norte_analyst.get(DASHBOARD, {"level": level}, **ENGLISH).content.decode()
        assert "Norte" in page
        assert "Sur" not in page and "Puerto Lempa" not in page and "TL02" not in page
        features = norte_analyst.get(MAP, {"level": level}).json()["features"]
        assert features and all(feature["properties"]["code"].startswith("TL01") for feature in features)

    page = sur_analyst.get(DASHBOARD, **ENGLISH).content.decode()
    assert "Puerto Lempa" in page and "San Isidro" not in page and "Norte" not in page
    assert [f["properties"]["code"] for f in sur_analyst.get(MAP).json()["features"]] == ["TL0201"]

    # Asking for the other region by its code reads the same as asking for one that does not exist.
    for code in ("TL02", "NOPE"):
        response = norte_analyst.get(DASHBOARD, {"area": code}, **ENGLISH)
        assert response.status_code == 400
        assert "Puerto Lempa" not in response.content.decode()
        assert norte_analyst.get(MAP, {"area": code}).status_code == 404

    admin_page = client_for(cast["admin"]).get(DASHBOARD, {"level": "region"}, **ENGLISH).content.decode()
    assert "Norte" in admin_page and "Sur" in admin_page


# --- What it shows ---------------------------------------------------------------------------


def test_it_shows_withheld_cells_as_x_and_takes_totals_from_the_margins(cast, client_for, spread, settings):
    settings.INSIGHTS_SUPPRESSION_THRESHOLD = 5
    response = client_for(cast["analyst"]).get(DASHBOARD, {"dims": "sex"}, **ENGLISH)
    assert response.status_code == 200
    page = response.content.decode()
    assert "withheld to protect privacy: a count from 1 to 4" in page

    table = table_rows(response)
    header = table.rows[0][1]
    assert header[-5:] == ["Female", "Male", "Other", "Not stated", "Total"]
    # The latest complete month is the second block (the month under way comes first).
    santa_rosa = row_named(table, "Santa Rosa", nth=1)
    assert santa_rosa[-5:] == ["x", "0", "0", "0", "x"]
    assert table.withheld

    # The region's line is the released area margin, not a sum of the cells above it.
    result = aggregate_table(
        institution_scope_for_user(cast["analyst"]), TableQuery(level=2, period="month", dims=("sex",))
    )
    month = last_month().date().replace(day=1)
    margin = {
        dict(row.dims)["sex"]: row.shown
        for row in result.margins["area"]
        if row.period == month and row.area.code == "TL01"
    }
    total = row_named(table, "Total, Norte", nth=1)
    assert total[-5:-1] == [margin["female"], margin["male"], margin["other"], margin[""]]
    assert total[-5:-3] == ["10", "13"]
    # San Isidro's total column is its own margin cell (the table without the sex).
    san_isidro = row_named(table, "San Isidro", nth=1)
    released = {row.area.code: row.shown for row in result.margins["all_sex"] if row.period == month}
    assert san_isidro[-1] == released["TL0101"]


def test_it_breaks_a_table_down_by_two_dimensions_with_both_margins(cast, client_for, spread):
    response = client_for(cast["analyst"]).get(DASHBOARD, {"dims": "group,sex", "level": "region"}, **ENGLISH)
    assert response.status_code == 200
    table = table_rows(response)
    assert table.rows[0][1][-5:] == ["Female", "Male", "Other", "Not stated", "Total"]
    violence = row_named(table, "Violence against people", nth=1)
    assert violence[-5:] == ["10", "13", "0", "0", "23"]
    assert row_named(table, "Total", nth=1)[-5:-1] == ["10", "13", "0", "0"]


def test_it_shows_category_subtotals_per_group(cast, client_for, spread):
    response = client_for(cast["analyst"]).get(DASHBOARD, {"dims": "category", "level": "region"}, **ENGLISH)
    table = table_rows(response)
    assert row_named(table, "Assault", nth=1)[-1] == "23"
    assert row_named(table, "Total, Violence against people", nth=1)[-1] == "23"


def test_it_redirects_ticked_boxes_to_one_query_string(cast, client_for):
    response = client_for(cast["analyst"]).get(DASHBOARD + "?dims=group&dims=sex&level=region")
    assert response.status_code == 302
    assert response["Location"] == DASHBOARD + "?dims=group%2Csex&level=region"


def test_it_links_the_downloads_with_the_same_query(cast, client_for, spread):
    page = client_for(cast["analyst"]).get(DASHBOARD, {"dims": "sex", "level": "region"}).content.decode()
    for fmt in ("csv", "hxl", "geojson"):
        assert f'href="{reverse("exports:institution", kwargs={"fmt": fmt})}?dims=sex&amp;level=region"' in page


def test_it_draws_a_chart_per_group_of_the_jurisdiction(cast, client_for, spread):
    response = client_for(cast["analyst"]).get(DASHBOARD, **ENGLISH)
    page = response.content.decode()
    assert page.count('<svg class="chart"') == 7  # every group of the general family
    assert "Violence against people: reports per period" in page
    chart = table_rows(response, "insights-chart-table")
    column = chart.rows[0][1].index("Violence against people")
    by_period = {cells[0]: cells[column] for _classes, cells in chart.rows[1:]}
    with translation.override("en"):
        assert by_period[period_label(last_month().date().replace(day=1), "month")] == "23"


def test_it_marks_withheld_points_and_never_joins_them(cast, geo, client_for, monkeypatch):
    """Which cells the release withholds is its own business: here the group table is given."""
    months = [months_ago(back).date().replace(day=1) for back in (3, 2, 1)]
    norte = AreaRef(geo["region"].id, geo["region"].code, geo["region"].name, Area.Level.REGION)
    counts = {"arms": [7, None, 6], "violence": [0, 0, 0]}
    real = views.aggregate_table

    def released(scope, query):
        if query.dims != ("group",):
            return real(scope, query)
        spec = TableSpec("B", query.level, query.period, ("group",))
        rows = [
            Row(norte, month, (("group", group),), count, "x" if count is None else str(count))
            for index, month in enumerate(months)
            for group, line in counts.items()
            for count in [line[index]]
        ]
        return TableResult(query=query, spec=spec, tier="B", threshold=5, rows=rows)

    monkeypatch.setattr(views, "aggregate_table", released)
    response = client_for(cast["analyst"]).get(DASHBOARD, **ENGLISH)
    page = response.content.decode()
    assert page.count('<svg class="chart"') == 2
    chart = table_rows(response, "insights-chart-table")
    assert [cells[1] for _classes, cells in chart.rows[1:]] == ["7", "x", "6"]
    assert chart.withheld == [(2, 1)]

    svg = page.split("Firearms and arms: reports per period")[1].split("</svg>")[0]
    marks = [round(float(x) + 3, 1) for x in re.findall(r'class="withheld-point" d="M([0-9.]+),', svg)]
    assert len(marks) == 1
    assert re.findall(r'<polyline class="series"', svg) == []  # no two published points side by side
    circles = [float(x) for x in re.findall(r'<circle class="point" cx="([0-9.]+)"', svg)]
    assert len(circles) == 2 and marks[0] not in circles
    assert "Withheld to protect privacy: not drawn, and the line is broken there" in page


def test_it_explains_a_refused_table(cast, client_for, spread):
    response = client_for(cast["analyst"]).get(DASHBOARD, {"dims": "group,category"}, **ENGLISH)
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="insights-refused"' in page
    assert "Choose either category or category group, not both." in page
    assert 'id="insights-table"' not in page


@pytest.mark.parametrize(
    "query",
    [{"dims": "colour"}, {"start": "2026-05-01", "end": "2026-04-01"}, {"sex_is": "robot"}, {"level": "street"}],
)
def test_it_reports_bad_input_without_a_table(cast, client_for, query):
    response = client_for(cast["analyst"]).get(DASHBOARD, query, **ENGLISH)
    assert response.status_code == 400
    page = response.content.decode()
    assert 'class="field-error"' in page
    assert 'id="insights-table"' not in page
    assert client_for(cast["analyst"]).get(MAP, query).status_code == 400


# --- The map ---------------------------------------------------------------------------------


def test_the_map_shows_the_latest_complete_period_with_withheld_areas_and_rates(cast, geo, client_for, spread):
    Area.objects.filter(pk=geo["municipality"].pk).update(population=40_000)
    data = client_for(cast["analyst"]).get(MAP, {"dims": "sex"}).json()
    assert data["refused"] is None
    assert data["complete"] is True
    assert data["period"] == last_month().date().replace(day=1).isoformat()
    by_code = {feature["properties"]["code"]: feature for feature in data["features"]}
    assert set(by_code) == {"TL0101", "TL0102", "TL0103"}
    san_isidro = by_code["TL0101"]["properties"]
    assert (san_isidro["count"], san_isidro["withheld"], san_isidro["rate"]) == (12, False, 30.0)
    assert by_code["TL0102"]["properties"] == {
        "code": "TL0102",
        "name": "Santa Rosa",
        "count": None,
        "shown": "x",
        "withheld": True,
        "population": None,
        "rate": None,
    }
    assert by_code["TL0101"]["geometry"]["type"] in ("Polygon", "MultiPolygon")


def test_the_map_never_shows_sexual_and_intimate_partner_violence(cast, geo, client_for, spread):
    validated(cast, geo["west_point"], 6, when=last_month(), category_code="sexual_violence")
    analyst = client_for(cast["analyst"])
    for query in ({"family": "sensitive"}, {"category_is": "sexual_violence"}):
        data = analyst.get(MAP, query, **ENGLISH).json()
        assert data["features"] == []
        assert data["refused"] == (
            "Sexual and intimate-partner violence is never shown on a map: the table and the chart show it."
        )
        page = analyst.get(DASHBOARD, query, **ENGLISH).content.decode()
        assert 'id="insights-map-refused"' in page
        assert "insights.js" not in page and "/insights/map.json" not in page
        assert 'id="insights-table"' in page
        assert reverse("exports:institution", kwargs={"fmt": "geojson"}) not in page
        assert reverse("exports:institution", kwargs={"fmt": "csv"}) in page


# --- Query counts ----------------------------------------------------------------------------


def bulk_validated(geo, norte, count: int) -> None:
    """Many validated reports fast: rows written directly, then the rollup rebuilt."""
    areas = cycle([geo["west"], geo["east"], norte["santa_rosa"], norte["tres_rios"]])
    categories = cycle(list(Category.objects.filter(is_sensitive=False)))
    sexes = cycle(["female", "male", "", "other"])
    reports = []
    for index in range(count):
        where = next(areas)
        reports.append(
            Report(
                tracking_code=tracking_code_new(),
                category=next(categories),
                occurred_at=months_ago(index % 14, day=1 + index % 27),
                location_source=Report.LocationSource.AREA,
                area=where,
                area_path=[where.id, *(ancestor.id for ancestor in where.ancestors())],
                status=Report.Status.VERIFIED,
                affected_sex=next(sexes),
            )
        )
    Report.objects.bulk_create(reports)
    rollup_rebuild()


def queries_for(client, query: dict) -> int:
    # Released tables are computed once per rollup version and cached; the page itself reads a
    # fixed number of rows whatever the data: the access check, labels, areas, the tables' cells.
    assert client.get(DASHBOARD, query).status_code == 200
    with CaptureQueriesContext(connection) as captured:
        assert client.get(DASHBOARD, query).status_code == 200
    return len(captured)


@pytest.mark.parametrize("query", [{}, {"dims": "sex"}])
def test_it_runs_the_same_number_of_queries_for_little_and_much_data(cast, geo, norte, client_for, query):
    analyst = client_for(cast["analyst"])
    bulk_validated(geo, norte, 12)
    few = queries_for(analyst, query)
    bulk_validated(geo, norte, 150)
    many = queries_for(analyst, query)
    assert few == many
    assert many <= 25
