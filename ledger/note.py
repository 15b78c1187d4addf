"""C2SP signed notes (https://c2sp.org/signed-note) with Ed25519 keys.

A signed note is a text ending in a newline, a blank line, and one or more
signature lines ``U+2014 U+0020 <key name> U+0020 base64(key ID || signature)``
(signed-note, "Format"). This module follows the reference implementation,
Go's ``golang.org/x/mod/sumdb/note`` (``note.go``), rule for rule, so that
notes made here open there and the other way round:

* :func:`sign_note` / :func:`open_note` are ``note.Sign`` / ``note.Open``;
* :func:`parse_vkey` / :func:`parse_skey` / :func:`new_verifier` /
  :func:`new_signer` are ``NewVerifier`` / ``NewSigner``;
* :func:`key_hash` is ``keyHash``: the first four bytes, big-endian, of
  ``SHA-256(key name || 0x0A || signature type || public key)``
  (signed-note, "Signatures").

Verifier keys ("vkeys") are ``<name>+<8 hex digits key ID>+<base64(type ||
public key)>``; signer keys are ``PRIVATE+KEY+<name>+<key ID>+<base64(type ||
32-byte Ed25519 seed)>``. Type ``0x01`` is a plain Ed25519 note signature over
the note text; type ``0x04`` (timestamped witness cosignatures,
c2sp.org/tlog-cosignature) is implemented in :mod:`ledger.cosignature`.

Every parser here is total: any input gives a result or a :class:`NoteError`
subclass, never another exception. Stdlib and ``cryptography`` only (the
offline verifier imports this without Django).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple, Protocol, runtime_checkable

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

__all__ = [
    "ALG_COSIGNATURE_V1",
    "ALG_ED25519",
    "EM_DASH",
    "MAX_SIGNATURES",
    "SIGNATURE_PREFIX",
    "AmbiguousVerifierError",
    "Ed25519Signer",
    "Ed25519Verifier",
    "InvalidSignatureError",
    "InvalidSignerError",
    "KeyFormatError",
    "KeyHashMismatchError",
    "KeyIdentity",
    "MalformedNoteError",
    "Note",
    "NoteError",
    "Signature",
    "Signer",
    "SignerKey",
    "UnknownAlgorithmError",
    "UnknownVerifierError",
    "UnverifiedNoteError",
    "Verifier",
    "VerifierKey",
    "VerifierList",
    "decode_base64",
    "encode_skey",
    "encode_vkey",
    "format_signature_line",
    "generate_key",
    "is_valid_name",
    "key_hash",
    "new_signer",
    "new_verifier",
    "open_note",
    "parse_signature_line",
    "parse_skey",
    "parse_vkey",
    "private_key_seed",
    "public_key_bytes",
    "sign_note",
    "split_note",
    "vkey_from_private_key",
]

#: Signature type of a plain Ed25519 note signature (signed-note, "Signature types").
ALG_ED25519 = 0x01
#: Signature type of a timestamped Ed25519 cosignature (c2sp.org/tlog-cosignature).
ALG_COSIGNATURE_V1 = 0x04
#: Signature types whose key material is a 32-byte Ed25519 public key / seed.
_ED25519_TYPES = frozenset({ALG_ED25519, ALG_COSIGNATURE_V1})

EM_DASH = "\u2014"
#: Every signature line starts with an em dash and a space (signed-note, "Format").
SIGNATURE_PREFIX = EM_DASH + " "
#: Go's ``note.Open`` rejects notes with more signature lines than this; the
#: spec asks verifiers to accept at least 16 (signed-note, "Format").
MAX_SIGNATURES = 100

_ED25519_KEY_SIZE = 32
_ED25519_SIG_SIZE = 64
_KEY_ID_SIZE = 4

# ---------------------------------------------------------------------- errors


class NoteError(ValueError):
    """Base class of every error raised by this module."""


class MalformedNoteError(NoteError):
    """The note is not a well-formed signed note (Go: ``errMalformedNote``)."""

    def __init__(self, reason: str = "malformed note") -> None:
        super().__init__(reason)


class KeyFormatError(NoteError):
    """A verifier/signer key string or key name is malformed (Go: ``errVerifierID``)."""


class UnknownAlgorithmError(KeyFormatError):
    """The key's signature type byte is not supported (Go: ``errVerifierAlg``)."""


