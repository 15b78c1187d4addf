"""ledger.cosignature: C2SP tlog-cosignature, Ed25519 cosignature/v1 (type 0x04).

No database: plain functions. Vectors, copied verbatim:

- sigsum/sigsum-go, pkg/checkpoint/checkpoint_test.go
  (commit 2224a397c849d2dd7bf412f9675f9e323381693c): TestCheckpointCosignVerify
  and TestCheckpointVerifyCosignatureByKey. Witness key: the Ed25519 seed
  crypto.PrivateKey{17} (17 then 31 zero bytes), name "example.org/witness",
  timestamp 1234, checkpoint testCheckpoint (origin "example.org/log", size 10,
  root {28, 14, 71, 0...}). Ed25519 is deterministic, so the cosignature line
  is a known answer.
- transparency-dev/formats, note/note_cosigv1_test.go
  (commit 091ce41666c09683aa9350785e572be27f0c026d): TestCoSigV1NewVerifier
  vkeys, TestCoSigV1Timestamp signatures.
- C2SP/C2SP, tlog-cosignature.md and tlog-witness.md examples (testdata/c2sp/).
"""

from __future__ import annotations

import base64
import contextlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.checkpoint import format_checkpoint
from ledger.cosignature import (
    MAX_TIMESTAMP,
    Cosignature,
    CosignatureError,
    CosignatureV1Signer,
    CosignatureV1Verifier,
    cosign,
    cosignature_key_hash,
    cosignature_message,
    cosignature_timestamp,
    encode_witness_vkey,
    new_cosigner,
    parse_cosignature,
    parse_witness_vkey,
    verify_cosignature,
    vkey_to_cosignature_v1,
    witness_vkey_from_private_key,
)
from ledger.note import (
    Ed25519Signer,
    InvalidSignatureError,
    KeyFormatError,
    KeyHashMismatchError,
    Signature,
    UnknownAlgorithmError,
    encode_skey,
    key_hash,
    open_note,
    parse_signature_line,
    parse_vkey,
    sign_note,
    split_note,
)

TESTDATA = Path(__file__).parent / "testdata" / "c2sp"
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
DASH = "\u2014"

# --- sigsum-go pkg/checkpoint/checkpoint_test.go ------------------------------------------

SIGSUM_SEED = bytes([17]) + bytes(31)  # crypto.PrivateKey{17}
SIGSUM_BODY = "example.org/log\n10\nHA5HAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"
# TestCheckpointVerifyCosignatureByKey: "Second line was produced by the test
# above. First line has a different keyid, third line has a different keyname,
# fourth line a different signature size."
SIGSUM_B64 = (
    "ys8uUAAAAAAAAATSftMzceM8zssdZ9jin9SjwIxzx9iADMf63VqirX2hafol9RsqNqbofIz0LVRqHXI2kpEBSki5RTXF"
    "txz1vo9+Cg=="
)
SIGSUM_LINES = [
    f"{DASH} example.org/witness "
    "yX8uUAAAAAAAAATSftMzceM8zssdZ9jin9SjwIxzx9iADMf63VqirX2hafol9RsqNqbofIz0LVRqHXI2kpEBSki5RTXF"
    "txz1vo9+Cg==\n",
    f"{DASH} example.org/witness {SIGSUM_B64}\n",
    f"{DASH} example.org/witness-2 "
    "ys8uUAAAAAAAAATSftMzceM8zssdZ9jin9SjwIxzx9iADMf63VqirX2hafol9RsqNqbofIz0LVRqHXI2kpEBSki5RTXF"
    "txz1vo9+Cg==\n",
    f"{DASH} example.org/witness "
    "ys8uUAAAAAAAAATSftMzceM8zssdZ9jin9SjwIxzx9iADMf63VqirX2hafol9RsqNqbofIz0LVRqHXI2kpEBSki5RTXF"
    "txz1vo9+CgXX\n",
]

# --- transparency-dev/formats note/note_cosigv1_test.go -----------------------------------

