"""What the alerts, ledger, devices and models pages show, and to whom."""

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.contrib.auth import get_user_model
from django.utils import timezone

from coldchain.models import Alert, Party
from devices.ingest import SOURCE_HTTP, IncomingMessage, readings_ingest
from devices.models import Device
from ledger.log_key import log_vkey
from ledger.services import log_seal
from tests.factories import make_device
from tests.frontend.dashboard_factories import make_alert
from tests.shipment_factories import make_party, make_shipment, make_user

pytestmark = pytest.mark.django_db


def store(*tokens: bytes) -> None:
    readings_ingest(messages=[IncomingMessage(t, timezone.now(), SOURCE_HTTP) for t in tokens])


@pytest.fixture
def staff_client(client):
    client.force_login(get_user_model().objects.create_user("ops", is_staff=True))
    return client


def test_alerts_inbox_lists_open_alerts_first_with_their_factors_and_models(signed_in, carrier):
    shipment = make_shipment(carrier=carrier)
    closed = make_alert(shipment, kind=Alert.Kind.SENSOR_FAULT, status=Alert.Status.CLOSED)
    make_alert(shipment, kind=Alert.Kind.BREACH, at=closed.opened_at.replace(hour=5))
    html = signed_in.get("/alerts/").content.decode()
    assert html.index("Breach</span>") < html.index("Sensor fault</span>")
    assert "0.4 °C outside the upper limit (raises breach risk)" in html
    assert "breach v1" in html


def test_alerts_inbox_leaves_out_other_parties_alerts(signed_in):
    make_alert(make_shipment(reference="SHP-NOT-OURS"))
    assert "SHP-NOT-OURS" not in signed_in.get("/alerts/").content.decode()


def test_ledger_explorer_shows_a_party_only_the_readings_of_its_devices(signed_in, carrier):
    ours, theirs = make_device(device_id="ours-logger"), make_device(device_id="theirs-logger")
    make_shipment(carrier=carrier, devices=[ours.device])
    store(ours.signed(1), theirs.signed(1))
    log_seal()
    page = signed_in.get("/ledger/")
    indices = [entry.sealed.index for entry in page.context["entries"]]
    assert indices == [ours.device.readings.get().ledger_entry.index]


def test_ledger_explorer_shows_staff_every_entry_and_the_log_key(staff_client):
    store(make_device().signed(1))
    log_seal()
    page = staff_client.get("/ledger/")
    assert [entry.kind for entry in page.context["entries"]] == ["reading", "device.registered"]
    assert log_vkey() in page.content.decode()


def test_devices_page_counts_rejections_by_reason_without_duplicates(signed_in, carrier):
    logger = make_device()
    make_shipment(carrier=carrier, devices=[logger.device])
    forged = logger.signed(2, key=Ed25519PrivateKey.generate())
    store(logger.signed(1), logger.signed(1), forged, forged)
    html = signed_in.get("/devices/").content.decode()
    assert "Signature does not verify: <strong>2</strong>" in html
    assert "Exact duplicate" not in html
    assert logger.device.key_fingerprint[:16] in html


def test_staff_revoke_a_device_from_the_devices_page_with_a_reason(staff_client):
    logger = make_device()
    staff_client.post(f"/devices/{logger.id}/revoke", {"reason": "stolen"})
    logger.device.refresh_from_db()
    assert logger.device.status == Device.Status.REVOKED
    assert logger.device.revocation_reason == "stolen"


def test_revoking_without_a_reason_changes_nothing(staff_client):
    logger = make_device()
    response = staff_client.post(f"/devices/{logger.id}/revoke", {"reason": " "}, follow=True)
    logger.device.refresh_from_db()
    assert logger.device.status == Device.Status.ACTIVE
    assert "Give a reason" in response.content.decode()


def test_a_party_member_cannot_revoke_a_device(signed_in, carrier):
    logger = make_device()
    make_shipment(carrier=carrier, devices=[logger.device])
    response = signed_in.post(f"/devices/{logger.id}/revoke", {"reason": "curious"})
    logger.device.refresh_from_db()
    assert response.status_code == 403
    assert logger.device.status == Device.Status.ACTIVE


def test_an_auditor_with_admin_access_cannot_revoke_a_device(client):
    auditor = make_user(make_party(Party.Kind.AUDITOR))
    auditor.is_staff = True  # as manage.py auditors_group --enroll makes them
    auditor.save()
    client.force_login(auditor)
    logger = make_device()
    assert "/revoke" not in client.get("/devices/").content.decode()
    response = client.post(f"/devices/{logger.id}/revoke", {"reason": "curious"})
    logger.device.refresh_from_db()
    assert response.status_code == 403
    assert logger.device.status == Device.Status.ACTIVE


def test_models_page_lists_versions_with_metrics_and_their_ledger_entry(signed_in, carrier):
    breach = make_alert(make_shipment(carrier=carrier)).last_assessment.breach_model
    log_seal()
    html = signed_in.get("/models/").content.decode()
    assert "macro_f1: <strong>0.941</strong>" in html
    assert f"?verify={breach.registration_entry.index}" in html


def test_revoking_an_unknown_device_says_so(staff_client):
    response = staff_client.post("/devices/no-such-logger/revoke", {"reason": "x"}, follow=True)
    assert "No device no-such-logger." in response.content.decode()