class KeyHashMismatchError(KeyFormatError):
    """The key ID in a key string is not the one its name and key give (Go:
    ``errVerifierHash``)."""


class InvalidSignerError(NoteError):
    """A signer has an invalid key name (Go: ``errInvalidSigner``)."""


class UnknownVerifierError(NoteError):
    """No known key has this name and key ID (Go: ``UnknownVerifierError``)."""

    def __init__(self, name: str, key_hash: int) -> None:
        super().__init__(f"unknown key {name}+{key_hash:08x}")
        self.name = name
        self.key_hash = key_hash


class AmbiguousVerifierError(NoteError):
    """Several known keys share this name and key ID (Go: ``ambiguousVerifierError``)."""

    def __init__(self, name: str, key_hash: int) -> None:
        super().__init__(f"ambiguous key {name}+{key_hash:08x}")
        self.name = name
        self.key_hash = key_hash


class InvalidSignatureError(NoteError):
    """A signature by a known key does not verify; the whole note is rejected
    (signed-note, "Signatures"; Go: ``InvalidSignatureError``)."""

    def __init__(self, name: str, key_hash: int) -> None:
        super().__init__(f"invalid signature for key {name}+{key_hash:08x}")
        self.name = name
        self.key_hash = key_hash


class UnverifiedNoteError(NoteError):
    """The note parsed but no signature by a known key is on it (signed-note,
    "Signatures": clients MUST reject it). ``note`` holds the parsed, untrusted
    note (Go: ``UnverifiedNoteError``)."""

    def __init__(self, note: Note) -> None:
        super().__init__("note has no verifiable signatures")
        self.note = note


# ---------------------------------------------------------------------- names, key IDs, base64