TD_ED25519_VKEY = "TEST+7997405c+AQcC+FTVKf0jlTdHDY3rbevmnKxxPjigCXlVtGe6RIr6"
TD_COSIG_VKEY = "remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2"
SIGSTORE_KEY_MATERIAL = (
    "AjBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABNhtmPtrWm3U1eQXBogSMdGvXwBcK5AW5i0hrZLOC96l+smGNM7nwZ4Q"
    "vFK/4sueRoVj//QP22Ni4Qt9DPfkWLc="
)


def _sigsum_signer() -> CosignatureV1Signer:
    return CosignatureV1Signer("example.org/witness", SIGSUM_SEED, clock=lambda: 1234)


# ---------------------------------------------------------------------- known answers


def test_sigsum_cosignature_known_answer() -> None:
    assert format_checkpoint("example.org/log", 10, bytes([28, 14, 71]) + bytes(29)) == SIGSUM_BODY
    line = cosign(SIGSUM_BODY, SIGSUM_SEED, "example.org/witness", 1234)
    assert line == SIGSUM_LINES[1]
    signer = _sigsum_signer()
    assert signer.key_hash == 0xCACF2E50
    assert sign_note(SIGSUM_BODY, [signer]) == SIGSUM_BODY + "\n" + SIGSUM_LINES[1]
    cosig = verify_cosignature(SIGSUM_BODY, line, signer.verifier())
    assert cosig.timestamp == 1234
    assert cosig.key_hash == 0xCACF2E50
    assert cosig.line == line


def test_sigsum_cosignature_lines_by_key() -> None:
    verifier = _sigsum_signer().verifier()
    # different key ID
    with pytest.raises(CosignatureError, match=r"want example\.org/witness\+cacf2e50"):
        verify_cosignature(SIGSUM_BODY, SIGSUM_LINES[0], verifier)
    verify_cosignature(SIGSUM_BODY, SIGSUM_LINES[1], verifier)
    # different key name
    with pytest.raises(CosignatureError):
        verify_cosignature(SIGSUM_BODY, SIGSUM_LINES[2], verifier)
    # different size: not even base64 of the right length
    with pytest.raises(CosignatureError):
        verify_cosignature(SIGSUM_BODY, SIGSUM_LINES[3], verifier)
    # "Try invalidating the cosignature": timestamp + 1
    cosig = parse_cosignature(SIGSUM_LINES[1])
    bumped = Cosignature(cosig.name, cosig.key_hash, cosig.timestamp + 1, cosig.signature)
    with pytest.raises(CosignatureError, match="invalid cosignature"):
        verify_cosignature(SIGSUM_BODY, bumped.line, verifier)


def test_cosignature_key_id_uses_type_04() -> None:
    signer = _sigsum_signer()
    assert signer.key_hash == key_hash("example.org/witness", b"\x04" + signer.public_key)
    assert signer.key_hash != key_hash("example.org/witness", b"\x01" + signer.public_key)
    assert cosignature_key_hash("example.org/witness", signer.public_key) == signer.key_hash


def test_message_matches_spec_example() -> None:
    want = (TESTDATA / "tlog-cosignature-message-example.txt").read_bytes()
    body = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    assert cosignature_message(body, 1679315147) == want


def test_spec_example_cosignature_line() -> None:
    msg = (TESTDATA / "tlog-cosignature-example.txt").read_text(encoding="utf-8")
    _text, sigs = split_note(msg)
    log_sig, witness_sig = sigs
    cosig = parse_cosignature(witness_sig)
    assert cosig.name == "witness.example.com/w1"
    assert cosig.key_hash == 0x8D66CF3F
    # the same timestamp as the spec's signed-message example
    assert cosig.timestamp == 1679315147 == cosignature_timestamp(witness_sig)
    assert len(cosig.signature) == 64
    # the log's plain Ed25519 signature is not a cosignature
    with pytest.raises(CosignatureError):
        parse_cosignature(log_sig)


