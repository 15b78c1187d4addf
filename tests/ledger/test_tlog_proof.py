"""ledger.tlog_proof: C2SP tlog-proof (c2sp.org/tlog-proof@v1).

No database: plain functions. Vector: the example of C2SP/C2SP tlog-proof.md
(commit 0065ea5b716154a2dd48508e3f905012a16ce5e9), verbatim in
testdata/c2sp/tlog-proof-example.tlog-proof. Its signature lines are elided by
the spec (``hI2DJw[...]1roloI=``), so as published it is not a valid proof; the
tests parse it with those lines replaced. Proofs that verify are built here
from ledger.merkle trees, signed with fixed test keys.
"""

from __future__ import annotations

import base64
import contextlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger import merkle
from ledger.checkpoint import Checkpoint, format_checkpoint
from ledger.cosignature import Cosignature, CosignatureV1Signer, parse_cosignature
from ledger.note import (
    Ed25519Signer,
    InvalidSignatureError,
    NoteError,
    UnverifiedNoteError,
    sign_note,
)
from ledger.tlog_proof import (
    HEADER,
    MAX_PROOF_HASHES,
    TlogProof,
    TlogProofError,
    TlogProofVerificationError,
    format_tlog_proof,
    parse_tlog_proof,
    verify_tlog_proof,
)

TESTDATA = Path(__file__).parent / "testdata" / "c2sp"
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
DASH = "\u2014"

SPEC_HASHES = [
    "gSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlQ=",
    "B95lDa8R83lS8n0eG+o0buTxRKQTYFi//1U8anccXmA=",
    "EKNzoDWG8LGC0Yp9o+sv3qllpMP9uHQ9B20KNL+Q1zs=",
    "RoopEkOdqkYqMB4MJXrbt/hMjOxsVn0IrWjpz1ZMMes=",
    "AHCioX9nLjsrse6YhjRRmk1WUEirVOLLRoOQ6vfO5vk=",
]
FILLER = base64.b64encode(bytes(68)).decode()

LOG = Ed25519Signer("example.com/log", bytes(range(32)))
W1 = CosignatureV1Signer("witness1.example", bytes([1]) * 32, clock=lambda: 1_700_000_000)
W2 = CosignatureV1Signer("witness2.example", bytes([2]) * 32, clock=lambda: 1_700_000_001)
W3 = CosignatureV1Signer("witness3.example", bytes([3]) * 32, clock=lambda: 1_700_000_002)
ENTRIES = [f"entry {i}".encode() for i in range(13)]
LEAVES = [merkle.leaf_hash(e) for e in ENTRIES]


def _signed_checkpoint(size: int = len(LEAVES), signers: list | None = None) -> str:
    body = format_checkpoint("example.com/log", size, merkle.root(LEAVES[:size]))
    return sign_note(body, signers if signers is not None else [LOG, W1, W2])


def _proof(index: int, size: int = len(LEAVES), **kw: object) -> str:
    hashes = merkle.inclusion_proof_from_leaves(index, LEAVES[:size])
    return format_tlog_proof(index, hashes, _signed_checkpoint(size, **kw))  # type: ignore[arg-type]


# ---------------------------------------------------------------------- the spec example


def test_spec_example_as_published_is_not_a_proof() -> None:
    text = (TESTDATA / "tlog-proof-example.tlog-proof").read_text(encoding="utf-8")
    with pytest.raises(TlogProofError, match="invalid checkpoint"):
        parse_tlog_proof(text)


