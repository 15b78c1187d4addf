"""ledger.note: C2SP signed notes, Ed25519 keys, vkeys and skeys.

No database: plain functions. Vectors, copied verbatim:

- golang/mod, sumdb/note/note_test.go (commit 02c991387e35f9e4c0a9b7ce137717055f8d716d)
  and the package doc of sumdb/note/note.go (commit 605edab4323b...):
  the PeterNeumann and EnochRoot keys and signatures, and the test cases of
  TestNewVerifier, TestNewSigner, TestSign, TestVerifierList and TestOpen.
- sigsum/sigsum-go, pkg/checkpoint/checkpoint_test.go (TestGoSumDBCheckpoint):
  a real sum.golang.org checkpoint and the sum.golang.org verifier key.
- C2SP/C2SP, signed-note.md: the opening example (testdata/c2sp/).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger import note as n
from ledger.note import (
    AmbiguousVerifierError,
    Ed25519Signer,
    Ed25519Verifier,
    InvalidSignatureError,
    InvalidSignerError,
    KeyFormatError,
    KeyHashMismatchError,
    MalformedNoteError,
    NoteError,
    Signature,
    UnknownAlgorithmError,
    UnknownVerifierError,
    UnverifiedNoteError,
    VerifierList,
    decode_base64,
    encode_skey,
    encode_vkey,
    format_signature_line,
    generate_key,
    is_valid_name,
    key_hash,
    new_signer,
    new_verifier,
    open_note,
    parse_signature_line,
    parse_skey,
    parse_vkey,
    sign_note,
    split_note,
    vkey_from_private_key,
)

TESTDATA = Path(__file__).parent / "testdata" / "c2sp"
FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
DASH = "\u2014"

# --- golang/mod sumdb/note/note_test.go --------------------------------------------------

PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
PETER_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
PETER_B64 = (
    "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM="
)
ENOCH_B64 = (
    "rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ="
)
PETER_SIG = f"{DASH} PeterNeumann {PETER_B64}\n"
ENOCH_SIG = f"{DASH} EnochRoot {ENOCH_B64}\n"
PETER = Signature("PeterNeumann", 0xC74F20A3, PETER_B64)
ENOCH = Signature("EnochRoot", 0xAF0CFE78, ENOCH_B64)

# --- sigsum/sigsum-go pkg/checkpoint/checkpoint_test.go (TestGoSumDBCheckpoint) -----------

SUMDB_VKEY = "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8"
SUMDB_CHECKPOINT = (
    "go.sum database tree\n"
    "30055305\n"
    "mXfgRcJ0bG0j3CPdKwgGWtUzBUbX67saZGRmFuJGGsM=\n"
    "\n"
    f"{DASH} sum.golang.org Az3grpgEild5qw7+5dtV13Kf1C2Xurm8q4fhdxvcsDHnqNTaxL2AFjBY"
    "+2TyGKevucFcAAlWFJJYle3EJlDCrQ+y3A8=\n"
)


def _insert_abcd(line: str) -> str:
    """Go's ``sig[:60] + "ABCD" + sig[60:]``: Go slices strings by UTF-8 bytes."""
    raw = line.encode("utf-8")
    return (raw[:60] + b"ABCD" + raw[60:]).decode("utf-8")


@pytest.fixture(scope="module")
def peter() -> Ed25519Verifier:
    return new_verifier(PETER_VKEY)


@pytest.fixture(scope="module")
def enoch() -> Ed25519Verifier:
    return new_verifier(ENOCH_VKEY)


# ---------------------------------------------------------------------- keys


def test_key_hash_is_sha256_of_name_newline_type_and_key() -> None:
    key = parse_vkey(PETER_VKEY)
    typed = b"\x01" + key.public_key
    assert key_hash("PeterNeumann", typed) == 0xC74F20A3
    digest = hashlib.sha256(b"PeterNeumann\n\x01" + key.public_key).digest()
    assert key_hash("PeterNeumann", typed) == int.from_bytes(digest[:4], "big")


