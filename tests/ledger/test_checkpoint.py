"""ledger.checkpoint: C2SP tlog-checkpoint note text.

No database: plain functions. Vectors, copied verbatim:

- C2SP/C2SP, tlog-checkpoint.md: the opening example (testdata/c2sp/).
- sigsum/sigsum-go, pkg/checkpoint/checkpoint_test.go: a real sum.golang.org
  checkpoint (TestGoSumDBCheckpoint) and testCheckpointASCII's body.
- FiloSottile/torchwood, checkpoint_test.go (TestParseCheckpointOriginLength):
  origins with spaces and plus signs parse.
"""

from __future__ import annotations

import base64
import contextlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.checkpoint import (
    MAX_TREE_SIZE,
    Checkpoint,
    CheckpointError,
    OriginMismatchError,
    format_checkpoint,
    open_checkpoint,
    parse_checkpoint,
)
from ledger.note import (
    Ed25519Signer,
    NoteError,
    UnverifiedNoteError,
    new_verifier,
    sign_note,
    split_note,
)

TESTDATA = Path(__file__).parent / "testdata" / "c2sp"
FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
DASH = "\u2014"

ROOT = base64.b64decode("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=")
EXAMPLE_BODY = (
    "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
)

# sigsum-go pkg/checkpoint/checkpoint_test.go, TestGoSumDBCheckpoint
SUMDB_VKEY = "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8"
SUMDB_CHECKPOINT = (
    "go.sum database tree\n"
    "30055305\n"
    "mXfgRcJ0bG0j3CPdKwgGWtUzBUbX67saZGRmFuJGGsM=\n"
    "\n"
    f"{DASH} sum.golang.org Az3grpgEild5qw7+5dtV13Kf1C2Xurm8q4fhdxvcsDHnqNTaxL2AFjBY"
    "+2TyGKevucFcAAlWFJJYle3EJlDCrQ+y3A8=\n"
)


def test_c2sp_example() -> None:
    msg = (TESTDATA / "tlog-checkpoint-example.txt").read_text(encoding="utf-8")
    text, sigs = split_note(msg)
    assert text == EXAMPLE_BODY
    cp = parse_checkpoint(text)
    assert cp == Checkpoint("example.com/behind-the-sofa", 20852163, ROOT, ())
    assert cp.format() == text == str(cp)
    # The log's key name matches the origin line (tlog-checkpoint "Signatures").
    assert [s.name for s in sigs] == [cp.origin]


def test_sigsum_checkpoint_body() -> None:
    # sigsum-go testCheckpointASCII: root hash {28, 14, 71, 0, ...}
    text = "example.org/log\n10\nHA5HAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"
    root = bytes([28, 14, 71]) + bytes(29)
    assert parse_checkpoint(text) == Checkpoint("example.org/log", 10, root)
    assert format_checkpoint("example.org/log", 10, root) == text


def test_open_sumdb_checkpoint() -> None:
    verifier = new_verifier(SUMDB_VKEY)
    cp, opened = open_checkpoint(SUMDB_CHECKPOINT, [verifier], origin="go.sum database tree")
    assert cp.origin == "go.sum database tree"  # not a URL, has spaces: still valid
    assert cp.size == 30055305
    assert cp.root_hash == base64.b64decode("mXfgRcJ0bG0j3CPdKwgGWtUzBUbX67saZGRmFuJGGsM=")
    assert opened.sigs[0].name == "sum.golang.org"
    with pytest.raises(OriginMismatchError):
        open_checkpoint(SUMDB_CHECKPOINT, [verifier], origin="sum.golang.org")
    with pytest.raises(UnverifiedNoteError):
        open_checkpoint(SUMDB_CHECKPOINT, [])


def test_open_checkpoint_rejects_signed_non_checkpoint() -> None:
    signer = Ed25519Signer("example.com/log", bytes(32))
    msg = sign_note("example.com/log\n01\n" + base64.b64encode(ROOT).decode() + "\n", [signer])
    with pytest.raises(CheckpointError):
        open_checkpoint(msg, [signer.verifier()])


def test_extensions() -> None:
    text = EXAMPLE_BODY + "ext one\nExtendo\n"
    cp = parse_checkpoint(text)
    assert cp.extensions == ("ext one", "Extendo")
    assert cp.format() == text
    assert format_checkpoint(cp.origin, cp.size, cp.root_hash, ["ext one", "Extendo"]) == text


def test_empty_tree() -> None:
    empty = bytes.fromhex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    text = format_checkpoint("example.com/log", 0, empty)
    assert text == "example.com/log\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n"
    assert parse_checkpoint(text).size == 0


@pytest.mark.parametrize(
    "origin", ["example log+origin", "a", "\u00e9" * 200, "go.sum database tree"]
)
def test_parse_accepts_any_non_empty_origin(origin: str) -> None:
    # Clients MUST NOT assume the origin follows the recommended format
    # (torchwood TestParseCheckpointOriginLength: "spaces and plus" is valid).
    text = f"{origin}\n1\n{base64.b64encode(ROOT).decode()}\n"
    assert parse_checkpoint(text).origin == origin


@pytest.mark.parametrize("origin", ["", "example log", "a+b", "a\tb", "x\ny"])
def test_format_requires_key_name_origin(origin: str) -> None:
    with pytest.raises(CheckpointError):
        format_checkpoint(origin, 1, ROOT)


