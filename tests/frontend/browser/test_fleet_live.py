"""The fleet overview follows the fleet without a reload."""

import pytest
from playwright.sync_api import expect

from tests.frontend.browser.conftest import log_in
from tests.frontend.dashboard_factories import make_alert
from tests.shipment_factories import make_shipment

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_new_alert_shows_on_the_open_fleet_page(page, carrier, carrier_user):
    shipment = make_shipment(carrier=carrier, reference="SHP-CALM")
    log_in(page, "dispatcher")
    row = page.locator('#fleet tr[data-shipment="SHP-CALM"]')
    expect(row).to_contain_text("none")
    page.evaluate("window.loadedOnce = true")
    make_alert(shipment)
    expect(row).to_contain_text("1 open", timeout=15_000)
    assert page.evaluate("window.loadedOnce") is True


def test_search_narrows_the_fleet_and_keeps_it_live(page, carrier, carrier_user):
    make_shipment(carrier=carrier, reference="SHP-OSLO", destination="Oslo")
    make_shipment(carrier=carrier, reference="SHP-SEVILLE", destination="Seville")
    log_in(page, "dispatcher")
    page.fill("input[name=q]", "oslo")
    page.click("text=Filter")
    expect(page.locator("#fleet")).to_contain_text("SHP-OSLO")
    expect(page.locator("#fleet")).not_to_contain_text("SHP-SEVILLE")
    make_shipment(carrier=carrier, reference="SHP-OSLO-2", destination="Oslo")
    expect(page.locator("#fleet")).to_contain_text("SHP-OSLO-2", timeout=15_000)
