"""The live fleet page at / and its JSON snapshot."""

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from devices.ingest import SOURCE_HTTP, IncomingMessage, readings_ingest
from ledger.log_key import log_vkey
from tests.factories import make_device

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(client):
    user = get_user_model().objects.create_user("dispatcher", password="pw-123456-long")
    client.force_login(user)
    return client


def store(*tokens: bytes) -> None:
    readings_ingest(messages=[IncomingMessage(t, timezone.now(), SOURCE_HTTP) for t in tokens])


def test_fleet_page_requires_sign_in(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_fleet_page_lists_trucks_with_the_latest_reading_of_each_device(signed_in):
    logger = make_device(device_id="truck-001-logger", vehicle="truck-001")
    store(logger.signed(1), logger.signed(2, temp_c=6.75))
    html = signed_in.get("/").content.decode()
    assert "truck-001" in html
    assert "truck-001-logger" in html
    assert "6.75" in html


def test_fleet_page_publishes_the_log_verifier_key(signed_in):
    html = signed_in.get("/").content.decode()
    assert log_vkey() in html


def test_live_snapshot_reports_latest_reading_and_rejections(signed_in):
    logger = make_device(device_id="truck-002-logger", vehicle="truck-002")
    store(logger.signed(1, temp_c=3.5, door_open=True), logger.signed(1, temp_c=9.0))
    (truck,) = signed_in.get("/live/fleet.json").json()["trucks"]
    (device,) = truck["devices"]
    assert truck["vehicle"] == "truck-002"
    assert (device["latest"]["seq"], device["latest"]["temp_c"]) == (1, 3.5)
    assert device["latest"]["door_open"] is True
    assert device["rejections"] == 1


def test_admin_lists_devices_readings_and_rejections(admin_client):
    logger = make_device()
    store(logger.signed(1), b"junk")
    for url in ("/admin/devices/device/", "/admin/devices/reading/", "/admin/devices/rejection/"):
        assert admin_client.get(url).status_code == 200


def test_admin_revoke_action_revokes_through_the_service(admin_client):
    logger = make_device()
    admin_client.post(
        "/admin/devices/device/", {"action": "revoke", "_selected_action": [logger.id]}
    )
    logger.device.refresh_from_db()
    assert logger.device.status == "revoked"
