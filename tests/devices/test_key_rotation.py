"""Device key rotation: the logged entry, the key history, and which key verifies what."""

import base64
from datetime import timedelta

import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import CommandError, call_command
from django.utils import timezone

from devices import ingest as ingest_module
from devices.ingest import SOURCE_MQTT, IncomingMessage, readings_ingest
from devices.keys import (
    fingerprint,
    load_private_key,
    public_key_jwk,
    public_key_pem,
    raw_public_key,
    rotation_request_sign,
)
from devices.models import Device, DeviceKey, Reading, Rejection
from devices.services import DeviceError, device_key_rotate, device_revoke
from devices.wire import b64url_decode, b64url_encode, sign_reading
from ledger.evidence import EvidenceError, evidence_bundle
from ledger.log_key import log_vkey
from ledger.merkle import leaf_hash
from ledger.models import Entry, PendingEntry
from ledger.platform_entries import (
    platform_entry_open,
    platform_entry_sign,
    platform_public_key,
    platform_timestamp,
)
from ledger.services import entry_append, log_seal
from ledger.verify import verify_bundle

pytestmark = pytest.mark.django_db


def ingest(*payloads: bytes) -> list:
    now = timezone.now()
    return readings_ingest(
        messages=[IncomingMessage(p, now, SOURCE_MQTT) for p in payloads]
    ).outcomes


def soon_after(moment, seconds: int = 1):
    return moment + timedelta(seconds=seconds)


# --------------------------------------------------------------------------- the entry


def test_rotation_appends_a_platform_signed_entry_naming_old_and_new_key(device):
    old_fingerprint = device.device.key_fingerprint
    device.rotate()
    first, second = device.keys
    claims = platform_entry_open(bytes(second.valid_from_entry.data), platform_public_key())
    assert second.valid_from_entry.kind == claims["kind"] == "device.key-rotated"
    assert (claims["device"], claims["key_number"], claims["previous_key_number"]) == (
        device.id,
        2,
        1,
    )
    assert claims["public_key"] == b64url_encode(raw_public_key(device.private_key))
    assert claims["key_sha256"] == second.fingerprint == device.device.key_fingerprint
    assert claims["previous_key_sha256"] == old_fingerprint == first.fingerprint
    assert (
        claims["at"]
        == platform_timestamp(second.valid_from)
        == platform_timestamp(first.retired_at)
    )
    assert "request" in claims


def test_rotation_retires_the_old_key_with_the_same_entry_that_makes_the_new_one(device):
    device.rotate()
    first, second = device.keys
    assert first.retired_entry_id == second.valid_from_entry_id
    assert first.retired_at == second.valid_from
    assert second.retired_at is None
    assert bytes(Device.objects.get(pk=device.id).public_key) == bytes(second.public_key)


def test_rotation_after_a_reading_dated_ahead_of_the_platform_clock_starts_after_it(device):
    # Ingest accepts device clocks a little fast; that reading must stay in key #1's window.
    ahead = timezone.now() + timedelta(seconds=30)
    ingest(device.signed(1, ts=ahead))
    device.rotate()
    first, second = device.keys
    assert first.retired_at == second.valid_from > ahead
    assert second.valid_from.microsecond % 1000 == 0
    call_command("verify_ledger")


def test_rotation_without_a_request_is_logged_as_such(device):
    device.rotate(request=False)
    second = device.keys[1]
    claims = platform_entry_open(bytes(second.valid_from_entry.data), platform_public_key())
    assert "request" not in claims
    assert second.requested_by_previous_key is False


def test_a_request_signed_by_another_key_is_refused(device):
    new = raw_public_key(Ed25519PrivateKey.generate())
    forged = rotation_request_sign(Ed25519PrivateKey.generate(), device.id, new)
    with pytest.raises(ValueError, match=r"not signed by .* current key"):
        device_key_rotate(device_id=device.id, public_key=new, request=forged)
    assert len(device.keys) == 1


def test_a_request_for_another_key_is_refused(device):
    asked = raw_public_key(Ed25519PrivateKey.generate())
    request = rotation_request_sign(device.private_key, device.id, asked)
    other = raw_public_key(Ed25519PrivateKey.generate())
    with pytest.raises(ValueError, match="asks for another key"):
        device_key_rotate(device_id=device.id, public_key=other, request=request)