def test_spec_example_with_signatures_filled_in() -> None:
    text = (TESTDATA / "tlog-proof-example.tlog-proof").read_text(encoding="utf-8")
    head, checkpoint = text.split("\n\n", 1)
    body, sig_block = checkpoint.split("\n\n")
    names = [line.split(" ")[1] for line in sig_block.splitlines()]
    assert names == [
        "example.com/fancylog",
        "witness1.example",
        "witness2.example",
        "witness3.example",
    ]
    filled = "".join(f"{DASH} {name} {FILLER}\n" for name in names)
    proof_text = f"{head}\n\n{body}\n\n{filled}"
    proof = parse_tlog_proof(proof_text)
    assert proof.index == 73894
    assert proof.extra is not None
    assert proof.extra.startswith(b"age-v1.2.1-darwin-arm64.tar.gz")
    assert proof.extra == base64.b64decode("YWdlLXYxLjIuMS1kYXJ3aW4tYXJtNjQudGFyLmd6kYXJ3aW4tYXJ")
    assert proof.proof == tuple(base64.b64decode(h) for h in SPEC_HASHES)
    assert proof.checkpoint == Checkpoint(
        "example.com/fancylog",
        109482,
        base64.b64decode("sFodV/vSp5O8n9a8QpW6PRY97tfOSW5bsc2Xl/EQi08="),
    )
    assert proof.signed_checkpoint == f"{body}\n\n{filled}"
    assert proof.format() == proof_text


# ---------------------------------------------------------------- round trips and verification


def test_format_layout() -> None:
    signed = _signed_checkpoint()
    h = [bytes([i]) * 32 for i in range(2)]
    text = format_tlog_proof(5, h, signed, extra=b"hi")
    b64 = [base64.b64encode(x).decode() for x in h]
    assert text == f"{HEADER}\nextra aGk=\nindex 5\n{b64[0]}\n{b64[1]}\n\n{signed}"
    assert format_tlog_proof(0, [], signed) == f"{HEADER}\nindex 0\n\n{signed}"
    assert parse_tlog_proof(format_tlog_proof(0, [], signed)).proof == ()


@pytest.mark.parametrize("index", [0, 1, 5, 11, 12])
def test_verify_every_leaf(index: int) -> None:
    text = _proof(index)
    parsed = parse_tlog_proof(text)
    assert parsed.format() == text
    cp, opened = verify_tlog_proof(
        text,
        log_verifier=LOG.verifier(),
        entry=ENTRIES[index],
        witnesses=[W1.verifier(), W2.verifier()],
        quorum=2,
    )
    assert cp.size == 13
    assert cp.origin == "example.com/log"
    assert {s.name for s in opened.sigs} == {
        "example.com/log",
        "witness1.example",
        "witness2.example",
    }
    verify_tlog_proof(parsed, log_verifier=LOG.verifier(), leaf_hash=LEAVES[index])


def test_single_leaf_tree_has_empty_proof() -> None:
    text = _proof(0, size=1)
    assert parse_tlog_proof(text).proof == ()
    verify_tlog_proof(text, log_verifier=LOG.verifier(), entry=ENTRIES[0])


def test_verify_rejects_wrong_entry_index_and_proof() -> None:
    log = LOG.verifier()
    text = _proof(3)
    with pytest.raises(TlogProofVerificationError, match="inclusion proof"):
        verify_tlog_proof(text, log_verifier=log, entry=ENTRIES[4])
    parsed = parse_tlog_proof(text)
    moved = TlogProof(4, parsed.proof, parsed.signed_checkpoint)
    with pytest.raises(TlogProofVerificationError):
        verify_tlog_proof(moved, log_verifier=log, entry=ENTRIES[3])
    tampered = TlogProof(3, (bytes(32), *parsed.proof[1:]), parsed.signed_checkpoint)
    with pytest.raises(TlogProofVerificationError):
        verify_tlog_proof(tampered, log_verifier=log, entry=ENTRIES[3])
    short = TlogProof(3, parsed.proof[:-1], parsed.signed_checkpoint)
    with pytest.raises(TlogProofVerificationError):
        verify_tlog_proof(short, log_verifier=log, entry=ENTRIES[3])
    beyond = TlogProof(13, parsed.proof, parsed.signed_checkpoint)
    with pytest.raises(TlogProofVerificationError):
        verify_tlog_proof(beyond, log_verifier=log, entry=ENTRIES[3])


