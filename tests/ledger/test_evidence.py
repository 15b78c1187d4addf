"""Evidence bundles: built from the log, complete, and verifiable (in process here;
without Django in tests/ledger/test_offline_verify.py)."""

from __future__ import annotations

import base64
import json
from types import SimpleNamespace

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from devices.ingest import SOURCE_HTTP, IncomingMessage, readings_ingest
from devices.models import Device, Reading
from devices.services import device_revoke
from ledger import evidence, merkle
from ledger.checkpoint import parse_checkpoint
from ledger.cosignature import cosign, encode_witness_vkey
from ledger.evidence import EvidenceContext, EvidenceError, SignerKey, evidence_bundle
from ledger.log_key import log_signer, log_vkey
from ledger.models import Checkpoint, Cosignature
from ledger.note import new_verifier, split_note
from ledger.platform_entries import platform_entry_sign
from ledger.services import (
    checkpoint_latest,
    checkpoint_with_cosignatures,
    entry_append,
    log_seal,
)
from ledger.tlog_proof import parse_tlog_proof, verify_tlog_proof
from ledger.verify import BUNDLE_FORMAT, verify_bundle
from tests.factories import make_device

# --------------------------------------------------------------------------- a log


@pytest.fixture
def evidence_log(db):
    """Two devices of truck-001 (registrations: entries 0 and 1), 30 readings each
    (entries 2..61, interleaved), sealed in batches of 16: checkpoints 16, 32, 48, 62."""
    logger = make_device(device_id="truck-001-logger")
    reefer = make_device(device_id="truck-001-reefer", kind="reefer_controller")
    tokens = [
        device.signed(seq, temp_c=round(4.0 + seq / 50, 2))
        for seq in range(1, 31)
        for device in (logger, reefer)
    ]
    report = readings_ingest(
        messages=[IncomingMessage(t, timezone.now(), SOURCE_HTTP) for t in tokens]
    )
    assert report.accepted == 60
    log_seal(batch_size=16)
    return SimpleNamespace(logger=logger, reefer=reefer)


def reading_index(device_id: str, seq: int) -> int:
    return Reading.objects.get(device_id=device_id, seq=seq).ledger_entry.index


def registration_index(device_id: str) -> int:
    return Device.objects.get(pk=device_id).registration_entry.index


# --------------------------------------------------------------------------- bundle content


def test_bundle_for_one_reading_holds_entry_key_registration_and_one_checkpoint(evidence_log):
    index = reading_index("truck-001-logger", 7)
    bundle = evidence_bundle([index])
    latest = checkpoint_latest()

    assert bundle["format"] == BUNDLE_FORMAT == "coldchain-evidence/v1"
    assert bundle["log"] == {"origin": "coldchain.localhost/log", "vkey": log_vkey()}
    assert bundle["checkpoint"]["size"] == latest.size == 62
    assert bundle["checkpoint"]["signed_note"] == checkpoint_with_cosignatures(latest)
    assert bundle["checkpoint"]["root_hash"] == base64.b64encode(latest.root_hash).decode()

    registration = registration_index("truck-001-logger")
    assert [(e["index"], e["role"], e["kind"]) for e in bundle["entries"]] == [
        (registration, "context", "device.registered"),
        (index, "subject", "reading"),
    ]
    reading = bundle["entries"][1]
    assert base64.b64decode(reading["data"]) == bytes(
        Reading.objects.get(device_id="truck-001-logger", seq=7).jws
    )
    device = evidence_log.logger.device
    (key,) = bundle["keys"]
    assert key["kid"] == "truck-001-logger"
    assert key["jwk"]["kty"] == "OKP"
    assert key["jwk"]["crv"] == "Ed25519"
    assert base64.urlsafe_b64decode(key["jwk"]["x"] + "=") == bytes(device.public_key)
    assert key["key_sha256"] == device.key_fingerprint
    assert (key["registered_in"], key["revoked_in"]) == (registration, None)
    json.dumps(bundle)  # JSON-ready as is


def test_every_inclusion_proof_leads_to_the_one_checkpoint_root(evidence_log):
    bundle = evidence_bundle(range(0, 62, 5))
    checkpoint = parse_checkpoint(split_note(bundle["checkpoint"]["signed_note"])[0])
    for item in bundle["entries"]:
        assert merkle.verify_inclusion(
            base64.b64decode(item["leaf_hash"]),
            item["index"],
            checkpoint.size,
            [base64.b64decode(h) for h in item["inclusion_proof"]],
            checkpoint.root_hash,
        )
        assert merkle.leaf_hash(base64.b64decode(item["data"])) == base64.b64decode(
            item["leaf_hash"]
        )