def test_a_key_the_device_had_before_is_refused(device):
    old = device.rotate()
    with pytest.raises(DeviceError, match="already key #1"):
        device_key_rotate(device_id=device.id, public_key=raw_public_key(old))


def test_rotating_a_revoked_device_is_refused(device):
    device_revoke(device_id=device.id, reason="stolen")
    with pytest.raises(DeviceError, match="is revoked"):
        device_key_rotate(
            device_id=device.id, public_key=raw_public_key(Ed25519PrivateKey.generate())
        )
    assert len(device.keys) == 1


# --------------------------------------------------------------------------- ingest


def test_a_reading_signed_by_the_new_key_is_accepted_and_records_it(device):
    device.rotate()
    second = device.keys[1]
    (outcome,) = ingest(device.signed(1, ts=soon_after(second.valid_from)))
    assert outcome.status == "accepted"
    assert Reading.objects.get().signing_key == second


def test_an_old_key_reading_signed_before_rotation_and_delivered_late_is_stored(device):
    old = device.rotate()
    first = device.keys[0]
    late = device.signed(1, key=old, ts=first.retired_at - timedelta(minutes=5))
    (outcome,) = ingest(late)
    assert outcome.status == "accepted"
    assert Reading.objects.get().signing_key == first


def test_an_old_key_reading_dated_after_rotation_is_rejected_as_signed_by_a_retired_key(device):
    old = device.rotate()
    first = device.keys[0]
    (outcome,) = ingest(device.signed(1, key=old, ts=soon_after(first.retired_at)))
    assert (outcome.status, outcome.reason) == ("rejected", "bad_signature")
    assert "key #1" in outcome.detail
    assert "retired" in outcome.detail
    assert Rejection.objects.get().security_event


def test_a_new_key_reading_dated_before_rotation_is_rejected(device):
    device.rotate()
    second = device.keys[1]
    (outcome,) = ingest(device.signed(1, ts=second.valid_from - timedelta(minutes=1)))
    assert (outcome.status, outcome.reason) == ("rejected", "bad_signature")
    assert "valid from" in outcome.detail


def test_a_reading_no_key_of_the_device_signed_is_a_bad_signature(device):
    device.rotate()
    (outcome,) = ingest(device.signed(1, key=Ed25519PrivateKey.generate()))
    assert outcome.reason == "bad_signature"
    assert "any of" in outcome.detail


def test_a_rotation_committed_while_a_batch_is_verified_is_seen_under_the_lock(device, monkeypatch):
    original_store = ingest_module._store

    def rotate_then_store(*args, **kwargs):
        device.rotate()
        return original_store(*args, **kwargs)

    monkeypatch.setattr(ingest_module, "_store", rotate_then_store)
    (outcome,) = ingest(device.signed(1, ts=timezone.now() + timedelta(seconds=30)))
    assert (outcome.status, outcome.reason) == ("rejected", "bad_signature")
    assert "retired" in outcome.detail


# --------------------------------------------------------------------------- command


@pytest.mark.parametrize("encode", ["pem", "jwk"])
def test_command_rotates_to_a_key_made_on_the_device(tmp_path, device, encode, capsys):
    new = Ed25519PrivateKey.generate()
    raw = raw_public_key(new)
    key_file = tmp_path / "new-key"
    if encode == "pem":
        key_file.write_text(public_key_pem(raw))
    else:
        key_file.write_bytes(orjson.dumps(public_key_jwk(raw, device.id)))
    request_file = tmp_path / "request.jws"
    request_file.write_bytes(rotation_request_sign(device.private_key, device.id, raw))
    call_command(
        "rotate_device_key", device.id, "--public-key", key_file, "--request", request_file
    )
    assert bytes(device.keys[1].public_key) == raw
    out = capsys.readouterr().out
    assert f"key #2, key SHA-256 {fingerprint(raw)}" in out
    assert "requested by key #1" in out


def test_command_generate_replaces_the_device_key_file_and_proves_possession(
    tmp_path, django_capture_on_commit_callbacks
):
    call_command("provision_device", "d7", "--vehicle", "t", "--key-dir", tmp_path)
    key_file = tmp_path / "d7.pem"
    with django_capture_on_commit_callbacks(execute=True):
        call_command("rotate_device_key", "d7", "--generate", "--key-dir", tmp_path)
    first, second = DeviceKey.objects.filter(device_id="d7").order_by("number")
    assert bytes(second.public_key) == raw_public_key(load_private_key(key_file))
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert second.requested_by_previous_key
    assert first.retired_at is not None


