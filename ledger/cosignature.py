"""C2SP witness cosignatures, Ed25519 "cosignature/v1" (https://c2sp.org/tlog-cosignature).

A cosignature is a signed-note signature line on a checkpoint
(:mod:`ledger.checkpoint`) by a witness key of signature type ``0x04``
(tlog-cosignature, "Format"):

* key ID = ``SHA-256(<name> || "\\n" || 0x04 || 32-byte public key)[:4]``;
* the signature is a ``timestamped_signature``: the timestamp (POSIX seconds,
  at most 2^63 - 1) as 8 bytes big-endian, then the 64-byte Ed25519 signature;
* the signed message ("Ed25519 signed message") is
  ``"cosignature/v1\\n" + "time <timestamp, decimal>\\n" + checkpoint text``,
  the checkpoint text including its extension lines and final newline.

Witness verifier keys are vkeys of type ``0x04``:
``<name>+<key ID>+<base64(0x04 || public key)>``.

The signed message does not name the witness, so one Ed25519 key must not
serve two witness names (tlog-cosignature). The ML-DSA-44 cosignature type
(``0x06``, "subtree/v1") is not implemented.

Interoperates with transparency-dev/formats ``note/note_cosigv1.go``,
filippo.io/torchwood ``cosignature.go`` and sigsum-go ``pkg/checkpoint``.
Stdlib and ``cryptography`` only.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from ledger.checkpoint import CheckpointError, parse_checkpoint
from ledger.note import (
    ALG_COSIGNATURE_V1,
    ALG_ED25519,
    KeyFormatError,
    KeyIdentity,
    MalformedNoteError,
    Signature,
    UnknownAlgorithmError,
    decode_base64,
    encode_vkey,
    format_signature_line,
    is_valid_name,
    key_hash,
    parse_signature_line,
    parse_skey,
    parse_vkey,
    public_key_bytes,
)

__all__ = [
    "ALG_COSIGNATURE_V1",
    "COSIGNATURE_V1_HEADER",
    "MAX_TIMESTAMP",
    "Cosignature",
    "CosignatureError",
    "CosignatureV1Signer",
    "CosignatureV1Verifier",
    "cosign",
    "cosignature_key_hash",
    "cosignature_message",
    "cosignature_timestamp",
    "encode_witness_vkey",
    "new_cosigner",
    "parse_cosignature",
    "parse_witness_vkey",
    "verify_cosignature",
    "vkey_to_cosignature_v1",
    "witness_vkey_from_private_key",
]

COSIGNATURE_V1_HEADER = "cosignature/v1\n"
#: The timestamp MUST NOT exceed 2^63 - 1 (tlog-cosignature, "Format").
MAX_TIMESTAMP = 2**63 - 1

_KEY_ID_SIZE = 4
_TIMESTAMP_SIZE = 8
_ED25519_SIG_SIZE = 64
_COSIG_SIZE = _TIMESTAMP_SIZE + _ED25519_SIG_SIZE


class CosignatureError(ValueError):
    """A cosignature is malformed, for another key, or does not verify."""


def _require_timestamp(timestamp: object) -> int:
    if (
        isinstance(timestamp, bool)
        or not isinstance(timestamp, int)
        or not 0 <= timestamp <= MAX_TIMESTAMP
    ):
        raise CosignatureError(f"invalid cosignature timestamp {timestamp!r}")
    return timestamp


def cosignature_key_hash(name: str, public_key: Ed25519PublicKey | bytes) -> int:
    """The key ID of an Ed25519 cosigner: ``SHA-256(name || 0x0A || 0x04 ||
    public key)[:4]`` (tlog-cosignature, "Format")."""
    return key_hash(name, bytes([ALG_COSIGNATURE_V1]) + public_key_bytes(public_key))


def cosignature_message(checkpoint_text: str | bytes, timestamp: int) -> bytes:
    """The message a cosigner signs: ``cosignature/v1\\ntime <t>\\n`` followed by
    the whole checkpoint text (tlog-cosignature, "Ed25519 signed message").

    ``checkpoint_text`` must be a valid checkpoint (as in torchwood); raises
    :class:`CosignatureError` otherwise or for a bad timestamp.
    """
    _require_timestamp(timestamp)
    try:
        parse_checkpoint(checkpoint_text)  # strict: a text that parses is canonical
    except CheckpointError as exc:
        raise CosignatureError(f"not a checkpoint: {exc}") from None
    body = checkpoint_text if isinstance(checkpoint_text, str) else checkpoint_text.decode()
    return f"{COSIGNATURE_V1_HEADER}time {timestamp}\n{body}".encode()


@dataclass(frozen=True)
class Cosignature:
    """A parsed cosignature/v1 signature line."""

    name: str
    key_hash: int
    timestamp: int
    signature: bytes

    @property
    def line(self) -> str:
        """The signature line, newline included."""
        return format_signature_line(
            self.name,
            self.key_hash,
            self.timestamp.to_bytes(_TIMESTAMP_SIZE, "big") + self.signature,
        )


def parse_cosignature(sig: Signature | str | bytes) -> Cosignature:
    """Split a signature line (or :class:`ledger.note.Signature`) into key ID,
    timestamp and Ed25519 signature, without verifying it. The payload must be
    exactly 4 + 8 + 64 bytes and the timestamp at most 2^63 - 1. Raises
    :class:`CosignatureError`."""
    if not isinstance(sig, Signature):
        try:
            sig = parse_signature_line(sig)
        except MalformedNoteError as exc:
            raise CosignatureError(f"malformed signature line: {exc}") from None
    try:
        raw = decode_base64(sig.b64)
    except ValueError:
        raise CosignatureError("malformed cosignature: not base64") from None
    if len(raw) != _KEY_ID_SIZE + _COSIG_SIZE:
        raise CosignatureError(
            f"malformed cosignature: {len(raw)} bytes, want {_KEY_ID_SIZE + _COSIG_SIZE}"
        )
    timestamp = int.from_bytes(raw[_KEY_ID_SIZE : _KEY_ID_SIZE + _TIMESTAMP_SIZE], "big")
    if timestamp > MAX_TIMESTAMP:
        raise CosignatureError("malformed cosignature: timestamp above 2^63 - 1")
    return Cosignature(
        sig.name,
        int.from_bytes(raw[:_KEY_ID_SIZE], "big"),
        timestamp,
        raw[_KEY_ID_SIZE + _TIMESTAMP_SIZE :],
    )


def cosignature_timestamp(sig: Signature | str | bytes) -> int:
    """The timestamp (POSIX seconds) of a cosignature line, unverified."""
    return parse_cosignature(sig).timestamp


class CosignatureV1Verifier(KeyIdentity):
    """A :class:`ledger.note.Verifier` for one witness's cosignature/v1
    signatures, so that :func:`ledger.note.open_note` checks cosignatures too.

    ``verify(msg, sig)`` takes the note text and the 72 bytes after the key ID
    (timestamp || Ed25519 signature)."""

    alg = ALG_COSIGNATURE_V1

    def __init__(self, name: str, public_key: Ed25519PublicKey | bytes) -> None:
        if not is_valid_name(name):
            raise KeyFormatError(f"invalid witness name {name!r}")
        self._name = name
        self._public = public_key_bytes(public_key)
        self._key = Ed25519PublicKey.from_public_bytes(self._public)
        self._hash = cosignature_key_hash(name, self._public)

    @property
    def vkey(self) -> str:
        return encode_witness_vkey(self._name, self._public)

    def verify(self, msg: bytes, sig: bytes) -> bool:
        if len(sig) != _COSIG_SIZE:
            return False
        timestamp = int.from_bytes(sig[:_TIMESTAMP_SIZE], "big")
        try:
            message = cosignature_message(bytes(msg), timestamp)
            self._key.verify(bytes(sig[_TIMESTAMP_SIZE:]), message)
        except (CosignatureError, InvalidSignature, ValueError):
            return False
        return True

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.vkey!r})"


class CosignatureV1Signer(KeyIdentity):
    """A :class:`ledger.note.Signer` producing cosignature/v1 signatures, so that
    :func:`ledger.note.sign_note` can cosign. ``clock`` gives the timestamp
    (default: now, in whole seconds)."""

    alg = ALG_COSIGNATURE_V1

    def __init__(
        self,
        name: str,
        private_key: Ed25519PrivateKey | bytes,
        clock: Callable[[], int] | None = None,
    ) -> None:
        if not is_valid_name(name):
            raise KeyFormatError(f"invalid witness name {name!r}")
        self._name = name
        self._key = (
            private_key
            if isinstance(private_key, Ed25519PrivateKey)
            else Ed25519PrivateKey.from_private_bytes(_seed(private_key))
        )
        self._public = public_key_bytes(self._key.public_key())
        self._hash = cosignature_key_hash(name, self._public)
        self._clock = clock or (lambda: int(time.time()))

    @property
    def vkey(self) -> str:
        return encode_witness_vkey(self._name, self._public)

    def verifier(self) -> CosignatureV1Verifier:
        return CosignatureV1Verifier(self._name, self._public)

    def sign_at(self, msg: bytes | str, timestamp: int) -> bytes:
        """timestamp (8 bytes, big-endian) || Ed25519 signature of the
        cosigned message. Raises :class:`CosignatureError` if ``msg`` is not a
        checkpoint."""
        message = cosignature_message(msg, timestamp)
        return timestamp.to_bytes(_TIMESTAMP_SIZE, "big") + self._key.sign(message)

    def sign(self, msg: bytes) -> bytes:
        return self.sign_at(msg, self._clock())

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.vkey!r})"


def _seed(private_key: bytes) -> bytes:
    if not isinstance(private_key, bytes | bytearray) or len(private_key) != 32:
        raise KeyFormatError("an Ed25519 private key seed is 32 bytes")
    return bytes(private_key)


def cosign(
    checkpoint_text: str,
    witness_private_key: Ed25519PrivateKey | bytes,
    witness_name: str,
    timestamp: int,
) -> str:
    """The cosignature/v1 signature line (newline included) of witness
    ``witness_name`` on ``checkpoint_text`` at ``timestamp`` (tlog-cosignature,
    "Format" and "Ed25519 signed message"). Deterministic (Ed25519).

    Append it to the signed checkpoint note to serve the cosigned checkpoint.
    Raises :class:`CosignatureError` or :class:`ledger.note.KeyFormatError`.
    """
    signer = CosignatureV1Signer(witness_name, witness_private_key)
    return format_signature_line(
        signer.name, signer.key_hash, signer.sign_at(checkpoint_text, timestamp)
    )


def verify_cosignature(
    checkpoint_text: str,
    signature: Signature | str,
    witness: CosignatureV1Verifier | str,
) -> Cosignature:
    """Check one cosignature line by ``witness`` (a verifier or its vkey) on
    ``checkpoint_text``; return it parsed (with its timestamp).

    Raises :class:`CosignatureError` if the line is malformed, names another key
    (name or key ID differ), or does not verify; :class:`ledger.note.KeyFormatError`
    for a bad vkey. Verifiers MAY also reject timestamps in the future: compare
    ``result.timestamp`` with the clock.
    """
    verifier = parse_witness_vkey(witness) if isinstance(witness, str) else witness
    cosig = parse_cosignature(signature)
    if cosig.name != verifier.name or cosig.key_hash != verifier.key_hash:
        raise CosignatureError(
            f"cosignature by {cosig.name}+{cosig.key_hash:08x}, "
            f"want {verifier.name}+{verifier.key_hash:08x}"
        )
    try:
        text = checkpoint_text.encode("utf-8")
    except (AttributeError, UnicodeEncodeError):
        raise CosignatureError("checkpoint text must be a valid str") from None
    sig = cosig.timestamp.to_bytes(_TIMESTAMP_SIZE, "big") + cosig.signature
    if not verifier.verify(text, sig):
        raise CosignatureError(f"invalid cosignature by {verifier.name}+{verifier.key_hash:08x}")
    return cosig


def encode_witness_vkey(name: str, public_key: Ed25519PublicKey | bytes) -> str:
    """The verifier key of a cosignature/v1 witness: type ``0x04``
    (tlog-cosignature, "Format": "Ed25519 public keys MAY be encoded as vkeys
    with signature type 0x04")."""
    return encode_vkey(name, public_key, ALG_COSIGNATURE_V1)


def witness_vkey_from_private_key(name: str, private_key: Ed25519PrivateKey | bytes) -> str:
    """The type ``0x04`` verifier key of the public half of ``private_key``."""
    return CosignatureV1Signer(name, private_key).vkey


def parse_witness_vkey(vkey: str | bytes) -> CosignatureV1Verifier:
    """A :class:`CosignatureV1Verifier` from a type ``0x04`` verifier key. A plain
    Ed25519 (``0x01``) vkey is refused with :class:`ledger.note.UnknownAlgorithmError`;
    convert it explicitly with :func:`vkey_to_cosignature_v1`. Raises
    :class:`ledger.note.KeyFormatError` or a subclass."""
    key = parse_vkey(vkey)
    if key.alg != ALG_COSIGNATURE_V1:
        raise UnknownAlgorithmError(f"not a cosignature/v1 key: type 0x{key.alg:02x}")
    return CosignatureV1Verifier(key.name, key.public_key)


def vkey_to_cosignature_v1(vkey: str | bytes) -> str:
    """Convert a plain Ed25519 (``0x01``) vkey to the cosignature/v1 (``0x04``)
    vkey of the same key and name (transparency-dev/formats:
    ``VKeyToCosignatureV1``)."""
    key = parse_vkey(vkey)
    if key.alg != ALG_ED25519:
        raise UnknownAlgorithmError(f"not an Ed25519 note key: type 0x{key.alg:02x}")
    return encode_witness_vkey(key.name, key.public_key)


def new_cosigner(skey: str | bytes, clock: Callable[[], int] | None = None) -> CosignatureV1Signer:
    """A :class:`CosignatureV1Signer` from a signer key of type ``0x04`` or ``0x01``
    (as transparency-dev/formats ``NewSignerForCosignatureV1`` accepts both; the
    resulting key ID is always the ``0x04`` one)."""
    key = parse_skey(skey)
    if key.alg not in (ALG_COSIGNATURE_V1, ALG_ED25519):  # pragma: no cover - parse_skey
        raise UnknownAlgorithmError(f"unsupported signer type 0x{key.alg:02x}")
    return CosignatureV1Signer(key.name, key.seed, clock)