def test_parse_vkey_go_vectors() -> None:
    peter = parse_vkey(PETER_VKEY)
    assert (peter.name, peter.key_hash, peter.alg) == ("PeterNeumann", 0xC74F20A3, 1)
    assert len(peter.public_key) == 32
    assert peter.encode() == PETER_VKEY
    assert parse_vkey(ENOCH_VKEY).encode() == ENOCH_VKEY
    assert parse_vkey(SUMDB_VKEY).encode() == SUMDB_VKEY
    assert parse_vkey(PETER_VKEY.encode()) == peter  # bytes accepted too


def test_parse_vkey_accepts_upper_case_key_id_like_go() -> None:
    upper = PETER_VKEY.replace("c74f20a3", "C74F20A3")
    assert parse_vkey(upper).key_hash == 0xC74F20A3
    assert parse_vkey(upper).encode() == PETER_VKEY  # written back lower case, as Go does


def test_vkey_manglings_rejected() -> None:
    # TestNewVerifier: every proper substring, and every one-byte increment, fails.
    b = PETER_VKEY.encode()
    for i in range(len(b) + 1):
        for j in range(i + 1, len(b) + 1):
            if i != 0 or j != len(b):
                with pytest.raises(KeyFormatError):
                    parse_vkey(b[i:j])
    for i in range(len(b)):
        mangled = bytearray(b)
        mangled[i] += 1
        with pytest.raises(KeyFormatError):
            parse_vkey(bytes(mangled))


def test_vkey_bad_length_and_unknown_alg_with_adjusted_hash() -> None:
    # TestNewVerifier: wrong length key, with adjusted key hash
    with pytest.raises(KeyFormatError) as exc:
        parse_vkey("PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==")
    assert not isinstance(exc.value, KeyHashMismatchError)
    # TestNewVerifier: unknown algorithm, with adjusted key hash
    with pytest.raises(UnknownAlgorithmError):
        parse_vkey("PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")


def test_vkey_wrong_hash() -> None:
    with pytest.raises(KeyHashMismatchError):
        parse_vkey(PETER_VKEY.replace("c74f20a3", "c74f20a4"))


@pytest.mark.parametrize(
    "vkey",
    [
        "",
        "PeterNeumann",
        "PeterNeumann+c74f20a3",
        "PeterNeumann+c74f20a3+",
        "+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+0xc74f20+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f_0a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10T",
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW\n",
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW ",
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq_LDE4izWy10TW",
    ],
)
def test_vkey_malformed(vkey: str) -> None:
    with pytest.raises(KeyFormatError):
        parse_vkey(vkey)


def test_parse_skey_go_vector() -> None:
    key = parse_skey(PETER_SKEY)
    assert (key.name, key.key_hash, key.alg) == ("PeterNeumann", 0xC74F20A3, 1)
    assert key.encode() == PETER_SKEY
    assert key.vkey() == PETER_VKEY
    assert "AYEKFALV" not in repr(key)
    assert key.seed.hex() not in repr(key)


def test_skey_manglings_rejected() -> None:
    # TestNewSigner: every proper substring, and every one-byte increment, fails.
    b = PETER_SKEY.encode()
    for i in range(len(b) + 1):
        for j in range(i + 1, len(b) + 1):
            if i == 0 and j == len(b):
                continue
            with pytest.raises(KeyFormatError):
                parse_skey(b[i:j])
    for i in range(len(b)):
        mangled = bytearray(b)
        mangled[i] += 1
        with pytest.raises(KeyFormatError):
            parse_skey(bytes(mangled))


def test_vkey_from_private_key_matches_go() -> None:
    seed = parse_skey(PETER_SKEY).seed
    assert vkey_from_private_key("PeterNeumann", seed) == PETER_VKEY
    key = Ed25519PrivateKey.from_private_bytes(seed)
    assert vkey_from_private_key("PeterNeumann", key) == PETER_VKEY
    assert encode_vkey("PeterNeumann", key.public_key()) == PETER_VKEY
    assert encode_skey("PeterNeumann", key) == PETER_SKEY