def test_a_generated_key_replaces_the_key_file_only_once_the_rotation_commits(tmp_path):
    call_command("provision_device", "d8", "--vehicle", "t", "--key-dir", tmp_path)
    key_file = tmp_path / "d8.pem"
    old_key = raw_public_key(load_private_key(key_file))
    call_command("rotate_device_key", "d8", "--generate", "--key-dir", tmp_path)
    # Still inside the test's transaction: nothing has committed yet.
    assert raw_public_key(load_private_key(key_file)) == old_key
    assert (tmp_path / "d8.pem.next").exists()


def test_command_refuses_a_revoked_device_clearly(tmp_path, device):
    device_revoke(device_id=device.id, reason="lost")
    key_file = tmp_path / "key.pem"
    key_file.write_text(public_key_pem(raw_public_key(Ed25519PrivateKey.generate())))
    with pytest.raises(CommandError, match=f"device {device.id} is revoked"):
        call_command("rotate_device_key", device.id, "--public-key", key_file)


def test_command_names_an_unknown_device(tmp_path, db):
    with pytest.raises(CommandError, match="no device nobody"):
        call_command("rotate_device_key", "nobody", "--generate", "--key-dir", tmp_path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"hello", "neither a PEM"),
        (b'{"kty":"RSA"}', "OKP"),
        (b'{"kty":"OKP","crv":"Ed25519","x":"AAAA"}', "want 32"),
        (b'{"kty":"OKP","crv":"Ed25519","x":"AA","d":"AA"}', "private key"),
        (b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", "PEM"),
    ],
)
def test_command_explains_an_unusable_key_file(tmp_path, device, content, message):
    key_file = tmp_path / "key"
    key_file.write_bytes(content)
    with pytest.raises(CommandError, match=message):
        call_command("rotate_device_key", device.id, "--public-key", key_file)
    assert len(device.keys) == 1


def test_command_reports_a_missing_key_or_request_file(tmp_path, device):
    with pytest.raises(CommandError, match="cannot read"):
        call_command("rotate_device_key", device.id, "--public-key", tmp_path / "nope")
    key_file = tmp_path / "key.pem"
    key_file.write_text(public_key_pem(raw_public_key(Ed25519PrivateKey.generate())))
    with pytest.raises(CommandError, match="cannot read"):
        call_command(
            "rotate_device_key", device.id, "--public-key", key_file, "--request", tmp_path / "x"
        )


def test_command_explains_a_request_that_is_not_a_jws(tmp_path, device):
    key_file = tmp_path / "key.pem"
    key_file.write_text(public_key_pem(raw_public_key(Ed25519PrivateKey.generate())))
    request_file = tmp_path / "request.jws"
    request_file.write_text("not a jws")
    with pytest.raises(CommandError, match="rotation request"):
        call_command(
            "rotate_device_key", device.id, "--public-key", key_file, "--request", request_file
        )


# --------------------------------------------------------------------------- verify_ledger


@pytest.fixture
def rotated_log(device):
    """Readings 1-3 by key #1, a rotation, a late key #1 reading (4), readings 5-6 by key #2."""
    old = device.rotate()
    first, second = device.keys
    before = first.retired_at - timedelta(hours=1)
    tokens = [device.signed(seq, key=old, ts=before + timedelta(minutes=seq)) for seq in (1, 2, 3)]
    tokens.append(device.signed(4, key=old, ts=first.retired_at - timedelta(seconds=1)))
    tokens += [device.signed(seq, ts=soon_after(second.valid_from, seq)) for seq in (5, 6)]
    assert [o.status for o in ingest(*tokens)] == ["accepted"] * 6
    log_seal()
    return device


def verify_ledger_failure() -> str:
    with pytest.raises(CommandError) as error:
        call_command("verify_ledger")
    return str(error.value)


def test_a_log_with_a_rotation_verifies(rotated_log, capsys):
    call_command("verify_ledger")
    assert "8 entries" in capsys.readouterr().out


def test_verify_ledger_finds_a_key_row_changed_at_the_entry_that_logged_the_key(rotated_log):
    first = rotated_log.keys[0]
    DeviceKey.objects.filter(pk=first.pk).update(
        public_key=raw_public_key(Ed25519PrivateKey.generate())
    )
    registration = rotated_log.device.registration_entry.index
    assert f"entry {registration}: device {rotated_log.id}'s stored key is not the registered" in (
        verify_ledger_failure()
    )