# Go's unicode.IsSpace is the Unicode White_Space property. Python's
# str.isspace() differs (it also matches U+001C..U+001F), so list it here.
_WHITE_SPACE = "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_BAD_NAME_RE = re.compile(f"[{_WHITE_SPACE}+\ud800-\udfff]")
# Characters a note must not contain: ASCII controls other than newline, and
# lone surrogates (a Python str holding them is not valid UTF-8).
_BAD_NOTE_CHAR_RE = re.compile("[\x00-\x09\x0b-\x1f\ud800-\udfff]")
_B64_RE = re.compile(r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")
_HEX8_RE = re.compile(r"[0-9A-Fa-f]{8}")


def is_valid_name(name: object) -> bool:
    """Whether ``name`` is a valid key name: non-empty, valid UTF-8, without
    Unicode spaces or ``+`` (signed-note, "Format"; Go: ``isValidName``)."""
    return isinstance(name, str) and name != "" and _BAD_NAME_RE.search(name) is None


def decode_base64(value: str, *, canonical: bool = False) -> bytes:
    """Decode standard, padded base64 (RFC 4648 section 4) like Go's
    ``base64.StdEncoding``; raise ``ValueError`` on anything else.

    With ``canonical=True`` the encoding must also be the one :func:`base64.b64encode`
    gives (no stray bits in the last character), so that each byte string has
    exactly one accepted text form.
    """
    if not isinstance(value, str) or _B64_RE.fullmatch(value) is None:
        raise ValueError("invalid base64")
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:  # pragma: no cover - regex guards it
        raise ValueError("invalid base64") from exc
    if canonical and base64.b64encode(raw).decode("ascii") != value:
        raise ValueError("non-canonical base64")
    return raw


def _b64encode(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def key_hash(name: str, key: bytes) -> int:
    """The 32-bit key ID of a key: the first four bytes, big-endian, of
    ``SHA-256(name || 0x0A || key)``, where ``key`` is the signature type byte
    followed by the public key (signed-note, "Signatures"; Go: ``keyHash``).

    For a plain Ed25519 key, ``key = b"\\x01" + public_key``; for a
    cosignature/v1 witness key, ``key = b"\\x04" + public_key``.
    """
    digest = hashlib.sha256(name.encode("utf-8") + b"\n" + bytes(key)).digest()
    return int.from_bytes(digest[:_KEY_ID_SIZE], "big")


# ---------------------------------------------------------------------- key material


def public_key_bytes(public_key: Ed25519PublicKey | bytes) -> bytes:
    """The 32 raw bytes of an Ed25519 public key (RFC 8032 encoding)."""
    if isinstance(public_key, Ed25519PublicKey):
        return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    if isinstance(public_key, bytes | bytearray) and len(public_key) == _ED25519_KEY_SIZE:
        return bytes(public_key)
    raise KeyFormatError("an Ed25519 public key is 32 bytes")


def private_key_seed(private_key: Ed25519PrivateKey | bytes) -> bytes:
    """The 32-byte seed of an Ed25519 private key (RFC 8032 encoding)."""
    if isinstance(private_key, Ed25519PrivateKey):
        return private_key.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
    if isinstance(private_key, bytes | bytearray) and len(private_key) == _ED25519_KEY_SIZE:
        return bytes(private_key)
    raise KeyFormatError("an Ed25519 private key seed is 32 bytes")


def _private_key(private_key: Ed25519PrivateKey | bytes) -> Ed25519PrivateKey:
    if isinstance(private_key, Ed25519PrivateKey):
        return private_key
    return Ed25519PrivateKey.from_private_bytes(private_key_seed(private_key))


def _public_from_seed(seed: bytes) -> bytes:
    return public_key_bytes(Ed25519PrivateKey.from_private_bytes(seed).public_key())


def _require_name(name: object) -> str:
    if not is_valid_name(name):
        raise KeyFormatError(f"invalid key name {name!r}")
    assert isinstance(name, str)
    return name


def _require_ed25519_alg(alg: object) -> int:
    if not isinstance(alg, int) or alg not in _ED25519_TYPES:
        raise UnknownAlgorithmError(f"unknown signature type {alg!r}")
    return alg


# ---------------------------------------------------------------------- verifier and signer keys


@dataclass(frozen=True)
class VerifierKey:
    """A parsed verifier key: ``<name>+<key ID>+<base64(alg || public key)>``."""

    name: str
    key_hash: int
    alg: int
    public_key: bytes

    def encode(self) -> str:
        """The vkey string (lower-case hex key ID, as Go writes it)."""
        return f"{self.name}+{self.key_hash:08x}+{_b64encode(bytes([self.alg]) + self.public_key)}"

    def __str__(self) -> str:
        return self.encode()


@dataclass(frozen=True, repr=False)
class SignerKey:
    """A parsed signer key: ``PRIVATE+KEY+<name>+<key ID>+<base64(alg || seed)>``."""

    name: str
    key_hash: int
    alg: int
    seed: bytes

    def __repr__(self) -> str:  # never print the seed
        return f"SignerKey(name={self.name!r}, key_hash=0x{self.key_hash:08x}, alg={self.alg})"

    @property
    def public_key(self) -> bytes:
        return _public_from_seed(self.seed)

    def encode(self) -> str:
        """The signer key string."""
        raw = _b64encode(bytes([self.alg]) + self.seed)
        return f"PRIVATE+KEY+{self.name}+{self.key_hash:08x}+{raw}"

    def vkey(self) -> str:
        """The matching verifier key string."""
        return VerifierKey(self.name, self.key_hash, self.alg, self.public_key).encode()


def _chop(s: str, sep: str) -> tuple[str, str]:
    before, _, after = s.partition(sep)
    return before, after


def _as_str(value: object, error: type[NoteError], what: str) -> str:
    if isinstance(value, bytes | bytearray):
        try:
            return bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            raise error(f"malformed {what}: not valid UTF-8") from None
    if not isinstance(value, str):
        raise error(f"malformed {what}: str or bytes expected, not {type(value).__name__}")
    return value


def _parse_key_fields(name: str, hash16: str, key64: str) -> tuple[str, int, bytes]:
    if _HEX8_RE.fullmatch(hash16) is None:
        raise KeyFormatError("malformed key: key ID is not 8 hex digits")
    try:
        key = decode_base64(key64)
    except ValueError:
        raise KeyFormatError("malformed key: key data is not base64") from None
    if not is_valid_name(name):
        raise KeyFormatError("malformed key: invalid key name")
    if not key:
        raise KeyFormatError("malformed key: empty key data")
    return name, int(hash16, 16), key


def parse_vkey(vkey: str | bytes) -> VerifierKey:
    """Parse a verifier key ``<name>+<hex key ID>+<base64(type || public key)>``
    (signed-note; Go: ``NewVerifier``).

    The key ID must equal :func:`key_hash` of the name and the typed key.
    Types ``0x01`` (Ed25519) and ``0x04`` (cosignature/v1 Ed25519) are
    supported, both with a 32-byte public key. Raises :class:`KeyFormatError`
    (or its subclasses :class:`KeyHashMismatchError`,
    :class:`UnknownAlgorithmError`).
    """
    text = _as_str(vkey, KeyFormatError, "verifier key")
    name, rest = _chop(text, "+")
    hash16, key64 = _chop(rest, "+")
    name, declared, key = _parse_key_fields(name, hash16, key64)
    if declared != key_hash(name, key):
        raise KeyHashMismatchError("invalid verifier key hash")
    alg, public = key[0], key[1:]
    if alg not in _ED25519_TYPES:
        raise UnknownAlgorithmError(f"unknown verifier algorithm 0x{alg:02x}")
    if len(public) != _ED25519_KEY_SIZE:
        raise KeyFormatError("malformed verifier key: Ed25519 public key is not 32 bytes")
    return VerifierKey(name, declared, alg, public)


def parse_skey(skey: str | bytes) -> SignerKey:
    """Parse a signer key ``PRIVATE+KEY+<name>+<hex key ID>+<base64(type ||
    seed)>`` (Go: ``NewSigner``).

    The key ID must equal :func:`key_hash` of the name and the typed public key
    derived from the seed. Types ``0x01`` and ``0x04`` are supported. Raises
    :class:`KeyFormatError` or a subclass.
    """
    text = _as_str(skey, KeyFormatError, "signer key")
    priv1, rest = _chop(text, "+")
    priv2, rest = _chop(rest, "+")
    name, rest = _chop(rest, "+")
    hash16, key64 = _chop(rest, "+")
    if priv1 != "PRIVATE" or priv2 != "KEY":
        raise KeyFormatError("malformed signer key: missing PRIVATE+KEY prefix")
    name, declared, key = _parse_key_fields(name, hash16, key64)
    alg, seed = key[0], key[1:]
    if alg not in _ED25519_TYPES:
        raise UnknownAlgorithmError(f"unknown signer algorithm 0x{alg:02x}")
    if len(seed) != _ED25519_KEY_SIZE:
        raise KeyFormatError("malformed signer key: Ed25519 seed is not 32 bytes")
    if declared != key_hash(name, bytes([alg]) + _public_from_seed(seed)):
        raise KeyHashMismatchError("invalid signer key hash")
    return SignerKey(name, declared, alg, seed)


def encode_vkey(name: str, public_key: Ed25519PublicKey | bytes, alg: int = ALG_ED25519) -> str:
    """The verifier key string of an Ed25519 public key (Go:
    ``NewEd25519VerifierKey`` for ``alg=0x01``)."""
    name = _require_name(name)
    alg = _require_ed25519_alg(alg)
    typed = bytes([alg]) + public_key_bytes(public_key)
    return VerifierKey(name, key_hash(name, typed), alg, typed[1:]).encode()


def encode_skey(name: str, private_key: Ed25519PrivateKey | bytes, alg: int = ALG_ED25519) -> str:
    """The signer key string of an Ed25519 private key (format of Go's
    ``GenerateKey``). Keep it secret."""
    name = _require_name(name)
    alg = _require_ed25519_alg(alg)
    seed = private_key_seed(private_key)
    khash = key_hash(name, bytes([alg]) + _public_from_seed(seed))
    return SignerKey(name, khash, alg, seed).encode()


def vkey_from_private_key(
    name: str, private_key: Ed25519PrivateKey | bytes, alg: int = ALG_ED25519
) -> str:
    """The verifier key string of the public half of ``private_key``."""
    return encode_vkey(name, _private_key(private_key).public_key(), alg)


def generate_key(name: str, alg: int = ALG_ED25519) -> tuple[str, str]:
    """A new random Ed25519 key as ``(skey, vkey)`` (Go: ``GenerateKey``)."""
    key = Ed25519PrivateKey.generate()
    return encode_skey(name, key, alg), vkey_from_private_key(name, key, alg)


# ---------------------------------------------------------------------- signers and verifiers


@runtime_checkable
class Verifier(Protocol):
    """Checks signatures by one key (Go: ``note.Verifier``)."""

    @property
    def name(self) -> str: ...

    @property
    def key_hash(self) -> int: ...

    def verify(self, msg: bytes, sig: bytes) -> bool:
        """Whether ``sig`` (without the 4-byte key ID) is a valid signature of ``msg``."""
        ...


@runtime_checkable
class Signer(Protocol):
    """Signs with one key (Go: ``note.Signer``)."""

    @property
    def name(self) -> str: ...

    @property
    def key_hash(self) -> int: ...

    def sign(self, msg: bytes) -> bytes:
        """The signature of ``msg`` (without the 4-byte key ID)."""
        ...


class KeyIdentity:
    """What names a note key: its name, key ID and public key (set by subclasses)."""

    _name: str
    _hash: int
    _public: bytes

    @property
    def name(self) -> str:
        return self._name

    @property
    def key_hash(self) -> int:
        return self._hash

    @property
    def public_key(self) -> bytes:
        return self._public


class Ed25519Verifier(KeyIdentity):
    """Verifier of plain Ed25519 note signatures, type ``0x01`` (signed-note,
    "Ed25519 signatures")."""

    alg = ALG_ED25519

    def __init__(self, name: str, public_key: Ed25519PublicKey | bytes) -> None:
        self._name = _require_name(name)
        self._public = public_key_bytes(public_key)
        self._key = Ed25519PublicKey.from_public_bytes(self._public)
        self._hash = key_hash(self._name, bytes([self.alg]) + self._public)

    @property
    def vkey(self) -> str:
        return VerifierKey(self._name, self._hash, self.alg, self._public).encode()

    def verify(self, msg: bytes, sig: bytes) -> bool:
        if len(sig) != _ED25519_SIG_SIZE:
            return False
        try:
            self._key.verify(bytes(sig), bytes(msg))
        except (InvalidSignature, ValueError):
            return False
        return True

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.vkey!r})"