@pytest.mark.parametrize(
    ("size", "root", "extensions"),
    [
        (-1, ROOT, ()),
        (MAX_TREE_SIZE + 1, ROOT, ()),
        (True, ROOT, ()),
        ("1", ROOT, ()),
        (1, ROOT[:31], ()),
        (1, ROOT + b"\x00", ()),
        (1, "not bytes", ()),
        (1, ROOT, ("",)),
        (1, ROOT, ("a\nb",)),
        (1, ROOT, ("a\x00b",)),
    ],
)
def test_format_rejects(size: object, root: object, extensions: tuple[str, ...]) -> None:
    with pytest.raises(CheckpointError):
        format_checkpoint("example.com/log", size, root, extensions)  # type: ignore[arg-type]


def test_max_size() -> None:
    text = format_checkpoint("example.com/log", MAX_TREE_SIZE, ROOT)
    assert parse_checkpoint(text).size == 2**63 - 1


B64ROOT = base64.b64encode(ROOT).decode()
URLSAFE = base64.urlsafe_b64encode(bytes([0xFF]) * 32).decode()


@pytest.mark.parametrize(
    "text",
    [
        "",
        "\n",
        "example.com/log\n",
        "example.com/log\n1\n",
        f"example.com/log\n1\n{B64ROOT}",  # no final newline
        f"\n1\n{B64ROOT}\n",  # empty origin
        f"example.com/log\n01\n{B64ROOT}\n",  # leading zero
        f"example.com/log\n00\n{B64ROOT}\n",
        f"example.com/log\n-1\n{B64ROOT}\n",
        f"example.com/log\n+1\n{B64ROOT}\n",
        f"example.com/log\n 1\n{B64ROOT}\n",
        f"example.com/log\n1 \n{B64ROOT}\n",
        f"example.com/log\n1_0\n{B64ROOT}\n",
        f"example.com/log\n\u0661\n{B64ROOT}\n",  # ARABIC-INDIC DIGIT ONE
        f"example.com/log\n\uff11\n{B64ROOT}\n",  # FULLWIDTH DIGIT ONE
        f"example.com/log\n0x1\n{B64ROOT}\n",
        f"example.com/log\n\n{B64ROOT}\n",
        f"example.com/log\n9223372036854775808\n{B64ROOT}\n",  # 2^63
        f"example.com/log\n{'9' * 40}\n{B64ROOT}\n",
        "example.com/log\n1\n\n",
        "example.com/log\n1\nAAAA\n",  # 3 bytes
        f"example.com/log\n1\n{B64ROOT[:-1]}\n",  # unpadded
        f"example.com/log\n1\n{base64.b64encode(ROOT[:31]).decode()}\n",
        f"example.com/log\n1\n{base64.b64encode(ROOT + b'x').decode()}\n",
        f"example.com/log\n1\n{URLSAFE}\n",
        f"example.com/log\n1\n{B64ROOT[:-2]}J=\n",  # stray bits: non-canonical
        f"example.com/log\n1\n {B64ROOT}\n",
        f"example.com/log\n1\n{B64ROOT}\n\n",  # empty extension line
        f"example.com/log\n1\n{B64ROOT}\next\n\nmore\n",
        f"example.com/log\r\n1\r\n{B64ROOT}\r\n",
        f"example.com/\x00log\n1\n{B64ROOT}\n",
        f"example.com/log\n1\n{B64ROOT}\n\x7f\x01\n",
        f"\ud800\n1\n{B64ROOT}\n",
    ],
)
def test_parse_rejects(text: str) -> None:
    with pytest.raises(CheckpointError):
        parse_checkpoint(text)


def test_parse_bytes() -> None:
    assert parse_checkpoint(EXAMPLE_BODY.encode()) == parse_checkpoint(EXAMPLE_BODY)
    with pytest.raises(CheckpointError):
        parse_checkpoint(b"\xff\n1\n" + B64ROOT.encode() + b"\n")
    with pytest.raises(CheckpointError):
        parse_checkpoint(None)  # type: ignore[arg-type]


def test_parse_bounds_input_size() -> None:
    with pytest.raises(CheckpointError):
        parse_checkpoint(EXAMPLE_BODY + "x\n" * 600_000)


# ---------------------------------------------------------------------- properties

origins = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Zs", "Zl", "Zp")),
    min_size=1,
    max_size=40,
).filter(lambda s: "+" not in s and "\x85" not in s)
ext_lines = st.lists(
    st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=20),
    max_size=3,
)


@FAST
@given(origins, st.integers(0, MAX_TREE_SIZE), st.binary(min_size=32, max_size=32), ext_lines)
def test_round_trip(origin: str, size: int, root: bytes, ext: list[str]) -> None:
    text = format_checkpoint(origin, size, root, ext)
    cp = parse_checkpoint(text)
    assert cp == Checkpoint(origin, size, root, tuple(ext))
    assert cp.format() == text


def _around(seed: str) -> st.SearchStrategy[str]:
    pieces = [seed[i : i + 5] for i in range(0, len(seed), 5)] + ["\n", "0", "=", " "]
    return st.lists(st.sampled_from(pieces) | st.text(max_size=3), max_size=25).map("".join)


@FAST
@given(st.one_of(st.text(max_size=300), st.binary(max_size=300), _around(EXAMPLE_BODY + "ext\n")))
def test_parse_is_total(data: str | bytes) -> None:
    try:
        cp = parse_checkpoint(data)
    except CheckpointError:
        return
    # Whatever parses is canonical: its parts give back exactly the same text.
    text = data.decode("utf-8") if isinstance(data, bytes) else data
    lines = [cp.origin, str(cp.size), base64.b64encode(cp.root_hash).decode(), *cp.extensions]
    assert "".join(line + "\n" for line in lines) == text
    assert len(cp.root_hash) == 32


@FAST
@given(st.text(max_size=200))
def test_open_checkpoint_is_total(data: str) -> None:
    with contextlib.suppress(NoteError, CheckpointError):
        open_checkpoint(data, [new_verifier(SUMDB_VKEY)])
