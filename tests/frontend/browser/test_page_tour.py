"""Every main page opened in the browser on a realistic shipment, with a screenshot of each.

The screenshots (``var/test/screenshots/*.png``) are for people to look at;
the assertions check that each page shows what it is for.
"""

import math
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.utils import timezone
from playwright.sync_api import expect

from coldchain.alerts import alert_acknowledge
from coldchain.claims import claims_evidence_attach
from coldchain.contracts import contract_activate, contract_evaluate
from coldchain.models import Alert, Membership
from coldchain.shipment_states import shipment_deliver, shipment_depart
from devices.ingest import SOURCE_HTTP, IncomingMessage, readings_ingest
from ledger.services import log_seal
from tests.contract_factories import make_assessment as make_anchored_assessment
from tests.contract_factories import make_template
from tests.factories import make_device
from tests.frontend.browser.conftest import SCREENSHOTS, log_in, screenshot
from tests.frontend.dashboard_factories import active_models, make_alert, make_assessment
from tests.shipment_factories import make_shipment, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DEPARTURE = datetime(2026, 1, 5, 6, tzinfo=UTC)
MINUTES = 12 * 60
DOOR_OPEN = range(360, 375)  # a quarter of an hour with the doors open, six hours in


def cargo_temp(minute: int) -> float:
    """About 5 °C with the reefer's cycling, warming while the doors stand open and
    for the better part of an hour after: longer out of range than the contract allows."""
    warming = 0.3 * (minute - DOOR_OPEN.start) if minute in DOOR_OPEN else 0.0
    after = max(0.0, 4.5 - 0.05 * (minute - DOOR_OPEN.stop)) if minute >= DOOR_OPEN.stop else 0.0
    return round(5.0 + 0.8 * math.sin(minute / 25) + warming + after, 2)


def ingest(*tokens: bytes) -> None:
    readings_ingest(messages=[IncomingMessage(t, timezone.now(), SOURCE_HTTP) for t in tokens])


@pytest.fixture
def journey(carrier):
    """A 12-hour leg under contract, watched by two loggers and the reefer: a door
    opening breaches the range for longer than allowed, the contract claims on
    delivery, and the receiver has yet to sign its release decision."""
    loggers = [
        make_device(device_id="truck-101-logger", vehicle="truck-101"),
        make_device(device_id="truck-101-logger-2", vehicle="truck-101"),
        make_device(device_id="truck-101-reefer", vehicle="truck-101", kind="reefer_controller"),
    ]
    shipment = make_shipment(
        carrier=carrier,
        reference="SHP-2026-0042",
        devices=[logger.device for logger in loggers],
        departure_at=DEPARTURE,
        hours=14,
        vehicle="truck-101",
        destination="Milan",
    )
    contract_activate(shipment, template=make_template())
    shipment_depart(shipment, at=DEPARTURE)
    for offset, logger in enumerate(loggers):
        ingest(
            *(
                logger.signed(
                    minute + 1,
                    ts=DEPARTURE + timedelta(minutes=minute),
                    temp_c=cargo_temp(minute) + 0.2 * offset,
                    door_open=minute in DOOR_OPEN,
                    reefer_on=minute not in DOOR_OPEN,
                )
                for minute in range(MINUTES)
            )
        )
    ingest(loggers[0].signed(9_999, key=Ed25519PrivateKey.generate()), b"not a jws")
    for minute in range(0, MINUTES, 15):
        make_assessment(
            shipment,
            at=DEPARTURE + timedelta(minutes=minute),
            validated_c=cargo_temp(minute) + 0.2,
            flag="breach" if cargo_temp(minute) > 8 else "ok",
        )
    for minute in (381, 396):  # anchored, so the claim names the models behind it
        make_anchored_assessment(shipment, minute, "breach", active_models())
    warned = make_alert(
        shipment, kind=Alert.Kind.BREACH_SOON, at=DEPARTURE + timedelta(minutes=368)
    )
    alert_acknowledge(
        warned,
        make_user(carrier, username="night-desk"),
        "Driver told to close the doors and check the reefer",
    )
    make_alert(shipment, kind=Alert.Kind.BREACH, at=DEPARTURE + timedelta(minutes=382))
    make_shipment(carrier=carrier, reference="SHP-2026-0043", destination="Vienna")
    log_seal()
    delivered_at = DEPARTURE + timedelta(minutes=MINUTES)
    shipment_deliver(shipment, at=delivered_at)
    contract_evaluate(shipment, now=delivered_at)
    log_seal()
    claims_evidence_attach()
    return shipment


@pytest.fixture
def quality_lead(journey):
    """The receiver's manager, who signs the release decision."""
    return make_user(journey.receiver, role=Membership.Role.MANAGER, username="qa-lead")


def test_the_main_pages_show_the_shipment_its_alerts_ledger_devices_and_models(
    page, quality_lead, journey
):
    log_in(page, "qa-lead")
    expect(page.locator("#fleet")).to_contain_text("SHP-2026-0042")
    expect(page.locator('#fleet tr[data-shipment="SHP-2026-0042"]')).to_contain_text("2 open")
    screenshot(page, "fleet")

    page.click("text=SHP-2026-0042")
    expect(page.locator("#chart")).to_have_attribute("data-points", "600")
    expect(page.locator("#chart canvas")).to_be_visible()
    expect(page.locator("#alerts")).to_contain_text("outside the upper limit")
    expect(page.locator("#alerts")).to_contain_text("Driver told to close the doors")
    expect(page.locator("#excursions")).to_contain_text("exceeded")
    expect(page.locator("#actions")).to_contain_text("Insurance claim")
    expect(page.locator("#actions")).to_contain_text("evidence attached")
    expect(page.locator("#actions")).to_contain_text("breach v1")
    expect(page.locator("#release form")).to_contain_text("Sign the decision")
    screenshot(page, "shipment")

    report = page.request.get(page.locator("#report a").get_attribute("href"))
    assert report.headers["content-type"] == "application/pdf"
    assert report.body().startswith(b"%PDF-")
    (SCREENSHOTS / "shipment-report.pdf").write_bytes(report.body())

    page.click("nav >> text=Alerts")
    expect(page.locator("#alerts")).to_contain_text("SHP-2026-0042")
    screenshot(page, "alerts")

    page.click("nav >> text=Devices")
    expect(page.locator('#devices tr[data-device="truck-101-logger"]')).to_contain_text(
        "Signature does not verify: 1"
    )
    screenshot(page, "devices")

    page.click("nav >> text=Models")
    expect(page.locator("#models")).to_contain_text("active")
    screenshot(page, "models")