def test_verify_ledger_finds_a_retirement_moved_after_readings_it_would_reject(rotated_log):
    first = rotated_log.keys[0]
    DeviceKey.objects.filter(pk=first.pk).update(retired_at=first.retired_at - timedelta(hours=2))
    message = verify_ledger_failure()
    assert f"entry {first.retired_entry.index}:" in message
    assert "retirement is not the new key's start" in message


def test_verify_ledger_finds_a_reading_attributed_to_another_key(rotated_log):
    first = rotated_log.keys[0]
    Reading.objects.filter(seq=5).update(signing_key=first)
    index = Reading.objects.get(seq=5).ledger_entry.index
    assert f"entry {index}: device signature or payload invalid (key #1 of" in (
        verify_ledger_failure()
    )


def test_verify_ledger_finds_a_key_added_to_the_history_behind_the_logs_back(rotated_log):
    second = rotated_log.keys[1]
    unlogged = DeviceKey.objects.create(
        device_id=rotated_log.id,
        number=3,
        public_key=bytes(second.public_key),
        fingerprint=second.fingerprint,
        valid_from=second.valid_from,
        retired_at=second.valid_from + timedelta(days=1),
    )
    Reading.objects.filter(seq=6).update(signing_key=unlogged)
    index = Reading.objects.get(seq=6).ledger_entry.index
    message = verify_ledger_failure()
    assert f"entry {index}: key #3 of {rotated_log.id} signed this reading" in message
    assert "is not in the log before it" in message


def test_verify_ledger_finds_a_key_history_that_differs_from_the_rotation_entry(rotated_log):
    second = rotated_log.keys[1]
    DeviceKey.objects.filter(pk=second.pk).update(valid_from=second.valid_from - timedelta(days=1))
    message = verify_ledger_failure()
    assert f"entry {second.valid_from_entry.index}: the key history of {rotated_log.id}" in message
    assert "at logged" in message


# --------------------------------------------------------------------------- evidence


def entry_index(seq: int) -> int:
    return Reading.objects.get(seq=seq).ledger_entry.index


def reverified(bundle: dict):
    return verify_bundle(bundle, log_vkey=log_vkey())


def test_bundle_of_a_post_rotation_reading_carries_the_key_chain_and_verifies(rotated_log):
    first, second = rotated_log.keys
    rotation = second.valid_from_entry.index
    bundle = evidence_bundle([entry_index(5)])
    (key,) = bundle["keys"]
    assert (key["number"], key["registered_in"], key["rotated_in"], key["retired_in"]) == (
        2,
        first.valid_from_entry.index,
        [rotation],
        None,
    )
    assert key["key_sha256"] == second.fingerprint
    assert {e["index"] for e in bundle["entries"]} == {
        first.valid_from_entry.index,
        rotation,
        entry_index(5),
    }
    report = reverified(bundle)
    assert report.verified, report.render()
    assert (
        f"key #2 of device {rotated_log.id} (SHA-256 {second.fingerprint}), rotated in at log "
        f"index {rotation}, signed the reading"
    ) in report.render()


def test_bundle_of_a_late_old_key_reading_shows_it_was_signed_before_the_retirement(
    rotated_log,
):
    first = rotated_log.keys[0]
    bundle = evidence_bundle([entry_index(4)])
    (key,) = bundle["keys"]
    assert (key["number"], key["retired_in"]) == (1, first.retired_entry.index)
    report = reverified(bundle)
    assert report.verified, report.render()
    assert f"retired in entry {first.retired_entry.index}" in report.render()


def test_a_tampered_rotation_entry_in_a_bundle_fails_offline(rotated_log):
    second = rotated_log.keys[1]
    rotation = second.valid_from_entry.index
    bundle = evidence_bundle([entry_index(5)])
    item = next(e for e in bundle["entries"] if e["index"] == rotation)
    token = base64.b64decode(item["data"])
    header, payload, signature = token.split(b".")
    claims = orjson.loads(b64url_decode(payload))
    claims["previous_key_sha256"] = "0" * 64
    forged = b".".join([header, b64url_encode(orjson.dumps(claims)).encode(), signature])
    item["data"] = base64.b64encode(forged).decode()
    item["leaf_hash"] = base64.b64encode(leaf_hash(forged)).decode()
    report = reverified(bundle)
    assert not report.verified
    assert f"entry {rotation} is NOT proven included" in report.render()
    assert f"cannot trust {rotated_log.id}'s key" in report.render()