class Ed25519Signer(KeyIdentity):
    """Signer of plain Ed25519 note signatures, type ``0x01``."""

    alg = ALG_ED25519

    def __init__(self, name: str, private_key: Ed25519PrivateKey | bytes) -> None:
        self._name = _require_name(name)
        self._key = _private_key(private_key)
        self._public = public_key_bytes(self._key.public_key())
        self._hash = key_hash(self._name, bytes([self.alg]) + self._public)

    @property
    def vkey(self) -> str:
        return VerifierKey(self._name, self._hash, self.alg, self._public).encode()

    def verifier(self) -> Ed25519Verifier:
        return Ed25519Verifier(self._name, self._public)

    def sign(self, msg: bytes) -> bytes:
        return self._key.sign(bytes(msg))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.vkey!r})"


def new_verifier(vkey: str | bytes) -> Ed25519Verifier:
    """An :class:`Ed25519Verifier` from a type ``0x01`` verifier key (Go:
    ``note.NewVerifier``). Witness (``0x04``) keys: see
    :func:`ledger.cosignature.parse_witness_vkey`."""
    key = parse_vkey(vkey)
    if key.alg != ALG_ED25519:
        raise UnknownAlgorithmError(f"not an Ed25519 note key: type 0x{key.alg:02x}")
    return Ed25519Verifier(key.name, key.public_key)


