"""The ingest path: what is stored, what is rejected and why, idempotency."""

import hashlib
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devices.inbox import inbox_batch_add
from devices.ingest import SOURCE_MQTT, IncomingMessage, readings_ingest
from devices.models import Device, Reading, Rejection
from devices.services import device_revoke
from devices.tasks import ingest_batch_task
from devices.wire import b64url_encode, sign_reading, topic_for
from tests.factories import make_device

pytestmark = pytest.mark.django_db


def ingest(*payloads: bytes, topic: str = "") -> list:
    now = timezone.now()
    messages = [IncomingMessage(p, now, SOURCE_MQTT, topic) for p in payloads]
    return readings_ingest(messages=messages).outcomes


def only_rejection() -> Rejection:
    (rejection,) = Rejection.objects.all()
    return rejection


def test_valid_reading_is_stored_with_its_exact_jws(device):
    token = device.signed(1, door_open=False, setpoint_c=5.0)
    (outcome,) = ingest(token)
    reading = Reading.objects.get()
    assert outcome.status == "accepted"
    assert outcome.reading_id == reading.pk
    assert bytes(reading.jws) == token
    assert (reading.seq, reading.temp_c, reading.door_open, reading.setpoint_c) == (
        1,
        4.5,
        False,
        5.0,
    )


def test_device_remembers_its_last_accepted_seq_and_when_it_was_seen(device):
    ingest(device.signed(1), device.signed(2))
    stored = Device.objects.get(pk=device.id)
    assert stored.last_seq == 2
    assert stored.last_seen is not None


def test_same_message_twice_is_stored_once_and_recorded_as_duplicate(device):
    token = device.signed(1)
    ingest(token)
    (outcome,) = ingest(token)
    assert outcome.status == "duplicate"
    assert Reading.objects.count() == 1
    assert only_rejection().reason == "duplicate"


def test_duplicate_inside_one_batch_is_stored_once(device):
    token = device.signed(1)
    outcomes = ingest(token, token)
    assert [o.status for o in outcomes] == ["accepted", "duplicate"]
    assert Reading.objects.count() == 1


def test_reprocessing_a_whole_batch_changes_nothing(device):
    batch = [device.signed(seq) for seq in range(1, 51)]
    ingest(*batch)
    outcomes = ingest(*batch)
    assert {o.status for o in outcomes} == {"duplicate"}
    assert Reading.objects.count() == 50


def test_same_seq_with_other_bytes_is_equivocation_and_a_security_event(device):
    ingest(device.signed(1))
    (outcome,) = ingest(device.signed(1, temp_c=9.9))
    rejection = only_rejection()
    assert outcome.reason == rejection.reason == "equivocation"
    assert rejection.security_event
    assert rejection.conflicting_reading == Reading.objects.get()


def test_unknown_device_is_rejected(db):
    stranger = Ed25519PrivateKey.generate()
    reading = {"v": 1, "device": "ghost", "seq": 1, "ts": "2026-01-05T10:00:00Z", "temp_c": 3}
    ingest(sign_reading(stranger, reading))
    assert only_rejection().reason == "unknown_device"


def test_revoked_device_is_rejected(device):
    device_revoke(device_id=device.id, reason="stolen")
    ingest(device.signed(1))
    assert only_rejection().reason == "revoked_device"
    assert Reading.objects.count() == 0


def test_revocation_applies_to_messages_processed_after_it(device):
    ingest(device.signed(1))
    device_revoke(device_id=device.id, reason="key leaked")
    ingest(device.signed(2))
    assert list(Reading.objects.values_list("seq", flat=True)) == [1]


def test_bad_signature_is_rejected_as_a_security_event(device):
    forged = sign_reading(Ed25519PrivateKey.generate(), device.reading(1))
    ingest(forged)
    rejection = only_rejection()
    assert (rejection.reason, rejection.security_event) == ("bad_signature", True)


def test_wrong_alg_is_rejected(device):
    header = b64url_encode(orjson.dumps({"alg": "none", "kid": device.id}))
    payload = b64url_encode(orjson.dumps(device.reading(1)))
    ingest(f"{header}.{payload}.".encode())
    assert only_rejection().reason == "wrong_alg"


def test_malformed_jws_is_rejected(db):
    ingest(b"this is not a JWS")
    assert only_rejection().reason == "malformed_jws"


def test_malformed_json_is_rejected(device):
    ingest(device.signed_payload(b"{not json"))
    assert only_rejection().reason == "malformed_json"