def test_a_bundle_that_passes_a_rotated_key_off_as_the_registered_one_fails(rotated_log):
    bundle = evidence_bundle([entry_index(5)])
    (key,) = bundle["keys"]
    key["number"], key["rotated_in"] = 1, []
    report = reverified(bundle)
    assert not report.verified
    assert "registers another key" in report.render()


def test_offline_a_new_key_reading_in_any_time_spelling_ingest_accepts_verifies(device):
    """Lower-case t and z and a leap second: RFC 3339 as ingest reads it. The
    verifier reads ts to check the rotated key's window, by the same rule."""
    device.rotate()
    second = device.keys[1]
    later = soon_after(second.valid_from, 120)
    payload = {**device.reading(1), "ts": later.strftime("%Y-%m-%dt%H:%M:60.123456789z")}
    assert [o.status for o in ingest(sign_reading(device.private_key, payload))] == ["accepted"]
    log_seal()
    report = reverified(evidence_bundle([entry_index(1)]))
    assert report.verified, report.render()
    assert f"key #2 of device {device.id}" in report.render()


def test_a_bundle_that_leaves_out_a_retirement_still_holds_the_retired_key_to_it(device):
    """The operator logs a key #1 reading dated after the rotation (ingest refuses
    it) and exports it beside key #2, with key #1's retired_in removed: key #2's
    rotation, log-signed and proven in the same bundle, retires key #1 anyway."""
    old = device.rotate()
    first, second = device.keys
    assert [o.status for o in ingest(device.signed(1, ts=soon_after(second.valid_from)))] == [
        "accepted"
    ]
    late = entry_append(  # bypasses ingest, which would refuse it
        data=device.signed(2, key=old, ts=soon_after(first.retired_at, 5)), kind="reading"
    )
    log_seal()
    late.refresh_from_db()
    bundle = evidence_bundle([entry_index(1), late.index])
    key_1 = next(k for k in bundle["keys"] if k["number"] == 1)
    rotation = second.valid_from_entry.index
    assert key_1["retired_in"] == rotation
    key_1["retired_in"] = None
    report = reverified(bundle)
    assert not report.verified
    assert (
        f"entry {rotation}, a proven, log-signed rotation in the bundle, retires key #1 of "
        f"{device.id}, but the bundle's retired_in for that key gives none"
    ) in report.render()
    assert (
        f"entry {late.index} is signed by key #1 of {device.id}, retired in entry {rotation}"
    ) in report.render()
    assert "a retired key signed it" in report.render()


def relog(pending, **changes) -> None:
    """Re-sign a platform entry not sealed yet with changed claims (None drops one):
    what an operator holding the log key could log in place of the real one."""
    claims = platform_entry_open(bytes(pending.data), platform_public_key())
    kind = claims.pop("kind")
    claims.update(changes)
    data = platform_entry_sign(
        kind=kind, claims={name: value for name, value in claims.items() if value is not None}
    )
    Entry.objects.filter(pk=pending.pk).update(data=data, leaf_hash=leaf_hash(data))
    PendingEntry.objects.filter(entry_id=pending.pk).update(leaf_hash=leaf_hash(data))


def sealed_new_key_reading(device) -> int:
    """Log a reading by the device's current key, seal, and return its index."""
    ts = soon_after(device.keys[-1].valid_from)
    assert [o.status for o in ingest(device.signed(1, ts=ts))] == ["accepted"]
    log_seal()
    return entry_index(1)


def test_offline_a_rotation_with_an_unreadable_signed_time_fails(device):
    """Without its time the new key would vouch for readings dated before it."""
    device.rotate()
    pending = device.keys[1].valid_from_entry
    relog(pending, at="yesterday")
    report = reverified(evidence_bundle([sealed_new_key_reading(device)]))
    pending.refresh_from_db()
    assert not report.verified
    assert (
        f"FAIL entry {pending.index} rotates {device.id} to key #2, but its signed time "
        "'yesterday' is not an RFC 3339 time"
    ) in report.render()


