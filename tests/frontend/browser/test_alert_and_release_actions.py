"""Acting in the browser: acknowledging an alert, signing a release decision."""

import pytest
from playwright.sync_api import expect

from coldchain.models import Membership, ReleaseSignature
from tests.contract_factories import make_delivered
from tests.frontend.browser.conftest import log_in, screenshot
from tests.frontend.dashboard_factories import make_alert
from tests.shipment_factories import PASSWORD, make_shipment, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_operator_acknowledges_an_alert_in_the_inbox_without_a_reload(page, carrier):
    alert = make_alert(make_shipment(carrier=carrier, reference="SHP-2026-0077"))
    make_user(carrier, role=Membership.Role.OPERATOR, username="operator")
    log_in(page, "operator")
    page.goto("/alerts/")
    row = page.locator(f'tr[data-alert="{alert.pk}"]')
    row.locator('input[aria-label="Acknowledgement note"]').fill("Reefer restarted by the driver")
    row.locator("button", has_text="Acknowledge").click()

    expect(row.locator("ul.notes")).to_contain_text("Acknowledgement by Alex Tester")
    expect(row.locator("ul.notes")).to_contain_text("Reefer restarted by the driver")
    expect(page.locator(f"#alert-{alert.pk}-status")).to_have_text("Acknowledged")
    expect(row.locator("button", has_text="Acknowledge")).to_have_count(0)
    screenshot(page, "alerts-acknowledged")


def test_an_empty_comment_is_refused_in_place_with_the_reason(page, carrier):
    alert = make_alert(make_shipment(carrier=carrier))
    make_user(carrier, role=Membership.Role.OPERATOR, username="operator")
    log_in(page, "operator")
    page.goto("/alerts/")
    row = page.locator(f'tr[data-alert="{alert.pk}"]')
    row.locator('input[aria-label="Comment"]').fill("   ")
    row.locator("button", has_text="Comment").click()
    expect(row.locator(".form-error")).to_contain_text("a comment needs a text")


def test_the_receivers_manager_signs_a_partial_release_re_entering_the_password(page):
    shipment, _ = make_delivered([5.0] * 180)
    manager = make_user(shipment.receiver, username="qa-lead")
    log_in(page, "qa-lead")
    page.goto(f"/shipments/{shipment.reference}/")
    form = page.locator("#release form")
    form.get_by_label("Partially released").check()
    form.get_by_label("Released share (%)").fill("40")
    form.get_by_label("Reason").fill("Two pallets crushed in handling")
    form.get_by_label("Your password").fill("not my password")
    form.get_by_role("button", name="Sign the decision").click()
    expect(page.locator("#release .form-error")).to_contain_text("The password is not correct")
    assert not ReleaseSignature.objects.filter(shipment=shipment).exists()
    screenshot(page, "release-refused")

    form = page.locator("#release form")
    expect(form.get_by_label("Reason")).to_have_value("Two pallets crushed in handling")
    form.get_by_label("Your password").fill(PASSWORD)
    form.get_by_role("button", name="Sign the decision").click()
    expect(page.locator("#release .manifestation")).to_contain_text(
        f"Signed by {manager.get_full_name()} on"
    )
    expect(page.locator("#release")).to_contain_text("I release 40.00 % of this load")
    expect(page.locator("#transitions")).to_contain_text("Partially released")
    screenshot(page, "release-signed")