def new_signer(skey: str | bytes) -> Ed25519Signer:
    """An :class:`Ed25519Signer` from a type ``0x01`` signer key (Go: ``note.NewSigner``)."""
    key = parse_skey(skey)
    if key.alg != ALG_ED25519:
        raise UnknownAlgorithmError(f"not an Ed25519 note key: type 0x{key.alg:02x}")
    return Ed25519Signer(key.name, key.seed)


class VerifierList:
    """The known keys, looked up by (name, key ID) (Go: ``note.VerifierList``).

    Two entries with the same name and key ID make that pair ambiguous; that is
    only an error when a note carries a signature with it."""

    def __init__(self, verifiers: Iterable[Verifier] = ()) -> None:
        self._map: dict[tuple[str, int], list[Verifier]] = {}
        for v in verifiers:
            self._map.setdefault((v.name, v.key_hash), []).append(v)

    def verifier(self, name: str, key_hash: int) -> Verifier:
        found = self._map.get((name, key_hash))
        if not found:
            raise UnknownVerifierError(name, key_hash)
        if len(found) > 1:
            raise AmbiguousVerifierError(name, key_hash)
        return found[0]


# ---------------------------------------------------------------------- notes


@dataclass(frozen=True)
class Signature:
    """One signature line of a note, verified or not (Go: ``note.Signature``).

    ``b64`` is the base64 text of the line: key ID (4 bytes) || signature."""

    name: str
    key_hash: int
    b64: str

    @property
    def raw(self) -> bytes:
        """The signature bytes after the 4-byte key ID."""
        return decode_base64(self.b64)[_KEY_ID_SIZE:]

    @property
    def line(self) -> str:
        """The signature line, newline included."""
        return f"{SIGNATURE_PREFIX}{self.name} {self.b64}\n"


