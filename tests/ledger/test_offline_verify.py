"""``python -m ledger.verify``: runs without Django (no database, no network) and
names what it proved, or exactly what was tampered with."""

from __future__ import annotations

import ast
import base64
import copy
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from devices.keys import raw_public_key
from devices.services import device_revoke
from devices.wire import TIMESTAMP_PATTERN, sign_reading
from devices.wire import parse_timestamp as ingest_parse_timestamp
from ledger import merkle
from ledger.checkpoint import format_checkpoint
from ledger.cosignature import vkey_to_cosignature_v1
from ledger.evidence import evidence_bundle
from ledger.jws import b64url_encode, parse_compact, sign_compact
from ledger.log_key import log_vkey
from ledger.models import Checkpoint
from ledger.note import generate_key, new_signer, sign_note, split_note
from ledger.services import entry_append, log_seal
from ledger.tlog_proof import format_tlog_proof
from ledger.verify import parse_timestamp, verify_bundle
from tests.ledger import test_evidence
from tests.ledger.test_evidence import _cosign_latest, reading_index, registration_index

# The log, shared with test_evidence.py.
evidence_log = test_evidence.evidence_log
witness = test_evidence.witness

REPO = Path(__file__).resolve().parents[2]
#: Everything the offline verifier may need from this repository.
VERIFIER_FILES = (
    "__init__.py",
    "verify.py",
    "merkle.py",
    "note.py",
    "checkpoint.py",
    "cosignature.py",
    "tlog_proof.py",
)
ALLOWED_LEDGER = {"ledger"} | {f"ledger.{name[:-3]}" for name in VERIFIER_FILES[1:]}

# Runs the verifier from a bare copy of the files above, in isolated mode (no
# PYTHONPATH, no user site, no current directory on the path), refusing every
# import that is not the standard library, cryptography (and its cffi backend)
# or those files, and refusing sockets, HTTP and SQLite outright. Afterwards it
# checks sys.modules once more.
RUNNER = r"""
import runpy, sys
preloaded = set(sys.modules)  # the interpreter's own start-up (site, encodings ...)
root, args = sys.argv[1], sys.argv[2:]
sys.path.insert(0, root)
ALLOWED_LEDGER = set(%(ledger)r)
THIRD_PARTY = {"cryptography", "cffi", "_cffi_backend", "_openssl"}
DENIED = {"socket", "_socket", "ssl", "_ssl", "http", "sqlite3", "_sqlite3", "asyncio"}

def allowed(name):
    top = name.partition(".")[0]
    if top in DENIED or name == "urllib.request":
        return False
    if top == "ledger":
        return name in ALLOWED_LEDGER
    return top in sys.stdlib_module_names or top in THIRD_PARTY

class Gate:
    def find_spec(self, name, path=None, target=None):
        if not allowed(name):
            raise ImportError(f"the offline verifier must not import {name}")
        return None

sys.meta_path.insert(0, Gate())
sys.argv = ["ledger.verify", *args]
try:
    runpy.run_module("ledger.verify", run_name="__main__", alter_sys=True)
    code = 0
except SystemExit as exit:
    code = exit.code
bad = sorted(m for m in set(sys.modules) - preloaded if not allowed(m))
bad += sorted(m for m in preloaded if m.partition(".")[0] in ("django", "orjson", "devices"))
if bad:
    print("FORBIDDEN MODULES LOADED: " + ", ".join(bad), file=sys.stderr)
    sys.exit(99)
assert sys.modules["ledger"].__file__.startswith(root), sys.modules["ledger"].__file__
sys.exit(code)
"""


@pytest.fixture(scope="session")
def offline_root(tmp_path_factory) -> Path:
    """A directory holding only the verifier's files: ledger/ with seven modules."""
    root = tmp_path_factory.mktemp("offline")
    (root / "ledger").mkdir()
    for name in VERIFIER_FILES:
        shutil.copy(REPO / "ledger" / name, root / "ledger" / name)
    return root


def run_offline(root: Path, *args: str) -> subprocess.CompletedProcess:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"}
    runner = RUNNER % {"ledger": sorted(ALLOWED_LEDGER)}
    return subprocess.run(
        [sys.executable, "-I", "-c", runner, str(root), *args],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
    )


