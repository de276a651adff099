"""An institution analyst logs in and reads the dashboard: the choropleth draws every area of the
jurisdiction (withheld ones hatched), the time series is there, and the filter form changes the table."""

import re

import pytest
from playwright.sync_api import expect

from community.models import Area
from insights.rollup import rollup_rebuild
from reports.models import Category, Report
from reports.services import tracking_code_new

from ..conftest import PASSWORD
from ..factories import area, square
from ..insights.test_dashboard import last_month

pytestmark = pytest.mark.e2e

DESKTOP = {"viewport": {"width": 1280, "height": 900}, "is_mobile": False, "has_touch": False}
SCREENSHOT = "/tmp/insights.png"


def verified(where: Area, count: int, *, sex: str) -> list[Report]:
    path = [where.id, *(ancestor.id for ancestor in where.ancestors())]
    return [
        Report(
            tracking_code=tracking_code_new(),
            category=Category.objects.get(code="assault"),
            occurred_at=last_month(),
            location_source=Report.LocationSource.AREA,
            area=where,
            area_path=path,
            status=Report.Status.VERIFIED,
            affected_sex=sex,
        )
        for _index in range(count)
    ]


@pytest.fixture
def jurisdiction(geo) -> None:
    """Last month in Norte: San Isidro 12 (shown), Santa Rosa 2 and Tres Ríos 9 (withheld).

    Written directly and counted by a rebuild: the browser's event loop runs in this thread, so
    the services' live pushes after commit could not be sent from here."""
    santa_rosa = area("Santa Rosa", "TL0102", Area.Level.MUNICIPALITY, square(-88.5, 15.0, -88.2, 15.4), geo["region"])
    tres_rios = area("Tres Ríos", "TL0103", Area.Level.MUNICIPALITY, square(-87.8, 15.6, -87.5, 16.0), geo["region"])
    Area.objects.filter(pk=geo["municipality"].pk).update(population=48_000)
    Report.objects.bulk_create(
        verified(geo["west"], 8, sex="female")
        + verified(geo["east"], 4, sex="male")
        + verified(santa_rosa, 2, sex="female")
        + verified(tres_rios, 9, sex="male")
    )
    rollup_rebuild()


def test_an_analyst_reads_the_map_the_chart_and_the_table(live_site, open_page, cast, jurisdiction):
    page = open_page(**DESKTOP)
    page.goto(live_site.url("/accounts/login/?next=/insights/"))
    page.fill("#id_username", cast["analyst"].username)
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(live_site.url("/insights/"))
    expect(page.get_by_role("link", name="Insights")).to_have_attribute("aria-current", "page")

    paths = page.locator("#insights-map path.leaflet-interactive")
    expect(paths).to_have_count(3)
    withheld = page.locator('#insights-map path[fill="url(#insights-hatch)"]')
    expect(withheld).to_have_count(2)
    expect(page.locator('#insights-map path[data-area="TL0101"]')).not_to_have_attribute("fill", "url(#insights-hatch)")
    expect(page.locator("#insights-map-period")).to_contain_text("Period shown:")

    # Per 100,000 residents where the population is known; the others say they have none.
    legend = page.locator("#insights-map-legend")
    expect(legend).to_contain_text("10–12 reports")
    page.get_by_label("Rate per 100,000 residents").check()
    expect(legend).to_contain_text("20–25 per 100,000 residents")
    expect(legend).to_contain_text("Withheld to protect privacy")

    expect(page.locator("svg.chart")).to_have_count(7)
    expect(page.locator("svg.chart title#insights-chart-1")).to_have_text("Firearms and arms: reports per period")
    expect(page.locator("svg.chart polyline.series")).not_to_have_count(0)
    page.screenshot(path=SCREENSHOT, full_page=True)

    table = page.locator("#insights-table")
    expect(table.locator("thead")).not_to_contain_text("Female")
    page.get_by_label("Affected person's sex", exact=True).check()
    page.select_option("#id_level", "region")
    page.click("#insights-submit")
    expect(page).to_have_url(re.compile(r"/insights/\?.*level=region.*dims=sex"))
    expect(table.locator("thead")).to_contain_text("Female")
    norte = table.locator("tbody").nth(1).locator("tr", has_text="Norte")
    expect(norte.locator("td")).to_have_text(["10", "13", "0", "0", "23"])
    expect(page.locator("#insights-map path.leaflet-interactive")).to_have_count(1)