def test_spec_witness_response_lines() -> None:
    # The example's signature bytes are filler: all three are 4 + 8 + 64 bytes,
    # but the first two have the top bit of the timestamp set, which the spec
    # forbids (timestamp MUST NOT exceed 2^63 - 1), so they are malformed.
    body = (TESTDATA / "tlog-witness-add-checkpoint-response.txt").read_text(encoding="utf-8")
    lines = body.splitlines(keepends=True)
    sigs = [parse_signature_line(line) for line in lines]
    assert [s.name for s in sigs] == ["witness.example/w1"] * 2 + ["witness.example/w2"]
    assert "".join(s.line for s in sigs) == body
    for line in lines[:2]:
        with pytest.raises(CosignatureError, match=r"2\^63"):
            parse_cosignature(line)
    cosig = parse_cosignature(lines[2])
    assert (cosig.key_hash, cosig.timestamp) == (0x016BA2F1, 2970657736413210787)
    assert cosig.line == lines[2]


def test_td_timestamp_vectors() -> None:
    # TestCoSigV1Timestamp: "works", "wrong type of signature", "gibberish"
    works = Signature(
        "x",
        0,
        "ZGhGuQAAAABm/qTPeyKXD+R2rzyQsxPiP8mXum7qq/iF0u4vanlqJyocWODBt97w9uL+8qT7S5gxEHWWOworDcFiEBYJXORmnFBOBA==",
    )
    assert cosignature_timestamp(works) == 1727964367
    wrong_type = Signature(
        "x",
        0,
        "eQjRQm6eSKzFoiYalgwCPXu2y3ijtg68is9M46JKxuZB+dRfTmeQeDBoXnvxZx2ugnkyV+MUMLXpWs1hPb/W/4xkNQY=",
    )
    with pytest.raises(CosignatureError):
        cosignature_timestamp(wrong_type)
    with pytest.raises(CosignatureError):
        cosignature_timestamp(Signature("x", 0, "5%/$!\n 2"))


# ---------------------------------------------------------------------- witness vkeys


def test_td_native_cosignature_vkey() -> None:
    verifier = parse_witness_vkey(TD_COSIG_VKEY)
    assert verifier.name == "remora.n621.de"
    assert verifier.key_hash == 0xDA77ADE7
    assert verifier.vkey == TD_COSIG_VKEY
    assert encode_witness_vkey(verifier.name, verifier.public_key) == TD_COSIG_VKEY


def test_td_ed25519_vkey_converts() -> None:
    # "works: convert from algEd25519": a 0x01 vkey names the same key; its
    # cosignature/v1 key ID is computed with type 0x04.
    with pytest.raises(UnknownAlgorithmError):
        parse_witness_vkey(TD_ED25519_VKEY)
    converted = vkey_to_cosignature_v1(TD_ED25519_VKEY)
    key = parse_vkey(converted)
    assert key.alg == 4
    assert key.name == "TEST"
    assert key.public_key == parse_vkey(TD_ED25519_VKEY).public_key
    assert key.key_hash == cosignature_key_hash("TEST", key.public_key) != 0x7997405C
    with pytest.raises(UnknownAlgorithmError):
        vkey_to_cosignature_v1(TD_COSIG_VKEY)


@pytest.mark.parametrize(
    "vkey",
    [
        "bananas.sigstore.dev+12344556",  # wrong number of parts
        "rekor.sigstore.dev+12345678+THIS_IS_NOT_BASE64!",  # invalid base64
        "rekor.sigstore.dev+12345678+AwEB",  # invalid algo
        "rekor.sigstore.dev+NOT_A_NUMBER+" + SIGSTORE_KEY_MATERIAL,  # invalid keyhash
        "rekor.sigstore.dev+00000000+" + SIGSTORE_KEY_MATERIAL,  # incorrect keyhash
        "remora.n621.de+da77ade8+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2",
        "remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw=",
    ],
)
def test_td_invalid_vkeys(vkey: str) -> None:
    with pytest.raises(KeyFormatError):
        parse_witness_vkey(vkey)