def test_generate_key_round_trip() -> None:
    skey, vkey = generate_key("example.com/log")
    signer, verifier = new_signer(skey), new_verifier(vkey)
    assert signer.name == verifier.name == "example.com/log"
    assert signer.key_hash == verifier.key_hash
    assert signer.vkey == vkey
    sig = signer.sign(b"hi")
    assert verifier.verify(b"hi", sig)
    assert not verifier.verify(b"hi!", sig)
    assert not verifier.verify(b"hi", bytes([sig[0] ^ 1]) + sig[1:])
    assert not verifier.verify(b"hi", sig[:-1])


def test_type_04_keys_parse_but_are_not_note_keys() -> None:
    skey, vkey = generate_key("witness.example/w1", alg=n.ALG_COSIGNATURE_V1)
    assert parse_vkey(vkey).alg == 4
    assert parse_skey(skey).alg == 4
    with pytest.raises(UnknownAlgorithmError):
        new_verifier(vkey)
    with pytest.raises(UnknownAlgorithmError):
        new_signer(skey)
    with pytest.raises(UnknownAlgorithmError):
        encode_vkey("x", bytes(32), alg=2)


@pytest.mark.parametrize(
    ("name", "valid"),
    [
        ("PeterNeumann", True),
        ("example.com/log", True),
        ("quasimodo.example/salvatore", True),
        ("\u00e9t\u00e9", True),
        ("a\x1cb", True),  # not a Unicode space (Python's isspace() says it is; Go does not)
        ("", False),
        ("a b", False),
        ("a+b", False),
        ("a\tb", False),
        ("a\nb", False),
        ("a\u0085b", False),
        ("a\u00a0b", False),
        ("a\u2009b", False),
        ("a\u3000b", False),
        ("a\ud800b", False),  # lone surrogate: not valid UTF-8
    ],
)
def test_is_valid_name(name: str, valid: bool) -> None:
    assert is_valid_name(name) is valid


def test_decode_base64_is_go_std_encoding() -> None:
    assert decode_base64("") == b""
    assert decode_base64("AA==") == b"\x00"
    assert decode_base64("AB==") == b"\x00"  # stray bits: Go's StdEncoding accepts them
    with pytest.raises(ValueError, match="non-canonical"):
        decode_base64("AB==", canonical=True)
    for bad in ["A", "AA", "AA=", "AAA", "A===", "AA=A", "AA==AA==", " AA==", "AA==\n", "A-_A"]:
        with pytest.raises(ValueError, match="invalid base64"):
            decode_base64(bad)


# ---------------------------------------------------------------------- signing


def test_sign_go_vector() -> None:
    # TestSign
    signer = new_signer(PETER_SKEY)
    want = TEXT + "\n" + PETER_SIG
    assert sign_note(TEXT, [signer]) == want
    assert sign_note(TEXT, signer) == want
    # An existing signature by the same key is replaced.
    existing = Signature("PeterNeumann", 0xC74F20A3, "BADSIGN=")
    assert sign_note(TEXT, [signer], signatures=[existing]) == want


def test_sign_keeps_existing_signatures_first() -> None:
    signer = new_signer(PETER_SKEY)
    msg = sign_note(TEXT, [signer], signatures=[ENOCH])
    assert msg == TEXT + "\n" + ENOCH_SIG + PETER_SIG


def test_sign_bad_inputs() -> None:
    # TestSign: short text, bad name, bad pre-filled signature, bad signer
    signer = new_signer(PETER_SKEY)
    with pytest.raises(MalformedNoteError):
        sign_note("abc", [signer])
    with pytest.raises(MalformedNoteError):
        sign_note(TEXT, [], signatures=[Signature("a+b", 0, "ABCD")])
    with pytest.raises(MalformedNoteError):
        sign_note(TEXT, [], signatures=[Signature("PeterNeumann", 0xC74F20A3, "BADHASH=")])

    class BadName:
        name = "bad name"
        key_hash = signer.key_hash

        def sign(self, msg: bytes) -> bytes:
            return signer.sign(msg)

    with pytest.raises(InvalidSignerError):
        sign_note(TEXT, [BadName()])

    class Surprise(Exception):
        pass

    class Failing:
        name = signer.name
        key_hash = signer.key_hash

        def sign(self, msg: bytes) -> bytes:
            raise Surprise

    with pytest.raises(Surprise):
        sign_note(TEXT, [Failing()])


