"""The open-data page at /open-data/: anyone may read it; it shows tier A only (the 10-5 rule, a
month's lag, nothing finer than municipalities and months) and explains those rules."""

import pytest
from django.contrib.gis.geos import Point
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from community.models import Area
from insights.views import period_label

from ..factories import area, square
from .test_dashboard import ENGLISH, last_month, months_ago, row_named, table_rows, validated

pytestmark = pytest.mark.django_db

OPEN_DATA = "/open-data/"


def month_text(moment) -> str:
    with translation.override("en"):
        return period_label(timezone.localtime(moment).date().replace(day=1), "month")


@pytest.fixture
def norte(geo) -> dict:
    """Two more municipalities in the region Norte, beside San Isidro."""
    area("Santa Rosa", "TL0102", Area.Level.MUNICIPALITY, square(-88.5, 15.0, -88.2, 15.4), geo["region"])
    area("Tres Ríos", "TL0103", Area.Level.MUNICIPALITY, square(-87.8, 15.6, -87.5, 16.0), geo["region"])
    return {"santa_rosa_point": Point(-88.3, 15.2, srid=4326), "tres_rios_point": Point(-87.6, 15.8, srid=4326)}


@pytest.fixture
def published(cast, geo, norte) -> None:
    """Two months ago (published): San Isidro 12, Santa Rosa 7, Tres Ríos 13. Last month (not yet): 20."""
    validated(cast, geo["west_point"], 12, when=months_ago(2), affected_sex="female")
    validated(cast, norte["santa_rosa_point"], 7, when=months_ago(2), affected_sex="female")
    validated(cast, norte["tres_rios_point"], 13, when=months_ago(2), affected_sex="male")
    validated(cast, geo["east_point"], 20, when=last_month(), affected_sex="male")


@pytest.mark.parametrize("who", [None, "member_a", "member_b", "analyst", "admin"])
def test_anyone_may_read_it(cast, client_for, who):
    response = client_for(cast[who] if who else None).get(OPEN_DATA, **ENGLISH)
    assert response.status_code == 200
    page = response.content.decode()
    assert "The 10-5 rule." in page
    assert "A month's lag." in page


def test_it_shows_small_counts_as_under_10_and_rounds_the_rest(client_for, published):
    response = client_for(None).get(OPEN_DATA, {"level": "municipality"}, **ENGLISH)
    assert response.status_code == 200
    table = table_rows(response)
    assert row_named(table, "San Isidro")[-1] == "10"
    assert row_named(table, "Santa Rosa")[-1] == "<10"
    assert row_named(table, "Tres Ríos")[-1] == "15"
    # The region's total is its own rounded count (32 → 30), not a sum of rounded cells.
    assert row_named(table, "Total, Norte")[-1] == "30"
    page = response.content.decode()
    assert "from 1 to 9 reports" in page
    assert ">12<" not in page and ">7<" not in page and ">13<" not in page


def test_it_shows_nothing_of_the_last_full_month(client_for, published):
    response = client_for(None).get(OPEN_DATA, {"level": "municipality"}, **ENGLISH)
    page = response.content.decode()
    assert month_text(months_ago(2)) in page
    assert f"The latest month published is {month_text(months_ago(2))}." in page
    assert month_text(last_month()) not in page
    assert month_text(timezone.now()) not in page
    periods = {cells[0] for _classes, cells in table_rows(response).rows[1:] if cells}
    assert month_text(last_month()) not in periods
    chart = table_rows(response, "insights-chart-table")
    assert [cells[0] for _classes, cells in chart.rows[1:]][-1] == month_text(months_ago(2))


def test_it_never_shows_communities_or_weeks(client_for, published, geo):
    page = client_for(None).get(OPEN_DATA, **ENGLISH).content.decode()
    assert 'value="community"' not in page and 'value="week"' not in page
    assert geo["west"].name not in page and geo["east"].name not in page
    for query in ({"level": "community"}, {"period": "week"}, {"area": geo["west"].code}):
        response = client_for(None).get(OPEN_DATA, query, **ENGLISH)
        assert response.status_code == 400
        page = response.content.decode()
        assert 'class="field-error"' in page
        assert 'id="insights-table"' not in page
        assert geo["west"].name not in page


def test_it_publishes_sexual_and_intimate_partner_violence_only_by_region_and_quarter(cast, geo, client_for):
    validated(cast, geo["west_point"], 12, when=months_ago(4), category_code="sexual_violence")
    visitor = client_for(None)
    page = visitor.get(OPEN_DATA, {"family": "sensitive", "level": "municipality"}, **ENGLISH).content.decode()
    assert "Sexual and intimate-partner violence is published only by region and quarter." in page
    assert 'id="insights-table"' not in page

    response = visitor.get(OPEN_DATA, {"family": "sensitive", "level": "region", "period": "quarter"}, **ENGLISH)
    page = response.content.decode()
    assert 'id="insights-table"' in page
    assert "10" in row_named(table_rows(response), "Norte")
    assert reverse("exports:public", kwargs={"fmt": "csv"}) in page
    assert reverse("exports:public", kwargs={"fmt": "geojson"}) not in page


def test_it_links_the_public_downloads_with_the_same_query(client_for, published):
    page = client_for(None).get(OPEN_DATA, {"level": "municipality", "dims": "sex"}).content.decode()
    for fmt in ("csv", "hxl", "geojson"):
        assert f'href="{reverse("exports:public", kwargs={"fmt": fmt})}?level=municipality&amp;dims=sex"' in page
    assert reverse("exports:institution", kwargs={"fmt": "csv"}) not in page


def test_it_draws_the_chart_with_small_counts_marked(client_for, published):
    page = client_for(None).get(OPEN_DATA, {"level": "municipality"}, **ENGLISH).content.decode()
    assert '<svg class="chart"' in page
    # Norte's violence against people: 32 → 30 two months ago, then nothing published.
    chart = table_rows(client_for(None).get(OPEN_DATA, **ENGLISH), "insights-chart-table")
    column = chart.rows[0][1].index("Violence against people")
    assert chart.rows[-1][1][column] == "30"


def test_it_runs_a_fixed_number_of_queries(cast, geo, norte, client_for):
    visitor = client_for(None)
    counts = []
    for count in (2, 25):
        validated(cast, geo["west_point"], count, when=months_ago(3))
        visitor.get(OPEN_DATA, {"dims": "sex"})
        with CaptureQueriesContext(connection) as captured:
            assert visitor.get(OPEN_DATA, {"dims": "sex"}).status_code == 200
        counts.append(len(captured))
    assert counts[0] == counts[1] <= 15