def test_the_tlog_proof_of_every_entry_verifies_on_its_own(evidence_log):
    bundle = evidence_bundle([reading_index("truck-001-reefer", 30), 3])
    log = new_verifier(log_vkey())
    for item in bundle["entries"]:
        proof = parse_tlog_proof(item["tlog_proof"])
        assert proof.index == item["index"]
        assert proof.signed_checkpoint == bundle["checkpoint"]["signed_note"]
        checkpoint, _ = verify_tlog_proof(
            proof, log_verifier=log, entry=base64.b64decode(item["data"])
        )
        assert checkpoint.size == 62


def test_readings_of_two_devices_bring_both_registrations_once(evidence_log):
    indices = [
        reading_index(d, seq)
        for d in ("truck-001-logger", "truck-001-reefer")
        for seq in (1, 2, 29)
    ]
    bundle = evidence_bundle(indices)
    assert sorted(k["kid"] for k in bundle["keys"]) == ["truck-001-logger", "truck-001-reefer"]
    context = [e["index"] for e in bundle["entries"] if e["role"] == "context"]
    assert context == [
        registration_index("truck-001-logger"),
        registration_index("truck-001-reefer"),
    ]
    assert [e["index"] for e in bundle["entries"] if e["role"] == "subject"] == sorted(indices)


def test_a_registration_asked_for_itself_is_a_subject_not_a_context(evidence_log):
    registration = registration_index("truck-001-logger")
    bundle = evidence_bundle([registration, reading_index("truck-001-logger", 1)])
    assert [e["role"] for e in bundle["entries"]] == ["subject", "subject"]


def test_bundle_against_an_older_checkpoint(evidence_log):
    bundle = evidence_bundle([5, 20], size=32)
    assert bundle["checkpoint"]["signed_note"] == Checkpoint.objects.get(size=32).note
    assert verify_bundle(bundle, log_vkey=log_vkey()).verified
    with pytest.raises(EvidenceError, match="entry 40 is not under the checkpoint of size 32"):
        evidence_bundle([40], size=32)
    with pytest.raises(EvidenceError, match="no checkpoint at tree size 33"):
        evidence_bundle([5], size=33)


def test_pending_and_unknown_entries_are_refused(evidence_log):
    entry_append(data=b"pending", kind="test")
    with pytest.raises(EvidenceError, match="entry 62 is not under the checkpoint of size 62"):
        evidence_bundle([62])
    with pytest.raises(EvidenceError, match="no entries selected"):
        evidence_bundle([])


def test_no_checkpoint_yet(db):
    with pytest.raises(EvidenceError, match="no checkpoint"):
        evidence_bundle([0])


def test_platform_entries_need_no_context(db):
    entry_append(
        data=platform_entry_sign(kind="model.version", claims={"name": "m1"}), kind="model.version"
    )
    log_seal()
    bundle = evidence_bundle([0])
    assert bundle["keys"] == []
    report = verify_bundle(bundle, log_vkey=log_vkey())
    assert report.verified, report.render()
    assert "entry 0 (model.version: at " in report.render()
    assert "signed by the log key" in report.render()


def test_a_revoked_device_brings_its_revocation_entry(evidence_log):
    device_revoke(device_id="truck-001-logger", reason="probe replaced")
    log_seal()
    index = reading_index("truck-001-logger", 3)
    bundle = evidence_bundle([index])
    revocation = Device.objects.get(pk="truck-001-logger").revocation_entry.index
    (key,) = bundle["keys"]
    assert key["revoked_in"] == revocation == 62
    assert [e["index"] for e in bundle["entries"]] == [0, index, revocation]
    report = verify_bundle(bundle, log_vkey=log_vkey())
    assert report.verified, report.render()
    assert "the key was revoked in entry 62 (probe replaced), after this entry" in report.render()


def test_a_revocation_after_the_checkpoint_is_left_out(evidence_log):
    device_revoke(device_id="truck-001-logger", reason="probe replaced")
    log_seal()
    bundle = evidence_bundle([reading_index("truck-001-logger", 3)], size=62)
    assert bundle["keys"][0]["revoked_in"] is None
    assert verify_bundle(bundle, log_vkey=log_vkey()).verified