def test_sign_refuses_text_that_would_not_open() -> None:
    signer = new_signer(PETER_SKEY)
    with pytest.raises(MalformedNoteError):
        sign_note("tab\there\n", [signer])
    with pytest.raises(MalformedNoteError):
        sign_note(TEXT, [])  # no signature at all


def test_format_signature_line() -> None:
    raw = decode_base64(PETER_B64)
    assert format_signature_line("PeterNeumann", 0xC74F20A3, raw[4:]) == PETER_SIG
    with pytest.raises(InvalidSignerError):
        format_signature_line("Peter Neumann", 0xC74F20A3, raw[4:])
    with pytest.raises(InvalidSignerError):
        format_signature_line("PeterNeumann", 2**32, raw[4:])


# ---------------------------------------------------------------------- opening


def test_verifier_list_go_vectors(peter: Ed25519Verifier, enoch: Ed25519Verifier) -> None:
    # TestVerifierList
    vl = VerifierList([peter, enoch, enoch])
    assert vl.verifier("PeterNeumann", 0xC74F20A3) is peter
    with pytest.raises(UnknownVerifierError, match=r"unknown key PeterNeumann\+c74f20a4"):
        vl.verifier("PeterNeumann", 0xC74F20A4)
    with pytest.raises(UnknownVerifierError, match=r"unknown key PeterNeuman\+c74f20a3"):
        vl.verifier("PeterNeuman", 0xC74F20A3)
    with pytest.raises(AmbiguousVerifierError, match=r"ambiguous key EnochRoot\+af0cfe78"):
        vl.verifier("EnochRoot", 0xAF0CFE78)


def test_open_go_vectors(peter: Ed25519Verifier, enoch: Ed25519Verifier) -> None:
    # TestOpen: one verified, one not
    msg = TEXT + "\n" + PETER_SIG + ENOCH_SIG
    text, sigs, unverified = open_note(msg, [peter])
    assert text == TEXT
    assert sigs == (PETER,)
    assert unverified == (ENOCH,)
    # both verified
    opened = open_note(msg, [peter, enoch])
    assert opened.sigs == (PETER, ENOCH)
    assert opened.unverified_sigs == ()
    # both unverified
    with pytest.raises(UnverifiedNoteError, match="note has no verifiable signatures") as exc:
        open_note(msg, [])
    assert exc.value.note.sigs == ()
    assert exc.value.note.unverified_sigs == (PETER, ENOCH)
    assert exc.value.note.text == TEXT
    # duplicated verifier
    with pytest.raises(AmbiguousVerifierError, match=r"ambiguous key EnochRoot\+af0cfe78"):
        open_note(TEXT + "\n" + ENOCH_SIG, [enoch, peter, enoch])
    # unused duplicated verifier
    open_note(TEXT + "\n" + PETER_SIG, [enoch, peter, enoch])


def test_open_too_many_signatures(peter: Ed25519Verifier) -> None:
    with pytest.raises(MalformedNoteError):
        open_note(TEXT + "\n" + PETER_SIG * 101, [peter])
    with pytest.raises(MalformedNoteError):
        open_note(TEXT + "\n" + PETER_SIG * 101, [])
    # 100 are fine (the spec asks for at least 16); duplicates count once.
    assert open_note(TEXT + "\n" + PETER_SIG * 100, [peter]).sigs == (PETER,)


def test_open_invalid_signature(peter: Ed25519Verifier) -> None:
    bad = _insert_abcd(PETER_SIG)
    with pytest.raises(InvalidSignatureError, match="invalid signature for key PeterNeumann"):
        open_note(TEXT + "\n" + bad, [peter])


def test_open_duplicated_verified_and_unverified(peter: Ed25519Verifier) -> None:
    enoch_abcd = Signature(
        "EnochRoot",
        0xAF0CFE78,
        "rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n"
        + "ABCD"
        + "2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=",
    )
    msg = TEXT + "\n" + PETER_SIG + PETER_SIG + ENOCH_SIG + ENOCH_SIG + _insert_abcd(ENOCH_SIG)
    opened = open_note(msg, [peter])
    assert opened.sigs == (PETER,)
    assert opened.unverified_sigs == (ENOCH, enoch_abcd)