def test_verify_policy() -> None:
    log, w1, w2, w3 = LOG.verifier(), W1.verifier(), W2.verifier(), W3.verifier()
    text = _proof(2)
    with pytest.raises(TlogProofVerificationError, match="1 witness cosignatures, want 2"):
        verify_tlog_proof(text, log_verifier=log, entry=ENTRIES[2], witnesses=[w1, w3], quorum=2)
    with pytest.raises(TlogProofVerificationError, match="origin"):
        verify_tlog_proof(text, log_verifier=log, entry=ENTRIES[2], origin="example.com/other")
    # Only witnesses signed: the log's own signature is required.
    only_witnesses = _proof(2, signers=[W1, W2])
    with pytest.raises(TlogProofVerificationError, match="not signed by the log"):
        verify_tlog_proof(only_witnesses, log_verifier=log, entry=ENTRIES[2], witnesses=[w1, w2])
    with pytest.raises(UnverifiedNoteError):
        verify_tlog_proof(only_witnesses, log_verifier=log, entry=ENTRIES[2])
    # Another log key with the same name is an unknown key.
    impostor = Ed25519Signer("example.com/log", bytes(32)).verifier()
    with pytest.raises(UnverifiedNoteError):
        verify_tlog_proof(text, log_verifier=impostor, entry=ENTRIES[2])
    with pytest.raises(TypeError):
        verify_tlog_proof(text, log_verifier=log)
    with pytest.raises(TypeError):
        verify_tlog_proof(text, log_verifier=log, entry=b"", leaf_hash=bytes(32))


def test_verify_rejects_bad_known_cosignature() -> None:
    # A known witness's cosignature with another timestamp fails to verify,
    # and that rejects the whole proof (signed-note "Signatures": SHOULD).
    parsed = parse_tlog_proof(_proof(2))
    lines = parsed.signed_checkpoint.splitlines(keepends=True)
    w1_line = next(line for line in lines if "witness1.example" in line)
    cosig = parse_cosignature(w1_line)
    forged = Cosignature(cosig.name, cosig.key_hash, cosig.timestamp + 1, cosig.signature).line
    bad = TlogProof(2, parsed.proof, parsed.signed_checkpoint.replace(w1_line, forged))
    with pytest.raises(InvalidSignatureError):
        verify_tlog_proof(
            bad, log_verifier=LOG.verifier(), entry=ENTRIES[2], witnesses=[W1.verifier()]
        )
    # Without W1 in the policy, its line is an unknown key's and is ignored.
    verify_tlog_proof(bad, log_verifier=LOG.verifier(), entry=ENTRIES[2])


# ---------------------------------------------------------------------- strict parsing

SIGNED = _signed_checkpoint()
H = base64.b64encode(bytes(32)).decode()


@pytest.mark.parametrize(
    "text",
    [
        "",
        "\n",
        SIGNED,
        f"c2sp.org/tlog-proof@v2\nindex 0\n\n{SIGNED}",
        f"c2sp.org/tlog-proof@v1 \nindex 0\n\n{SIGNED}",
        f"{HEADER}\n\n{SIGNED}",  # no index line
        f"{HEADER}\nindex 0\n{SIGNED}",  # no empty line
        f"{HEADER}\nindex 0\n\n",  # no checkpoint
        f"{HEADER}\nindex 01\n\n{SIGNED}",
        f"{HEADER}\nindex -1\n\n{SIGNED}",
        f"{HEADER}\nindex +1\n\n{SIGNED}",
        f"{HEADER}\nindex \u0661\n\n{SIGNED}",
        f"{HEADER}\nindex 1 \n\n{SIGNED}",
        f"{HEADER}\nindex  1\n\n{SIGNED}",
        f"{HEADER}\nindex\n\n{SIGNED}",
        f"{HEADER}\nIndex 1\n\n{SIGNED}",
        f"{HEADER}\nindex 9223372036854775807\n\n{SIGNED}",  # 2^63 - 1: no such leaf
        f"{HEADER}\nindex {'1' * 30}\n\n{SIGNED}",
        f"{HEADER}\nextra \nindex 0\n\n{SIGNED}",  # empty extra: omit the line instead
        f"{HEADER}\nextra !!\nindex 0\n\n{SIGNED}",
        f"{HEADER}\nextra aGk\nindex 0\n\n{SIGNED}",  # unpadded
        f"{HEADER}\nextra aGl=\nindex 0\n\n{SIGNED}",  # stray bits
        f"{HEADER}\nindex 0\nextra aGk=\n\n{SIGNED}",  # extra after index
        f"{HEADER}\nextra aGk=\nextra aGk=\nindex 0\n\n{SIGNED}",
        f"{HEADER}\nindex 0\n{H[:-1]}\n\n{SIGNED}",
        f"{HEADER}\nindex 0\nAAAA\n\n{SIGNED}",  # 3-byte hash
        f"{HEADER}\nindex 0\n{H} \n\n{SIGNED}",
        f"{HEADER}\nindex 0\n" + f"{H}\n" * (MAX_PROOF_HASHES + 1) + f"\n{SIGNED}",
        f"{HEADER}\r\nindex 0\r\n\r\n{SIGNED}",
        f"{HEADER}\nindex 0\n\nnot a checkpoint\n\n{DASH} x {FILLER}\n",
        f"{HEADER}\nindex 0\n\n{SIGNED}junk",
        f"{HEADER}\nindex 0\n\n\n{SIGNED}",
    ],
)
def test_parse_rejects(text: str) -> None:
    with pytest.raises(TlogProofError):
        parse_tlog_proof(text)


