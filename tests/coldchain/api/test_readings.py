"""/api/v1/readings/: readings with their ledger index."""

import base64

import pytest
from django.utils import timezone

from devices.ingest import SOURCE_HTTP, IncomingMessage, readings_ingest
from ledger.merkle import leaf_hash
from ledger.services import log_seal

pytestmark = pytest.mark.django_db


@pytest.fixture
def stored(device):
    tokens = [device.signed(seq) for seq in (1, 2, 3)]
    readings_ingest(messages=[IncomingMessage(t, timezone.now(), SOURCE_HTTP) for t in tokens])
    return tokens


def test_reading_carries_its_ledger_index_once_sealed(admin_client, stored):
    (first, *_) = admin_client.get("/api/v1/readings/").json()["results"]
    assert first["ledger_index"] is None
    log_seal()
    reading = admin_client.get(f"/api/v1/readings/{first['id']}/").json()
    assert isinstance(reading["ledger_index"], int)
    assert base64.b64decode(reading["leaf_hash"]) == leaf_hash(reading["jws"].encode())


def test_readings_are_filtered_by_device_and_time(admin_client, device, stored):
    response = admin_client.get(
        "/api/v1/readings/", {"device": device.id, "since": "2026-01-05T00:02:00Z"}
    )
    assert [r["seq"] for r in response.json()["results"]] == [3, 2]


def test_bad_time_filter_is_a_400(admin_client, stored):
    response = admin_client.get("/api/v1/readings/", {"since": "last tuesday"})
    assert response.status_code == 400


def test_readings_need_an_account(client, stored):
    assert client.get("/api/v1/readings/").status_code == 401