# --------------------------------------------------------------------------- round trip


def test_round_trip_says_in_plain_words_what_it_proved(evidence_log):
    index = reading_index("truck-001-logger", 7)
    report = verify_bundle(evidence_bundle([index]), log_vkey=log_vkey())
    text = report.render()
    assert report.verified, text
    log = new_verifier(log_vkey())
    key = f"{log.name}+{log.key_hash:08x}"
    fingerprint = evidence_log.logger.device.key_fingerprint
    assert (
        f"checkpoint coldchain.localhost/log size 62 (root hash "
        f"{base64.b64encode(checkpoint_latest().root_hash).decode()}) is signed by the log key "
        f"{key} (the key you supplied)" in text
    )
    assert (
        f"entry {index} (reading truck-001-logger #7, 4.14 °C at 2026-01-05T00:07:00.000Z) is "
        "included: its leaf hash" in text
    )
    assert (
        f"the reading is signed by device truck-001-logger whose key (SHA-256 {fingerprint}) was "
        "registered in entry 0, itself included" in text
    )
    assert "the C2SP tlog-proof (c2sp.org/tlog-proof@v1) of 2 entries verifies on its own" in text
    assert text.rstrip().endswith(
        "VERIFIED: 1 entry (1 reading) and 1 supporting entry are in the log at checkpoint "
        "coldchain.localhost/log size 62, checked against the key you supplied."
    )
    assert "FAIL" not in text


def test_trusting_the_bundles_own_key_is_said_to_prove_only_consistency(evidence_log):
    report = verify_bundle(evidence_bundle([5]))
    assert report.verified
    assert "(the key in the bundle)" in report.render()
    assert "proves only that the bundle is consistent with itself" in report.render()


@pytest.fixture
def witness():
    seed = bytes(range(32))
    name = "witness.example/w1"
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    public = Ed25519PrivateKey.from_private_bytes(seed).public_key()
    return SimpleNamespace(seed=seed, name=name, vkey=encode_witness_vkey(name, public))


def _cosign_latest(witness) -> None:
    checkpoint = checkpoint_latest()
    text, _ = split_note(checkpoint.note)
    line = cosign(text, witness.seed, witness.name, 1_767_600_000)
    Cosignature.objects.create(checkpoint=checkpoint, witness=witness.name, signature_line=line)


def test_cosignatures_travel_in_the_bundle_and_verify_with_the_witness_key(evidence_log, witness):
    _cosign_latest(witness)
    bundle = evidence_bundle([10])
    assert bundle["checkpoint"]["signed_note"].count("\n\u2014 ") == 2
    report = verify_bundle(bundle, log_vkey=log_vkey(), witness_vkeys=[witness.vkey])
    assert report.verified, report.render()
    assert (
        f"cosigned by 1 of the 1 witnesses you supplied: witness.example/w1+"
        f"{new_witness_hash(witness.vkey)} at 2026-01-05T08:00:00Z"
    ) in report.render()
    # Without the witness's key the cosignature is mentioned, not trusted.
    plain = verify_bundle(bundle, log_vkey=log_vkey()).render()
    assert "1 further signature line(s) by witness.example/w1+" in plain
    assert "not checked" in plain


def new_witness_hash(vkey: str) -> str:
    return vkey.split("+")[1]


def test_a_quorum_the_cosignatures_do_not_meet_fails(evidence_log, witness):
    bundle = evidence_bundle([10])  # no cosignature at all
    report = verify_bundle(bundle, log_vkey=log_vkey(), witness_vkeys=[witness.vkey])
    assert not report.verified
    assert (
        "only 0 of the witnesses you supplied cosigned the checkpoint, the quorum is 1"
        in (report.failures[0])
    )
    assert verify_bundle(
        bundle, log_vkey=log_vkey(), witness_vkeys=[witness.vkey], quorum=0
    ).verified


# --------------------------------------------------------------------------- export_evidence


def export(tmp_path, *args: str) -> dict:
    out = tmp_path / "bundle.json"
    call_command("export_evidence", *args, "-o", str(out))
    return json.loads(out.read_text(encoding="utf-8"))


def subject_indices(bundle: dict) -> list[int]:
    return [e["index"] for e in bundle["entries"] if e["role"] == "subject"]


