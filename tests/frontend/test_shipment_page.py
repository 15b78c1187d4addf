"""The shipment page's "Now" card and alerts, and what is sent compressed."""

import gzip
import json

import pytest
from django.utils import timezone

from devices.ingest import SOURCE_HTTP, IncomingMessage, readings_ingest
from ledger.services import log_seal
from tests.factories import make_device
from tests.frontend.dashboard_factories import make_alert, make_assessment
from tests.shipment_factories import make_shipment

pytestmark = pytest.mark.django_db


def test_now_warns_of_a_breach_soon_with_its_reasons(signed_in, carrier):
    shipment = make_shipment(carrier=carrier)
    make_assessment(shipment, validated_c=7.6, flag="breach_soon")
    html = signed_in.get(f"/shipments/{shipment.reference}/live").content.decode()
    assert "Breach expected soon: 0.4 °C outside the upper limit" in html


def test_now_links_each_devices_latest_reading_to_its_ledger_proof(signed_in, carrier):
    logger = make_device()
    shipment = make_shipment(carrier=carrier, devices=[logger.device])
    readings_ingest(
        messages=[
            IncomingMessage(logger.signed(seq, temp_c=seq), timezone.now(), SOURCE_HTTP)
            for seq in (1, 2)
        ]
    )
    log_seal()
    index = logger.device.readings.get(seq=2).ledger_entry.index
    html = signed_in.get(f"/shipments/{shipment.reference}/live").content.decode()
    assert f'href="/ledger/?verify={index}"' in html
    assert '<td class="num seq">2</td>' in html


def test_alerts_on_the_shipment_name_the_models_that_raised_them(signed_in, carrier):
    shipment = make_shipment(carrier=carrier)
    make_alert(shipment, escalated_at=timezone.now())
    html = signed_in.get(f"/shipments/{shipment.reference}/").content.decode()
    assert "Models: breach v1, breach-soon v1" in html
    assert "<strong>escalated</strong>" in html


def test_the_chart_data_goes_compressed_to_a_browser_that_accepts_gzip(signed_in, carrier):
    logger = make_device()
    shipment = make_shipment(carrier=carrier, devices=[logger.device])
    readings_ingest(
        messages=[
            IncomingMessage(logger.signed(seq, temp_c=5.0), timezone.now(), SOURCE_HTTP)
            for seq in range(1, 30)
        ]
    )
    response = signed_in.get(
        f"/shipments/{shipment.reference}/series.json", HTTP_ACCEPT_ENCODING="gzip, br"
    )
    assert response["Content-Encoding"] == "gzip"
    series = json.loads(gzip.decompress(response.content))
    assert series["devices"][0]["id"] == logger.id


def test_pages_carrying_a_csrf_token_go_uncompressed(signed_in, carrier):
    shipment = make_shipment(carrier=carrier)
    response = signed_in.get(f"/shipments/{shipment.reference}/", HTTP_ACCEPT_ENCODING="gzip")
    assert "csrfmiddlewaretoken" in response.content.decode()
    assert not response.has_header("Content-Encoding")


def test_the_header_card_shows_the_planned_eta_without_destination_coordinates(signed_in, carrier):
    shipment = make_shipment(carrier=carrier)
    html = signed_in.get(f"/shipments/{shipment.reference}/").content.decode()
    assert f'<dt>ETA</dt><dd><span class="eta">{shipment.deadline_at:%d %b %Y %H:%M}</span>' in html
    assert ">planned</span>" in html
