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

from coldchain.models import Alert, Shipment
from devices.ingest import SOURCE_HTTP, IncomingMessage, readings_ingest
from ledger.services import log_seal
from tests.factories import make_device
from tests.frontend.browser.conftest import log_in, screenshot
from tests.frontend.dashboard_factories import make_alert, make_assessment
from tests.shipment_factories import make_shipment

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DEPARTURE = datetime(2026, 1, 5, 6, tzinfo=UTC)
MINUTES = 12 * 60
DOOR_OPEN = range(360, 375)  # a quarter of an hour with the doors open, six hours in


def cargo_temp(minute: int) -> float:
    """About 5 °C with the reefer's cycling, warming while the doors stand open."""
    warming = 0.3 * (minute - DOOR_OPEN.start) if minute in DOOR_OPEN else 0.0
    after = max(0.0, 4.5 - 0.15 * (minute - DOOR_OPEN.stop)) if minute >= DOOR_OPEN.stop else 0.0
    return round(5.0 + 0.8 * math.sin(minute / 25) + warming + after, 2)


def ingest(*tokens: bytes) -> None:
    readings_ingest(messages=[IncomingMessage(t, timezone.now(), SOURCE_HTTP) for t in tokens])


@pytest.fixture
def journey(carrier):
    """A 12-hour leg of two probes with a door opening that breaches the range."""
    loggers = [
        make_device(device_id="truck-101-logger", vehicle="truck-101"),
        make_device(device_id="truck-101-reefer", vehicle="truck-101", kind="reefer_controller"),
    ]
    shipment = make_shipment(
        carrier=carrier,
        reference="SHP-2026-0042",
        devices=[logger.device for logger in loggers],
        departure_at=DEPARTURE,
        vehicle="truck-101",
        destination="Milan",
        status=Shipment.Status.IN_TRANSIT,
    )
    for offset, logger in enumerate(loggers):
        ingest(
            *(
                logger.signed(
                    minute + 1,
                    ts=DEPARTURE + timedelta(minutes=minute),
                    temp_c=cargo_temp(minute) + 0.3 * offset,
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
            validated_c=cargo_temp(minute) + 0.15,
            flag="breach" if cargo_temp(minute) > 8 else "ok",
        )
    make_alert(shipment, kind=Alert.Kind.BREACH, at=DEPARTURE + timedelta(minutes=382))
    make_shipment(carrier=carrier, reference="SHP-2026-0043", destination="Vienna")
    log_seal()
    return shipment


def test_the_main_pages_show_the_shipment_its_alerts_ledger_devices_and_models(
    page, carrier_user, journey
):
    log_in(page, "dispatcher")
    expect(page.locator("#fleet")).to_contain_text("SHP-2026-0042")
    expect(page.locator('#fleet tr[data-shipment="SHP-2026-0042"]')).to_contain_text("1 open")
    screenshot(page, "fleet")

    page.click("text=SHP-2026-0042")
    expect(page.locator("#chart")).to_have_attribute("data-points", "600")
    expect(page.locator("#chart canvas")).to_be_visible()
    expect(page.locator("#alerts")).to_contain_text("outside the upper limit")
    screenshot(page, "shipment")

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