def test_offline_a_rotation_from_an_unreadable_registered_key_fails(device):
    """A registration whose key cannot be read and a rotation that names no previous
    key must not match as two missing fingerprints."""
    relog(device.device.registration_entry, public_key="!")
    device.rotate(request=False)
    pending = device.keys[1].valid_from_entry
    relog(pending, previous_key_sha256=None)
    report = reverified(evidence_bundle([sealed_new_key_reading(device)]))
    pending.refresh_from_db()
    assert not report.verified
    assert (
        f"FAIL {device.id}'s key #2 is said to be rotated in at entry {pending.index}, but the "
        "key before it cannot be read"
    ) in report.render()


def test_export_says_a_key_whose_rotation_is_not_sealed_cannot_be_proven_yet(device):
    """A reading logged outside ingest (not stored) brings every key of its device,
    including one whose rotation still waits for its index."""
    unstored = entry_append(data=device.signed(1), kind="reading")
    log_seal()
    device.rotate()
    unstored.refresh_from_db()
    with pytest.raises(
        EvidenceError,
        match=f"the rotation of {device.id} to key #2 is not sealed yet: run manage.py seal",
    ):
        evidence_bundle([unstored.index])


def test_offline_a_rotation_the_device_asked_for_shows_its_request(rotated_log):
    first, second = rotated_log.keys
    report = reverified(evidence_bundle([entry_index(5)]))
    assert report.verified, report.render()
    assert (
        f"OK   rotation #2 was requested by key #1: the request in entry "
        f"{second.valid_from_entry.index} is signed by key #1 of {rotated_log.id} "
        f"(SHA-256 {first.fingerprint})"
    ) in report.render()


def test_offline_a_rotation_without_a_request_is_a_warning(device):
    device.rotate(request=False)
    second = device.keys[1]
    assert [o.status for o in ingest(device.signed(1, ts=soon_after(second.valid_from)))] == [
        "accepted"
    ]
    log_seal()
    report = reverified(evidence_bundle([entry_index(1)]))
    assert report.verified, report.render()
    assert (
        "WARN rotation #2 was made by the platform alone, without the device's consent: "
        f"entry {second.valid_from_entry.index} carries no request signed by key #1"
    ) in report.render()


def test_offline_a_logged_rotation_request_the_retired_key_did_not_sign_fails(device):
    """The platform logs a rotation with a request of its own making (ingest would
    have refused it): the log signed the entry, but the request does not verify."""
    device.rotate()
    second = device.keys[1]
    pending = second.valid_from_entry
    forged = rotation_request_sign(
        Ed25519PrivateKey.generate(), device.id, bytes(second.public_key)
    )
    relog(pending, request=forged.decode())
    assert [o.status for o in ingest(device.signed(1, ts=soon_after(second.valid_from)))] == [
        "accepted"
    ]
    log_seal()
    pending.refresh_from_db()
    report = reverified(evidence_bundle([entry_index(1)]))
    assert not report.verified
    assert (
        f"FAIL rotation #2 of {device.id} in entry {pending.index} carries a "
        "request that does not verify: it is not signed by the key the rotation retires"
    ) in report.render()


# --------------------------------------------------------------------------- REST and admin


def test_device_api_shows_the_key_history_and_current_fingerprint(admin_client, rotated_log):
    first, second = rotated_log.keys
    device = admin_client.get(f"/api/v1/devices/{rotated_log.id}/").json()
    assert device["key_sha256"] == second.fingerprint
    assert [(k["number"], k["key_sha256"]) for k in device["keys"]] == [
        (1, first.fingerprint),
        (2, second.fingerprint),
    ]
    assert device["keys"][0]["retired_index"] == device["keys"][1]["valid_from_index"]


def test_readings_api_names_the_key_that_signed_each_reading(admin_client, rotated_log):
    readings = admin_client.get("/api/v1/readings/", {"device": rotated_log.id}).json()
    assert {r["seq"]: r["key_number"] for r in readings["results"]} == {
        1: 1, 2: 1, 3: 1, 4: 1, 5: 2, 6: 2,
    }  # fmt: skip


def test_admin_device_page_lists_the_key_history(admin_client, rotated_log):
    page = admin_client.get(f"/admin/devices/device/{rotated_log.id}/change/")
    assert page.status_code == 200
    for key in rotated_log.keys:
        assert key.fingerprint in page.content.decode()