def test_export_by_index_writes_a_bundle_that_verifies(evidence_log, tmp_path, capsys):
    bundle = export(tmp_path, "--index", "9", "--index", "4")
    assert subject_indices(bundle) == [4, 9]
    assert verify_bundle(bundle, log_vkey=log_vkey()).verified
    assert f"python -m ledger.verify {tmp_path / 'bundle.json'} --log-vkey" in (
        capsys.readouterr().err
    )


def test_export_to_standard_output(evidence_log, capsys):
    call_command("export_evidence", "--index", "9")
    bundle = json.loads(capsys.readouterr().out)
    assert subject_indices(bundle) == [9]


def test_export_indices_from_a_file(evidence_log, tmp_path):
    listing = tmp_path / "indices.txt"
    listing.write_text("3, 5  # two readings\n8\n")
    assert subject_indices(export(tmp_path, "--indices-from", str(listing))) == [3, 5, 8]


def test_export_a_devices_readings_in_a_time_range(evidence_log, tmp_path):
    bundle = export(
        tmp_path,
        "--device",
        "truck-001-reefer",
        "--since",
        "2026-01-05T00:10:00Z",
        "--until",
        "2026-01-05T00:13:00Z",
    )
    expected = [reading_index("truck-001-reefer", seq) for seq in (10, 11, 12)]
    assert subject_indices(bundle) == expected
    assert [k["kid"] for k in bundle["keys"]] == ["truck-001-reefer"]


def test_export_one_reading_and_a_vehicle(evidence_log, tmp_path):
    one = export(tmp_path, "--select", "reading=truck-001-logger#12")
    assert subject_indices(one) == [reading_index("truck-001-logger", 12)]
    vehicle = export(tmp_path, "--select", "vehicle=truck-001", "--until", "2026-01-05T00:02")
    assert len(subject_indices(vehicle)) == 2


def test_export_writes_tlog_proof_files(evidence_log, tmp_path):
    proofs = tmp_path / "proofs"
    bundle = export(
        tmp_path, "--index", "12", "--tlog-proof-dir", str(proofs), "--no-embedded-tlog-proofs"
    )
    assert all("tlog_proof" not in e for e in bundle["entries"])
    assert verify_bundle(bundle, log_vkey=log_vkey()).verified
    assert sorted(p.name for p in proofs.iterdir()) == [
        "0.entry",
        "0.tlog-proof",
        "12.entry",
        "12.tlog-proof",
    ]
    for index in (0, 12):
        text = (proofs / f"{index}.tlog-proof").read_text(encoding="utf-8")
        assert text.startswith(f"c2sp.org/tlog-proof@v1\nindex {index}\n")
        verify_tlog_proof(
            text,
            log_verifier=log_signer().verifier(),
            entry=(proofs / f"{index}.entry").read_bytes(),
        )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "select entries with --index"),
        (("--index", "99"), "entry 99 is not under the checkpoint of size 62"),
        (("--select", "container=7"), "no app offers a 'container' selector"),
        (("--select", "nonsense"), "--select wants NAME=VALUE"),
        (("--device", "nobody"), "no device 'nobody'"),
        (("--device", "truck-001-logger", "--since", "2027-01-01"), "selects no sealed entries"),
        (("--index", "3", "--since", "2026-01-01"), "apply to --device and --select only"),
        (("--device", "truck-001-logger", "--until", "yesterday"), "not an ISO 8601"),
    ],
)
def test_export_errors_are_clear(evidence_log, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("export_evidence", *args)


def test_export_refuses_evidence_that_does_not_verify(evidence_log, monkeypatch):
    def wrong_key(rows):
        return EvidenceContext(keys=(SignerKey("truck-001-logger", bytes(32), 1),))

    monkeypatch.setattr(evidence, "_providers", {"reading": [wrong_key]})
    with pytest.raises(CommandError, match="the bundle does not verify"):
        call_command("export_evidence", "--index", "5")


def test_export_against_an_older_checkpoint(evidence_log, tmp_path):
    bundle = export(tmp_path, "--index", "5", "--size", "16")
    assert parse_checkpoint(split_note(bundle["checkpoint"]["signed_note"])[0]).size == 16


def test_export_time_bounds_are_utc_when_naive(evidence_log, tmp_path):
    # readings are signed at 2026-01-05T00:<seq>:00Z
    bundle = export(tmp_path, "--device", "truck-001-logger", "--since", "2026-01-05 00:30")
    assert subject_indices(bundle) == [reading_index("truck-001-logger", 30)]