class Note(NamedTuple):
    """An opened note: its text, the signatures by known keys that verified,
    and the signatures by unknown keys (Go: ``note.Note``)."""

    text: str
    sigs: tuple[Signature, ...]
    unverified_sigs: tuple[Signature, ...]


def format_signature_line(name: str, key_hash: int, sig: bytes) -> str:
    """``— <name> base64(key ID || sig)`` and a newline (signed-note, "Signatures")."""
    if not is_valid_name(name):
        raise InvalidSignerError(f"invalid key name {name!r}")
    if not isinstance(key_hash, int) or not 0 <= key_hash <= 0xFFFFFFFF:
        raise InvalidSignerError("a key ID is a 32-bit unsigned integer")
    b64 = _b64encode(key_hash.to_bytes(_KEY_ID_SIZE, "big") + bytes(sig))
    return f"{SIGNATURE_PREFIX}{name} {b64}\n"


def parse_signature_line(line: str | bytes) -> Signature:
    """Parse one signature line, with or without its final newline (signed-note,
    "Format"). The signature is not verified. Raises :class:`MalformedNoteError`."""
    text = _as_str(line, MalformedNoteError, "signature line")
    if text.endswith("\n"):
        text = text[:-1]
    if "\n" in text or _BAD_NOTE_CHAR_RE.search(text):
        raise MalformedNoteError("malformed note: bad character in signature line")
    return _parse_sig_line(text)


def _parse_sig_line(line: str) -> Signature:
    if not line.startswith(SIGNATURE_PREFIX):
        raise MalformedNoteError("malformed note: signature line does not start with '\u2014 '")
    name, b64 = _chop(line[len(SIGNATURE_PREFIX) :], " ")
    try:
        raw = decode_base64(b64)
    except ValueError:
        raise MalformedNoteError("malformed note: signature is not base64") from None
    if not is_valid_name(name) or b64 == "" or len(raw) < _KEY_ID_SIZE + 1:
        raise MalformedNoteError("malformed note: bad signature line")
    return Signature(name, int.from_bytes(raw[:_KEY_ID_SIZE], "big"), b64)


def split_note(msg: str | bytes) -> tuple[str, list[Signature]]:
    """Split a signed note into its text and its signature lines, checking the
    syntax only (signed-note, "Format"; the parsing half of Go's ``note.Open``).

    Nothing is verified: the text MUST NOT be trusted. Use :func:`open_note`.
    At most :data:`MAX_SIGNATURES` signature lines. Raises :class:`MalformedNoteError`.
    """
    text = _as_str(msg, MalformedNoteError, "note")
    # Valid UTF-8 with no ASCII control characters other than newline.
    if _BAD_NOTE_CHAR_RE.search(text):
        raise MalformedNoteError("malformed note: control character or invalid UTF-8")
    # The text ends at the last blank line; the signature block follows.
    split = text.rfind("\n\n")
    if split < 0:
        raise MalformedNoteError("malformed note: no blank line before signatures")
    body, block = text[: split + 1], text[split + 2 :]
    if not block or not block.endswith("\n"):
        raise MalformedNoteError("malformed note: signature block must end with a newline")
    lines = block[:-1].split("\n")
    sigs: list[Signature] = []
    for line in lines:
        sigs.append(_parse_sig_line(line))
        if len(sigs) > MAX_SIGNATURES:
            raise MalformedNoteError(f"malformed note: more than {MAX_SIGNATURES} signatures")
    return body, sigs