def test_witness_vkey_round_trip() -> None:
    vkey = witness_vkey_from_private_key("example.org/witness", SIGSUM_SEED)
    assert vkey == _sigsum_signer().vkey
    assert vkey.startswith("example.org/witness+cacf2e50+B")  # base64 of 0x04... starts "B"
    assert parse_witness_vkey(vkey).key_hash == 0xCACF2E50
    with pytest.raises(KeyHashMismatchError):
        parse_witness_vkey(vkey.replace("cacf2e50", "cacf2e51"))


def test_new_cosigner_from_either_skey_type() -> None:
    for alg in (0x01, 0x04):
        skey = encode_skey("example.org/witness", SIGSUM_SEED, alg=alg)
        signer = new_cosigner(skey, clock=lambda: 1234)
        assert signer.key_hash == 0xCACF2E50
        assert sign_note(SIGSUM_BODY, [signer]).endswith(SIGSUM_LINES[1])


# ---------------------------------------------------------------------- with notes


def test_open_note_with_log_and_witness_keys() -> None:
    log = Ed25519Signer("example.org/log", bytes(32))
    signed = sign_note(SIGSUM_BODY, [log])
    cosigned = signed + SIGSUM_LINES[1]
    witness = parse_witness_vkey(_sigsum_signer().vkey)
    opened = open_note(cosigned, [log.verifier(), witness])
    assert [s.name for s in opened.sigs] == ["example.org/log", "example.org/witness"]
    # Only the witness is known: the note still opens, on the cosignature.
    assert [s.name for s in open_note(cosigned, [witness]).sigs] == ["example.org/witness"]
    # A tampered timestamp from a known witness rejects the whole note.
    cosig = parse_cosignature(SIGSUM_LINES[1])
    bad = Cosignature(cosig.name, cosig.key_hash, 1235, cosig.signature).line
    with pytest.raises(InvalidSignatureError):
        open_note(signed + bad, [log.verifier(), witness])


def test_signature_covers_extension_lines() -> None:
    # torchwood / transparency-dev TestSigCoversExtensionLines
    body = SIGSUM_BODY + "Extendo\n"
    line = cosign(body, SIGSUM_SEED, "example.org/witness", 1234)
    verifier = _sigsum_signer().verifier()
    assert verify_cosignature(body, line, verifier).timestamp == 1234
    with pytest.raises(CosignatureError):
        verify_cosignature(SIGSUM_BODY + "Extendx\n", line, verifier)
    with pytest.raises(CosignatureError):
        verify_cosignature(SIGSUM_BODY, line, verifier)


def test_plain_ed25519_signature_is_not_a_cosignature() -> None:
    plain = Ed25519Signer("example.org/witness", SIGSUM_SEED)
    msg = sign_note(SIGSUM_BODY, [plain])
    verifier = _sigsum_signer().verifier()
    # Different key IDs: the cosignature verifier does not even consider it.
    with pytest.raises(CosignatureError):
        verify_cosignature(SIGSUM_BODY, split_note(msg)[1][0], verifier)
    assert not verifier.verify(SIGSUM_BODY.encode(), parse_signature_line(msg.split("\n\n")[1]).raw)


def test_cosign_checkpoint_whose_origin_is_not_a_key_name() -> None:
    # sum.golang.org's origin has spaces; witnesses cosign it all the same.
    body = "go.sum database tree\n30055305\nmXfgRcJ0bG0j3CPdKwgGWtUzBUbX67saZGRmFuJGGsM=\n"
    line = cosign(body, SIGSUM_SEED, "example.org/witness", 1727964367)
    verifier = _sigsum_signer().verifier()
    assert verify_cosignature(body, line, verifier).timestamp == 1727964367
    assert cosignature_message(body.encode(), 1).endswith(body.encode())


def test_cosign_refuses_non_checkpoints() -> None:
    for text in ["hello\n", "example.org/log\n10\n", "example.org/log\n010\nHA5H\n", ""]:
        with pytest.raises(CosignatureError):
            cosign(text, SIGSUM_SEED, "example.org/witness", 1)