def test_parse_accepts_max_hashes_and_bytes() -> None:
    text = f"{HEADER}\nindex 0\n" + f"{H}\n" * MAX_PROOF_HASHES + f"\n{SIGNED}"
    assert len(parse_tlog_proof(text).proof) == MAX_PROOF_HASHES
    assert parse_tlog_proof(text.encode()) == parse_tlog_proof(text)
    with pytest.raises(TlogProofError):
        parse_tlog_proof(b"\xff" + text.encode())
    with pytest.raises(TlogProofError):
        parse_tlog_proof(None)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("index", "proof", "signed", "extra"),
    [
        (-1, [], SIGNED, None),
        (True, [], SIGNED, None),
        (2**63 - 1, [], SIGNED, None),
        (0, [bytes(31)], SIGNED, None),
        (0, ["x" * 32], SIGNED, None),
        (0, [bytes(32)] * 64, SIGNED, None),
        (0, [], SIGNED, b""),
        (0, [], SIGNED, "text"),
        (0, [], "example.com/log\n1\n", None),
        (0, [], SIGNED.encode(), None),
    ],
)
def test_format_rejects(index: object, proof: list, signed: object, extra: object) -> None:
    with pytest.raises(TlogProofError):
        format_tlog_proof(index, proof, signed, extra)  # type: ignore[arg-type]


# ---------------------------------------------------------------------- properties


@FAST
@given(st.data())
def test_round_trip_and_verify(data: st.DataObject) -> None:
    size = data.draw(st.integers(1, len(LEAVES)))
    index = data.draw(st.integers(0, size - 1))
    extra = data.draw(st.none() | st.binary(min_size=1, max_size=40))
    hashes = merkle.inclusion_proof_from_leaves(index, LEAVES[:size])
    signed = _signed_checkpoint(size, signers=[LOG])
    text = format_tlog_proof(index, hashes, signed, extra)
    parsed = parse_tlog_proof(text)
    assert (parsed.index, list(parsed.proof), parsed.extra) == (index, hashes, extra)
    assert parsed.format() == text
    verify_tlog_proof(text, log_verifier=LOG.verifier(), entry=ENTRIES[index])


def _around(seed: str) -> st.SearchStrategy[str]:
    pieces = [seed[i : i + 9] for i in range(0, len(seed), 9)] + ["\n", "\n\n", DASH, " ", "="]
    return st.lists(st.sampled_from(pieces) | st.text(max_size=3), max_size=40).map("".join)


@FAST
@given(st.one_of(st.text(max_size=400), st.binary(max_size=400), _around(_proof(5))))
def test_parse_is_total(data: str | bytes) -> None:
    with contextlib.suppress(TlogProofError):
        parse_tlog_proof(data)


@FAST
@given(_around(_proof(5)))
def test_verify_is_total(data: str) -> None:
    with contextlib.suppress(TlogProofError, NoteError):
        verify_tlog_proof(data, log_verifier=LOG.verifier(), entry=ENTRIES[5])