def open_note(msg: str | bytes, verifiers: Iterable[Verifier] | VerifierList | Verifier) -> Note:
    """Parse a signed note and verify its signatures by the known keys
    (signed-note, "Signatures"; Go: ``note.Open``).

    Signatures by unknown (name, key ID) pairs are ignored and returned in
    ``unverified_sigs`` (identical lines once); a second signature by the same
    known key is dropped unverified; any signature by a known key that fails
    to verify rejects the whole note (:class:`InvalidSignatureError`). If no
    known key signed, :class:`UnverifiedNoteError` carries the parsed note.
    Other errors: :class:`MalformedNoteError`, :class:`AmbiguousVerifierError`.

    The result unpacks as ``text, verified_signatures, unverified_signatures``.
    """
    if isinstance(verifiers, Verifier):
        verifiers = [verifiers]
    known = verifiers if isinstance(verifiers, VerifierList) else VerifierList(verifiers)
    text, parsed = split_note(msg)
    body = text.encode("utf-8")
    verified: list[Signature] = []
    unverified: list[Signature] = []
    seen: set[tuple[str, int]] = set()
    seen_unverified: set[tuple[str, str]] = set()
    for sig in parsed:
        try:
            v = known.verifier(sig.name, sig.key_hash)
        except UnknownVerifierError:
            if (sig.name, sig.b64) not in seen_unverified:
                seen_unverified.add((sig.name, sig.b64))
                unverified.append(sig)
            continue
        if (sig.name, sig.key_hash) in seen:
            continue
        seen.add((sig.name, sig.key_hash))
        if not v.verify(body, sig.raw):
            raise InvalidSignatureError(sig.name, sig.key_hash)
        verified.append(sig)
    note = Note(text, tuple(verified), tuple(unverified))
    if not verified:
        raise UnverifiedNoteError(note)
    return note


def sign_note(
    text: str,
    signers: Iterable[Signer] | Signer,
    *,
    signatures: Iterable[Signature] = (),
) -> str:
    """Sign ``text`` and return the signed note (signed-note, "Format"; Go:
    ``note.Sign``).

    ``signatures`` are existing signatures to keep (for instance from
    :func:`open_note`); they come first, except those by a key that signs now,
    which are replaced. ``text`` must end in a newline and, unlike Go, is also
    checked for the characters a note may not contain, so that the result always
    opens. Raises :class:`MalformedNoteError` or :class:`InvalidSignerError`.
    """
    if not isinstance(text, str) or not text.endswith("\n"):
        raise MalformedNoteError("malformed note: text must end in a newline")
    if _BAD_NOTE_CHAR_RE.search(text):
        raise MalformedNoteError("malformed note: control character or invalid UTF-8")
    signer_list = [signers] if isinstance(signers, Signer) else list(signers)
    body = text.encode("utf-8")
    new_lines: list[str] = []
    have: set[tuple[str, int]] = set()
    for s in signer_list:
        name, khash = s.name, s.key_hash
        have.add((name, khash))
        if not is_valid_name(name):
            raise InvalidSignerError(f"invalid signer name {name!r}")
        new_lines.append(format_signature_line(name, khash, s.sign(body)))
    kept: list[str] = []
    for sig in signatures:
        if not is_valid_name(sig.name):
            raise MalformedNoteError("malformed note: invalid name in existing signature")
        if (sig.name, sig.key_hash) in have:
            continue
        try:
            raw = decode_base64(sig.b64)
        except ValueError:
            raise MalformedNoteError("malformed note: existing signature is not base64") from None
        if len(raw) < _KEY_ID_SIZE + 1 or int.from_bytes(raw[:4], "big") != sig.key_hash:
            raise MalformedNoteError("malformed note: existing signature has the wrong key ID")
        kept.append(sig.line)
    if not kept and not new_lines:
        raise MalformedNoteError("malformed note: a note needs at least one signature")
    return text + "\n" + "".join(kept) + "".join(new_lines)