@pytest.mark.parametrize(
    "msg",
    [
        TEXT,
        TEXT + "\n",
        TEXT + "\n" + PETER_SIG[:-1],
        "\x01" + TEXT + "\n" + PETER_SIG,
        b"\xff" + (TEXT + "\n" + PETER_SIG).encode(),
        TEXT + "\n" + f"{DASH} Bad Name {PETER_B64}",
        TEXT + "\n" + PETER_SIG + "Unexpected line.\n",
        # beyond Go's list
        TEXT + "\n" + f"{DASH} Bad Name {PETER_B64}\n",
        TEXT + "\n" + f"- PeterNeumann {PETER_B64}\n",
        TEXT + "\n" + f"{DASH}PeterNeumann {PETER_B64}\n",
        TEXT + "\n" + f"{DASH} PeterNeumann\n",
        TEXT + "\n" + f"{DASH} PeterNeumann \n",
        TEXT + "\n" + f"{DASH} PeterNeumann AAAAAA==\n",  # 4 bytes: key ID only
        TEXT + "\n" + f"{DASH} PeterNeumann {PETER_B64} \n",
        TEXT + "\n" + PETER_SIG + "\n",
        TEXT.replace("\n", "\r\n") + "\n" + PETER_SIG,
        TEXT + "\n" + PETER_SIG.replace("\n", "\r\n"),
        "\ud800" + TEXT + "\n" + PETER_SIG,
    ],
)
def test_open_malformed(msg: str | bytes, peter: Ed25519Verifier) -> None:
    with pytest.raises(MalformedNoteError, match="malformed note"):
        open_note(msg, [peter])


def test_open_accepts_bytes_and_a_single_verifier(peter: Ed25519Verifier) -> None:
    assert open_note((TEXT + "\n" + PETER_SIG).encode(), [peter]).text == TEXT
    assert open_note(TEXT + "\n" + PETER_SIG, peter).sigs == (PETER,)
    assert open_note(TEXT + "\n" + PETER_SIG, VerifierList([peter])).sigs == (PETER,)


def test_open_sumdb_checkpoint() -> None:
    # A real note: sum.golang.org's checkpoint, via sigsum-go's TestGoSumDBCheckpoint.
    opened = open_note(SUMDB_CHECKPOINT, [new_verifier(SUMDB_VKEY)])
    assert opened.text == (
        "go.sum database tree\n30055305\nmXfgRcJ0bG0j3CPdKwgGWtUzBUbX67saZGRmFuJGGsM=\n"
    )
    assert [s.name for s in opened.sigs] == ["sum.golang.org"]
    assert opened.sigs[0].key_hash == 0x033DE0AE


def test_c2sp_signed_note_example() -> None:
    # signed-note.md: the text contains an empty line; the last one separates.
    msg = (TESTDATA / "signed-note-example.txt").read_text(encoding="utf-8")
    with pytest.raises(UnverifiedNoteError) as exc:
        open_note(msg, [])
    opened = exc.value.note
    assert opened.text == (
        "Ognuno sta solo sul cuor della terra\n"
        "trafitto da un raggio di sole:\n"
        "\n"
        "ed \u00e8 subito sera.\n"
    )
    (sig,) = opened.unverified_sigs
    assert sig.name == "quasimodo.example/salvatore"
    assert len(sig.raw) == 64
    assert sig.line == msg.split("\n\n")[-1]


def test_unknown_key_sharing_name_or_id_is_ignored(peter: Ed25519Verifier) -> None:
    # signed-note "Signatures": a signature sharing the name or the ID (not both)
    # with a known key is from an unknown key and ignored.
    other = Ed25519Signer("PeterNeumann", bytes(32))
    msg = sign_note(TEXT, [other], signatures=[PETER])
    opened = open_note(msg, [peter])
    assert opened.sigs == (PETER,)
    assert [s.name for s in opened.unverified_sigs] == ["PeterNeumann"]


def test_split_and_parse_signature_line() -> None:
    text, sigs = split_note(TEXT + "\n" + PETER_SIG + ENOCH_SIG)
    assert text == TEXT
    assert sigs == [PETER, ENOCH]
    assert parse_signature_line(PETER_SIG) == PETER
    assert parse_signature_line(PETER_SIG[:-1]) == PETER
    for bad in [PETER_SIG + PETER_SIG, "", "\n", "x\n"]:
        with pytest.raises(MalformedNoteError):
            parse_signature_line(bad)