def test_schema_violation_is_rejected(device):
    ingest(device.signed_payload(orjson.dumps({"v": 1, "device": device.id, "seq": 1})))
    rejection = only_rejection()
    assert rejection.reason == "schema_violation"
    assert "ts" in rejection.detail


def test_physically_implausible_value_is_rejected(device):
    ingest(device.signed(1, temp_c=900.0))
    assert only_rejection().reason == "implausible"


def test_oversized_message_is_rejected_and_kept_truncated(db):
    ingest(b"A" * 100_000)
    rejection = only_rejection()
    assert rejection.reason == "oversized"
    assert (rejection.raw_size, len(rejection.raw)) == (100_000, 4096)


def test_seq_that_does_not_increase_with_time_is_rejected(device):
    ingest(device.signed(5))
    ingest(device.signed(6, ts=datetime(2026, 1, 4, tzinfo=UTC)))
    assert only_rejection().reason == "seq_not_increasing"


def test_late_reading_that_fits_between_its_neighbours_is_accepted(device):
    # Store-and-forward: seq 2 arrives after 3 because it waited in the device.
    ingest(device.signed(1), device.signed(3))
    (outcome,) = ingest(device.signed(2))
    assert outcome.status == "accepted"
    assert list(Reading.objects.values_list("seq", flat=True)) == [1, 2, 3]


def test_late_reading_with_a_timestamp_outside_its_neighbours_is_rejected(device):
    ingest(device.signed(1), device.signed(3))
    ingest(device.signed(2, ts=datetime(2026, 1, 6, tzinfo=UTC)))
    assert only_rejection().reason == "seq_not_increasing"


def test_a_late_batch_judges_each_reading_by_its_own_device_neighbours(device):
    # Two workers committed batch k+1 before batch k: all of batch k is late.
    other = make_device()
    ingest(device.signed(1), device.signed(4), other.signed(1), other.signed(4))
    outcomes = ingest(
        device.signed(2),
        device.signed(3),
        other.signed(2, ts=datetime(2026, 1, 6, tzinfo=UTC)),
        other.signed(3),
    )
    assert [o.status for o in outcomes] == ["accepted", "accepted", "rejected", "accepted"]
    assert outcomes[2].reason == "seq_not_increasing"


def test_timestamp_too_far_in_the_future_is_rejected(device):
    ingest(device.signed(1, ts=timezone.now() + timedelta(hours=1)))
    assert only_rejection().reason == "future_timestamp"


def test_payload_naming_another_device_than_kid_is_rejected(device):
    other = make_device()
    ingest(device.signed_payload(orjson.dumps(other.reading(1))))
    assert only_rejection().reason == "device_mismatch"


def test_message_on_another_devices_topic_is_rejected(device):
    ingest(device.signed(1), topic=topic_for("someone-else"))
    assert only_rejection().reason == "device_mismatch"


def test_rejection_keeps_the_evidence(db):
    ingest(b"garbage")
    rejection = only_rejection()
    assert bytes(rejection.raw) == b"garbage"
    assert rejection.raw_sha256 == hashlib.sha256(b"garbage").hexdigest()
    assert rejection.source == "mqtt"


def test_one_bad_message_does_not_spoil_its_batch(device):
    outcomes = ingest(device.signed(1), b"garbage", device.signed(2))
    assert [o.status for o in outcomes] == ["accepted", "rejected", "accepted"]
    assert Reading.objects.count() == 2


def kept_batch(*payloads: bytes, topic: str, received_at: float = 1.7e9) -> int:
    at = datetime.fromtimestamp(received_at, tz=UTC)
    return inbox_batch_add(messages=[IncomingMessage(p, at, SOURCE_MQTT, topic) for p in payloads])


def test_batch_task_ingests_what_the_bridge_kept(device):
    batch_id = kept_batch(device.signed(1), topic=topic_for(device.id))
    result = ingest_batch_task(batch_id)
    assert result == {"batch": batch_id, "accepted": 1, "not_stored": {}}
    assert Reading.objects.get().received_at == datetime.fromtimestamp(1.7e9, tz=UTC)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(payload=st.binary(max_size=5000), topic=st.text(max_size=80))
def test_arbitrary_bytes_never_raise_out_of_the_ingest_task(device, payload, topic):
    result = ingest_batch_task(kept_batch(payload, topic=topic))
    assert result["accepted"] == 0
