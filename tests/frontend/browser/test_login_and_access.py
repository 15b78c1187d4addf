"""In the browser: logging in, and a carrier kept out of another carrier's shipment."""

import pytest
from playwright.sync_api import expect

from tests.frontend.browser.conftest import log_in, screenshot
from tests.shipment_factories import make_shipment

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_user_logs_in_and_sees_the_fleet_of_their_party(page, carrier, carrier_user):
    make_shipment(carrier=carrier, reference="SHP-OURS")
    page.goto("/")
    expect(page).to_have_url("/login/?next=/")  # not signed in yet
    screenshot(page, "login")
    log_in(page, "dispatcher")
    expect(page.locator("#who")).to_contain_text("Polar Freight")
    expect(page.locator("#fleet")).to_contain_text("SHP-OURS")


def test_a_wrong_password_keeps_the_user_out(page, carrier_user):
    page.goto("/login/")
    page.fill("#id_username", "dispatcher")
    page.fill("#id_password", "not the password")
    page.click("button[type=submit]")
    expect(page.locator(".errorlist")).to_contain_text("correct username and password")


def test_a_carrier_cannot_open_another_carriers_shipment(page, carrier, carrier_user):
    theirs = make_shipment(reference="SHP-THEIRS")
    log_in(page, "dispatcher")
    expect(page.locator("#fleet")).not_to_contain_text("SHP-THEIRS")
    response = page.goto(f"/shipments/{theirs.reference}/")
    assert response.status == 404
    api = page.request.get(f"/shipments/{theirs.reference}/series.json")
    assert api.status == 404