def test_errors_are_value_errors() -> None:
    for err in (MalformedNoteError, KeyFormatError, UnverifiedNoteError, InvalidSignatureError):
        assert issubclass(err, NoteError)
        assert issubclass(err, ValueError)


# ---------------------------------------------------------------------- properties

names = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Zs", "Zl", "Zp", "Cc")),
    min_size=1,
    max_size=20,
).filter(is_valid_name)
note_texts = st.lists(
    st.text(
        alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\n"),
        max_size=30,
    ).filter(lambda s: not any(ord(c) < 0x20 for c in s)),
    min_size=1,
    max_size=5,
).map(lambda lines: "".join(line + "\n" for line in lines))
seeds = st.binary(min_size=32, max_size=32)


@FAST
@given(names, note_texts, seeds, seeds)
def test_sign_open_round_trip(name: str, text: str, seed1: bytes, seed2: bytes) -> None:
    s1, s2 = Ed25519Signer(name, seed1), Ed25519Signer(name + "2", seed2)
    msg = sign_note(text, [s1, s2])
    opened = open_note(msg, [s1.verifier()])
    assert opened.text == text
    assert [s.name for s in opened.sigs] == [name]
    assert [s.name for s in opened.unverified_sigs] == [name + "2"]
    assert open_note(msg.encode("utf-8"), [s1.verifier(), s2.verifier()]).text == text


@FAST
@given(names, seeds)
def test_key_strings_round_trip(name: str, seed: bytes) -> None:
    vkey, skey = vkey_from_private_key(name, seed), encode_skey(name, seed)
    assert parse_vkey(vkey).encode() == vkey
    assert parse_skey(skey).encode() == skey
    assert parse_skey(skey).vkey() == vkey
    assert new_signer(skey).key_hash == new_verifier(vkey).key_hash


texts_or_bytes = st.one_of(st.text(max_size=300), st.binary(max_size=300))


def _around(seed: str) -> st.SearchStrategy[str]:
    """Text built from pieces of a valid input, to reach deep into the parser."""
    pieces = [seed[i : i + 7] for i in range(0, len(seed), 7)] + ["+", "\n", DASH, " ", "="]
    return st.lists(st.sampled_from(pieces) | st.text(max_size=3), max_size=20).map("".join)


@FAST
@given(st.one_of(texts_or_bytes, _around(PETER_VKEY)))
def test_parse_vkey_is_total(data: str | bytes) -> None:
    with contextlib.suppress(KeyFormatError):
        parse_vkey(data)


@FAST
@given(st.one_of(texts_or_bytes, _around(PETER_SKEY)))
def test_parse_skey_is_total(data: str | bytes) -> None:
    with contextlib.suppress(KeyFormatError):
        parse_skey(data)


@FAST
@given(st.one_of(texts_or_bytes, _around(TEXT + "\n" + PETER_SIG + ENOCH_SIG)))
def test_open_note_is_total(data: str | bytes) -> None:
    verifiers = [new_verifier(PETER_VKEY), new_verifier(ENOCH_VKEY)]
    with contextlib.suppress(NoteError):
        open_note(data, verifiers)
    with contextlib.suppress(MalformedNoteError):
        split_note(data)
    with contextlib.suppress(MalformedNoteError):
        parse_signature_line(data)


@pytest.mark.parametrize("value", [None, 12, ["a"], object()])
def test_parsers_reject_non_text_with_typed_errors(value: object) -> None:
    with pytest.raises(KeyFormatError):
        parse_vkey(value)  # type: ignore[arg-type]
    with pytest.raises(KeyFormatError):
        parse_skey(value)  # type: ignore[arg-type]
    with pytest.raises(MalformedNoteError):
        split_note(value)  # type: ignore[arg-type]


def test_base64_module_agrees_on_signature() -> None:
    raw = base64.b64decode(PETER_B64)
    assert PETER.raw == raw[4:]
    assert int.from_bytes(raw[:4], "big") == PETER.key_hash