def test_timestamp_bounds() -> None:
    line = cosign(SIGSUM_BODY, SIGSUM_SEED, "example.org/witness", MAX_TIMESTAMP)
    verifier = _sigsum_signer().verifier()
    assert verify_cosignature(SIGSUM_BODY, line, verifier).timestamp == 2**63 - 1
    for bad in (-1, MAX_TIMESTAMP + 1, True, 1.5):
        with pytest.raises(CosignatureError):
            cosign(SIGSUM_BODY, SIGSUM_SEED, "example.org/witness", bad)  # type: ignore[arg-type]
    # A line whose timestamp has the top bit set is malformed.
    raw = base64.b64decode(SIGSUM_B64)
    high = raw[:4] + bytes([0x80]) + raw[5:]
    line = f"{DASH} example.org/witness {base64.b64encode(high).decode()}\n"
    with pytest.raises(CosignatureError, match=r"2\^63"):
        parse_cosignature(line)


def test_verifier_rejects_bad_signature_sizes() -> None:
    verifier = _sigsum_signer().verifier()
    sig = parse_signature_line(SIGSUM_LINES[1]).raw
    assert verifier.verify(SIGSUM_BODY.encode(), sig)
    assert not verifier.verify(SIGSUM_BODY.encode(), sig[:-1])
    assert not verifier.verify(SIGSUM_BODY.encode(), sig + b"\x00")
    assert not verifier.verify(b"not a checkpoint\n", sig)
    assert not verifier.verify(b"\xff\xfe", sig)


def test_bad_names() -> None:
    with pytest.raises(KeyFormatError):
        CosignatureV1Signer("bad name", SIGSUM_SEED)
    with pytest.raises(KeyFormatError):
        CosignatureV1Verifier("a+b", bytes(32))
    with pytest.raises(KeyFormatError):
        cosign(SIGSUM_BODY, b"short", "example.org/witness", 1)


# ---------------------------------------------------------------------- properties

names = st.text(
    alphabet=st.characters(whitelist_categories=("Ll", "Lu", "Nd"), whitelist_characters="./-"),
    min_size=1,
    max_size=20,
)


any_origins = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=30
)


@FAST
@given(
    names,
    st.binary(min_size=32, max_size=32),
    st.integers(0, MAX_TIMESTAMP),
    any_origins,
    st.integers(0, 2**63 - 1),
    st.binary(min_size=32, max_size=32),
)
def test_cosign_verify_round_trip(
    name: str, seed: bytes, timestamp: int, origin: str, size: int, root: bytes
) -> None:
    # Any origin a checkpoint may have (spaces and "+" included), not only key names.
    body = f"{origin}\n{size}\n{base64.b64encode(root).decode()}\n"
    line = cosign(body, seed, name, timestamp)
    verifier = parse_witness_vkey(witness_vkey_from_private_key(name, seed))
    cosig = verify_cosignature(body, line, verifier)
    assert cosig.timestamp == timestamp
    assert cosig.name == name
    assert open_note(body + "\n" + line, [verifier]).sigs[0].line == line


def _around(seed: str) -> st.SearchStrategy[str]:
    pieces = [seed[i : i + 6] for i in range(0, len(seed), 6)] + ["\n", DASH, " ", "+", "="]
    return st.lists(st.sampled_from(pieces) | st.text(max_size=3), max_size=25).map("".join)


@FAST
@given(st.one_of(st.text(max_size=300), st.binary(max_size=300), _around(SIGSUM_LINES[1])))
def test_cosignature_parsers_are_total(data: str | bytes) -> None:
    verifier = _sigsum_signer().verifier()
    with contextlib.suppress(CosignatureError):
        parse_cosignature(data)
    if isinstance(data, str):
        with contextlib.suppress(CosignatureError):
            verify_cosignature(SIGSUM_BODY, data, verifier)
        with contextlib.suppress(CosignatureError):
            verify_cosignature(data, SIGSUM_LINES[1], verifier)


@FAST
@given(st.one_of(st.text(max_size=200), st.binary(max_size=200), _around(TD_COSIG_VKEY)))
def test_parse_witness_vkey_is_total(data: str | bytes) -> None:
    with contextlib.suppress(KeyFormatError):
        parse_witness_vkey(data)