@pytest.fixture
def case(evidence_log, offline_root, tmp_path):
    """A bundle for two readings of truck-001-logger, the log's vkey in a file,
    and a way to verify a (possibly tampered) copy offline."""
    indices = [reading_index("truck-001-logger", 7), reading_index("truck-001-logger", 20)]
    bundle = evidence_bundle(indices)
    vkey_file = tmp_path / "log.vkey"
    vkey_file.write_text(log_vkey() + "\n")

    def verify(changed: dict | None = None, *args: str, vkey: str | None = str(vkey_file)):
        path = tmp_path / "bundle.json"
        path.write_text(json.dumps(changed or bundle, ensure_ascii=False), encoding="utf-8")
        options = ["--log-vkey", vkey] if vkey else []
        return run_offline(offline_root, str(path), *options, *args)

    return SimpleNamespace(
        bundle=bundle, indices=indices, verify=verify, log=evidence_log, tmp=tmp_path
    )


def entry(bundle: dict, index: int) -> dict:
    return next(e for e in bundle["entries"] if e["index"] == index)


def failed(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 1, result.stdout + result.stderr
    assert "NOT VERIFIED" in result.stdout
    assert result.stderr.startswith("not verified: ")
    return result.stdout


# --------------------------------------------------------------------------- no Django


def test_the_verifier_imports_only_stdlib_cryptography_and_pure_ledger_modules():
    """Static check of the verifier's files: their imports, top level or not."""
    stdlib = sys.stdlib_module_names
    for name in VERIFIER_FILES:
        tree = ast.parse((REPO / "ledger" / name).read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                modules = [base] if base != "ledger" else [f"ledger.{a.name}" for a in node.names]
            else:
                continue
            for module in modules:
                top = module.partition(".")[0]
                assert top in stdlib or top == "cryptography" or module in ALLOWED_LEDGER, (
                    f"ledger/{name} imports {module}"
                )


def test_verifies_offline_from_a_bare_copy_without_django(case):
    result = case.verify()
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    first, second = case.indices
    assert "(the key you supplied)" in out
    assert (
        f"entry {first} (reading truck-001-logger #7, 4.14 °C at 2026-01-05T00:07:00.000Z)" in out
    )
    assert f"entry {second} (reading truck-001-logger #20, 4.4 °C at " in out
    assert "is included: its leaf hash" in out
    fingerprint = case.log.logger.device.key_fingerprint
    assert (
        f"the reading is signed by device truck-001-logger whose key (SHA-256 {fingerprint}) "
        f"was registered in entry {registration_index('truck-001-logger')}, itself included"
    ) in out
    assert "VERIFIED: 2 entries (2 readings) and 1 supporting entry" in out
    assert "FORBIDDEN" not in result.stderr


def test_the_gate_would_catch_a_django_import(offline_root, tmp_path):
    """The runner really refuses Django: a verifier that imports it fails."""
    root = tmp_path / "bad"
    shutil.copytree(offline_root, root)
    source = root / "ledger" / "verify.py"
    text = source.read_text().replace(
        "from __future__ import annotations\n",
        "from __future__ import annotations\nimport django\n",
    )
    source.write_text(text)
    result = run_offline(root, "nothing.json")
    assert result.returncode != 0
    assert "must not import django" in result.stderr


def test_documented_command_line(case):
    """Exactly as docs/ledger.md shows it: python -m ledger.verify from a checkout."""
    path = case.tmp / "evidence.json"
    path.write_text(json.dumps(case.bundle, ensure_ascii=False), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO", "DATABASE"))}
    result = subprocess.run(
        [sys.executable, "-m", "ledger.verify", str(path), "--log-vkey", log_vkey()],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.rstrip().splitlines()[-1].startswith("VERIFIED: ")


def test_without_the_log_key_it_says_the_bundle_was_trusted(case):
    result = case.verify(vkey=None)
    assert result.returncode == 0
    assert "(the key in the bundle)" in result.stdout
    assert "proves only that the bundle is consistent with itself" in result.stdout


def test_unreadable_bundle_is_exit_status_2(offline_root, tmp_path):
    path = tmp_path / "broken.json"
    path.write_text("{not json")
    result = run_offline(offline_root, str(path))
    assert result.returncode == 2
    assert "cannot read the bundle" in result.stderr


# --------------------------------------------------------------------------- tampering


def flip(data_b64: str, position: int = -5) -> str:
    raw = bytearray(base64.b64decode(data_b64))
    raw[position] = ord("A") if raw[position] != ord("A") else ord("B")
    return base64.b64encode(bytes(raw)).decode()


def test_a_changed_entry_byte_is_found(case):
    bundle = copy.deepcopy(case.bundle)
    target = entry(bundle, case.indices[0])
    target["data"] = flip(target["data"])
    out = failed(case.verify(bundle))
    assert (
        f"entry {case.indices[0]}: the bundle's leaf hash {target['leaf_hash']} is not "
        "SHA-256(0x00 || entry bytes)"
    ) in out
    assert f"entry {case.indices[0]} is NOT proven included" in out


def test_a_changed_entry_byte_with_a_matching_leaf_hash_is_not_included(case):
    bundle = copy.deepcopy(case.bundle)
    target = entry(bundle, case.indices[0])
    target["data"] = flip(target["data"], 60)  # inside the payload
    target["leaf_hash"] = base64.b64encode(
        merkle.leaf_hash(base64.b64decode(target["data"]))
    ).decode()
    out = failed(case.verify(bundle))
    assert f"entry {case.indices[0]} is NOT proven included: its leaf hash" in out
    assert "but the checkpoint's root is" in out


def test_a_changed_proof_hash_is_found(case):
    bundle = copy.deepcopy(case.bundle)
    target = entry(bundle, case.indices[1])
    target["inclusion_proof"][1] = flip(target["inclusion_proof"][1], 0)
    out = failed(case.verify(bundle))
    assert f"entry {case.indices[1]} is NOT proven included: its leaf hash" in out
    assert "but the checkpoint's root is" in out
    assert out.count("\nFAIL ") == 1  # the entry's tlog-proof still holds the good proof


def test_a_changed_hash_in_the_tlog_proof_is_found(case):
    bundle = copy.deepcopy(case.bundle)
    target = entry(bundle, case.indices[1])
    lines = target["tlog_proof"].split("\n")
    lines[2] = flip(lines[2], 0)
    target["tlog_proof"] = "\n".join(lines)
    out = failed(case.verify(bundle))
    assert f"entry {case.indices[1]}: its C2SP tlog-proof does not verify: inclusion proof" in out


def test_another_checkpoint_is_found(case):
    """A genuine, older checkpoint of the same log does not fit the proofs."""
    bundle = copy.deepcopy(case.bundle)
    bundle["checkpoint"]["signed_note"] = Checkpoint.objects.get(size=32).note
    out = failed(case.verify(bundle))
    assert "the bundle's checkpoint.size says 62, but the signed checkpoint is for size 32" in out
    assert f"entry {case.indices[0]} is NOT proven included in the checkpoint of size 32" in out
    assert "against another checkpoint than the bundle's" in out


def test_a_checkpoint_signed_by_another_key_is_found(case):
    bundle = copy.deepcopy(case.bundle)
    text, _ = split_note(bundle["checkpoint"]["signed_note"])
    forger = new_signer(generate_key("coldchain.localhost/log")[0])
    bundle["checkpoint"]["signed_note"] = sign_note(text, forger)
    out = failed(case.verify(bundle))
    assert "the checkpoint is not signed by the log key coldchain.localhost/log+" in out
    assert "(the key you supplied); it carries signatures by coldchain.localhost/log+" in out


def test_a_changed_checkpoint_text_is_found(case):
    bundle = copy.deepcopy(case.bundle)
    note = bundle["checkpoint"]["signed_note"]
    bundle["checkpoint"]["signed_note"] = note.replace("\n62\n", "\n63\n", 1)
    out = failed(case.verify(bundle))
    assert "the log's signature on the checkpoint does not verify" in out


def test_a_wrong_log_key_is_found(case):
    _, other = generate_key("coldchain.localhost/log")
    out = failed(case.verify(vkey=other))
    assert f"the bundle names the log key {log_vkey()}, but you supplied {other}" in out
    assert "the checkpoint is not signed by the log key" in out


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def test_a_forged_bundle_passes_only_on_its_own_key_and_fails_on_the_real_one(case):
    """A forger with a key of the log's name fakes it all: a registration of
    their own device key, a reading with another temperature, a tree of the
    same size and a checkpoint over it. Trusting the bundle's key, that is
    self-consistent (and the verifier says that this is all it shows); with
    the log's real key it fails."""
    bundle = copy.deepcopy(case.bundle)
    skey, vkey = generate_key("coldchain.localhost/log")
    forger, device = new_signer(skey), Ed25519PrivateKey.generate()
    registration = entry(bundle, 0)
    claims = json.loads(parse_compact(base64.b64decode(registration["data"])).payload)
    claims["public_key"] = b64url_encode(raw_public_key(device))
    claims["key_sha256"] = hashlib.sha256(raw_public_key(device)).hexdigest()
    header = {"kid": forger.name, "typ": "coldchain.device.registered+jws"}
    registration["data"] = b64(sign_compact(forger, header, json.dumps(claims).encode()))
    for index, temp_c in zip(case.indices, (2.0, 3.0), strict=True):
        reading = entry(bundle, index)
        payload = json.loads(parse_compact(base64.b64decode(reading["data"])).payload)
        reading["data"] = b64(sign_reading(device, {**payload, "temp_c": temp_c}))
    (key,) = bundle["keys"]
    key["jwk"]["x"], key["key_sha256"] = claims["public_key"], claims["key_sha256"]

    size = bundle["checkpoint"]["size"]
    leaves = [hashlib.sha256(i.to_bytes(8, "big")).digest() for i in range(size)]
    for item in bundle["entries"]:
        leaves[item["index"]] = merkle.leaf_hash(base64.b64decode(item["data"]))
    nodes, root = merkle.InMemoryNodes(leaves), merkle.root(leaves)
    note = sign_note(format_checkpoint(forger.name, size, root), forger)
    for item in bundle["entries"]:
        proof = merkle.inclusion_proof(item["index"], size, nodes.get_node)
        item["leaf_hash"] = b64(leaves[item["index"]])
        item["inclusion_proof"] = [b64(h) for h in proof]
        item["tlog_proof"] = format_tlog_proof(item["index"], proof, note)
    bundle["log"]["vkey"] = vkey
    bundle["checkpoint"].update(signed_note=note, root_hash=b64(root))

    alone = case.verify(bundle, vkey=None)
    assert alone.returncode == 0, alone.stdout
    assert "2 °C at 2026-01-05T00:07:00.000Z" in alone.stdout
    assert "WARN you did not supply the log's key (--log-vkey)" in alone.stdout
    assert "(the key in the bundle)" in alone.stdout
    out = failed(case.verify(bundle))
    assert f"the bundle names the log key {vkey}, but you supplied {log_vkey()}" in out
    assert "the checkpoint is not signed by the log key" in out


def test_a_key_other_than_the_registered_one_is_found(case):
    """The bundle's key for the device is swapped for another key (whose owner
    re-signed the reading): the registration entry names the real key."""
    bundle = copy.deepcopy(case.bundle)
    other = Ed25519PrivateKey.generate()
    (key,) = bundle["keys"]
    key["jwk"]["x"] = b64url_encode(raw_public_key(other))
    key["key_sha256"] = hashlib.sha256(raw_public_key(other)).hexdigest()
    out = failed(case.verify(bundle))
    assert (
        f"entry {key['registered_in']} registers another key for truck-001-logger "
        f"(key SHA-256 {case.log.logger.device.key_fingerprint}), not the bundle's key"
    ) in out
    assert f"entry {case.indices[0]}: cannot trust truck-001-logger's key" in out


def test_a_registration_of_another_device_is_found(case):
    """The key points at the other device's registration entry."""
    bundle = evidence_bundle(
        [*case.indices, reading_index("truck-001-reefer", 3)]
    )  # holds both registrations
    logger_key = next(k for k in bundle["keys"] if k["kid"] == "truck-001-logger")
    logger_key["registered_in"] = registration_index("truck-001-reefer")
    out = failed(case.verify(bundle))
    assert (
        f"is said to be registered in entry {registration_index('truck-001-reefer')}, but that "
        "entry is about 'truck-001-reefer', not truck-001-logger"
    ) in out


def test_a_reading_signed_by_an_unregistered_key_is_found(case):
    """A reading forged with another key: not in the log, and not the device's signature."""
    bundle = copy.deepcopy(case.bundle)
    target = entry(bundle, case.indices[0])
    forged = sign_reading(
        Ed25519PrivateKey.generate(),
        {
            "v": 1,
            "device": "truck-001-logger",
            "seq": 7,
            "ts": "2026-01-05T00:07:00.000Z",
            "temp_c": 2.0,
        },
    )
    target["data"] = base64.b64encode(forged).decode()
    target["leaf_hash"] = base64.b64encode(merkle.leaf_hash(forged)).decode()
    out = failed(case.verify(bundle))
    assert f"entry {case.indices[0]} is NOT proven included" in out
    assert (
        f"entry {case.indices[0]}'s signature does not verify with truck-001-logger's key"
    ) in out


def test_a_missing_registration_entry_is_found(case):
    bundle = copy.deepcopy(case.bundle)
    bundle["entries"] = [e for e in bundle["entries"] if e["role"] == "subject"]
    out = failed(case.verify(bundle))
    assert "is said to be registered in entry 0, which is not in the bundle" in out


def test_a_missing_key_is_found(case):
    bundle = copy.deepcopy(case.bundle)
    bundle["keys"] = []
    out = failed(case.verify(bundle))
    assert "is signed by truck-001-logger, but the bundle holds no key for truck-001-logger" in out


def test_a_relabelled_platform_entry_is_found(case):
    bundle = copy.deepcopy(case.bundle)
    entry(bundle, 0)["kind"] = "device.revoked"
    out = failed(case.verify(bundle))
    assert "entry 0: the bundle labels it 'device.revoked', but the log signed it as" in out


def test_witness_quorum_and_a_bad_cosignature(case, witness):
    _cosign_latest(witness)
    bundle = evidence_bundle(case.indices)
    vkey_file = case.tmp / "witness.vkey"
    vkey_file.write_text(witness.vkey + "\n")
    good = case.verify(bundle, "--witness-vkey", str(vkey_file))
    assert good.returncode == 0, good.stdout
    assert "cosigned by 1 of the 1 witnesses you supplied: witness.example/w1+" in good.stdout

    stranger = vkey_to_cosignature_v1(generate_key("witness.example/w2")[1])
    out = failed(case.verify(bundle, "--witness-vkey", witness.vkey, "--witness-vkey", stranger))
    assert "only 1 of the witnesses you supplied cosigned the checkpoint, the quorum is 2" in out
    lowered = case.verify(
        bundle, "--witness-vkey", witness.vkey, "--witness-vkey", stranger, "--quorum", "1"
    )
    assert lowered.returncode == 0

    tampered = copy.deepcopy(bundle)
    note = tampered["checkpoint"]["signed_note"]
    last = note.rstrip("\n").rsplit("\n", 1)[1]
    name, sig = last[2:].split(" ")
    raw = bytearray(base64.b64decode(sig))
    raw[-1] ^= 1
    tampered["checkpoint"]["signed_note"] = note.replace(sig, base64.b64encode(bytes(raw)).decode())
    for item in tampered["entries"]:
        del item["tlog_proof"]
    out = failed(case.verify(tampered, "--witness-vkey", witness.vkey))
    assert f"the cosignature of witness {name}+" in out
    assert "does not verify" in out


def test_a_reading_logged_after_its_key_was_revoked_is_found(case):
    """The platform refuses such readings; if it logged one anyway, it shows."""
    device_revoke(device_id="truck-001-logger", reason="stolen")
    late = case.log.logger.signed(99)
    entry_append(data=late, kind="reading")  # bypasses ingest, which would refuse it
    log_seal()
    revocation, late_index = 62, 63
    bundle = evidence_bundle([late_index])
    assert bundle["keys"][0]["revoked_in"] == revocation
    out = failed(case.verify(bundle))
    assert (
        f"entry {late_index} was logged after truck-001-logger's key was revoked in entry "
        f"{revocation} (stolen)"
    ) in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--log-vkey", "not-a-key+1234+AA=="), "--log-vkey is not an Ed25519"),
        (("--witness-vkey", "coldchain.localhost/log+00000000+AA=="), "--witness-vkey"),
        (("--quorum", "1"), "--quorum 1 must be between 0 and the 0 witness keys given"),
    ],
)
def test_unusable_keys_or_quorum_are_exit_status_2(case, args, message):
    result = case.verify(None, *args, vkey=None)
    assert result.returncode == 2
    assert message in result.stderr


def _mutations(bundle: dict):
    first = bundle["entries"][0]
    yield []
    yield "not a bundle"
    yield {**bundle, "format": "coldchain-evidence/v0"}
    yield {**bundle, "log": {"vkey": 5}}
    yield {**bundle, "log": {"vkey": "not+a+key"}}
    yield {**bundle, "checkpoint": {"signed_note": 5}}
    yield {**bundle, "checkpoint": {"signed_note": "garbage\n\n— x y\n"}}
    yield {**bundle, "checkpoint": {**bundle["checkpoint"], "size": "62"}}
    yield {**bundle, "entries": "x"}
    yield {**bundle, "entries": []}
    yield {**bundle, "entries": [5, None, {"index": -1}, {"index": True}]}
    yield {**bundle, "keys": "x"}
    yield {**bundle, "keys": [5, {"kid": 5}, {"kid": "k", "jwk": {"kty": "OKP"}}]}
    weird_jwk = {"kty": "OKP", "crv": "Ed25519", "x": "\u00e9"}
    yield {**bundle, "keys": [{"kid": "truck-001-logger", "jwk": weird_jwk, "registered_in": "0"}]}
    for field, value in [
        ("index", 2**80),
        ("data", 5),
        ("data", "!!!"),
        ("data", base64.b64encode(b"a.b.c").decode()),
        ("data", base64.b64encode(b"e30.e30." + b"A" * 86).decode()),
        ("leaf_hash", "AAAA"),
        ("inclusion_proof", "x"),
        ("inclusion_proof", [5]),
        ("inclusion_proof", ["AAAA"]),
        ("tlog_proof", 5),
        ("tlog_proof", "c2sp.org/tlog-proof@v1\nindex 0\n\ngarbage"),
        ("role", None),
        ("kind", ["x"]),
    ]:
        yield {**bundle, "entries": [{**first, field: value}, *bundle["entries"][1:]]}
    yield {**bundle, "entries": [first, first]}


def test_junk_never_crashes_the_verifier(case):
    for junk in _mutations(case.bundle):
        report = verify_bundle(junk, log_vkey=log_vkey())
        assert not report.verified, junk
        assert report.summary.startswith("NOT VERIFIED")


# --------------------------------------------------------------------------- signed times


@st.composite
def rfc3339_variants(draw) -> str:
    """Times in every spelling ingest's grammar allows: t or T, z, Z or +00:00,
    zero to nine fraction digits, a leap second, impossible dates."""
    year = draw(st.integers(0, 9999))
    month, day = draw(st.integers(0, 13)), draw(st.integers(0, 32))
    hour, minute = draw(st.integers(0, 24)), draw(st.integers(0, 60))
    second = draw(st.integers(0, 61))
    fraction = draw(st.text("0123456789", max_size=10))
    separator, zone = draw(st.sampled_from("Tt")), draw(st.sampled_from(["Z", "z", "+00:00"]))
    return (
        f"{year:04d}-{month:02d}-{day:02d}{separator}{hour:02d}:{minute:02d}:{second:02d}"
        f"{'.' + fraction if fraction else ''}{zone}"
    )


def _read(parse, value: str):
    try:
        return parse(value)
    except ValueError:
        return None


@given(st.one_of(rfc3339_variants(), st.from_regex(TIMESTAMP_PATTERN), st.text()))
def test_the_verifier_reads_a_signed_time_exactly_as_ingest_does(value):
    assert _read(parse_timestamp, value) == _read(ingest_parse_timestamp, value)
