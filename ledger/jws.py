"""Compact JWS (RFC 7515) with EdDSA (RFC 8037): the form of every log entry.

Device readings and platform entries alike are parsed and verified here, so
there is one verification path for everything in the log. Pure: no Django.
Errors carry a stable ``reason`` code (the ingest path stores it).

Signatures are verified with libsodium, about 40 % cheaper than OpenSSL's
Ed25519 on our hosts (verification is the largest cost of ingesting a
reading). libsodium accepts a subset of what OpenSSL accepts: it also
rejects small-order public keys and R values and non-canonical key
encodings, so nothing enters the log that the offline verifier
(``ledger.verify``, OpenSSL through ``cryptography``) would reject.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Protocol

import orjson
from nacl.bindings import crypto_sign_open
from nacl.exceptions import BadSignatureError

ALGORITHM = "EdDSA"
PUBLIC_KEY_BYTES = 32
SIGNATURE_BYTES = 64
BASE64URL_PATTERN = re.compile(rb"^[A-Za-z0-9_-]*$")


class JwsError(Exception):
    """A token that cannot be accepted; ``reason`` is a stable code."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class SignedMessage:
    """A compact JWS split into its parts; the signature is not checked yet."""

    header: dict
    kid: str
    signing_input: bytes
    payload: bytes
    signature: bytes


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(segment: bytes) -> bytes:
    """Strict base64url without padding (RFC 7515 section 2)."""
    if not BASE64URL_PATTERN.match(segment) or len(segment) % 4 == 1:
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(segment + b"=" * (-len(segment) % 4))


def parse_compact(token: bytes) -> SignedMessage:
    """Split and decode a compact JWS; checks the header, not the signature."""
    parts = token.strip().split(b".")
    if len(parts) != 3:
        raise JwsError("malformed_jws", f"{len(parts)} dot-separated parts, want 3")
    header_segment, payload_segment, signature_segment = parts
    try:
        header_bytes = b64url_decode(header_segment)
        payload = b64url_decode(payload_segment)
        signature = b64url_decode(signature_segment)
    except (ValueError, binascii.Error):
        raise JwsError("malformed_jws", "a part is not unpadded base64url") from None
    try:
        header = orjson.loads(header_bytes)
    except orjson.JSONDecodeError:
        raise JwsError("malformed_jws", "protected header is not JSON") from None
    if not isinstance(header, dict):
        raise JwsError("malformed_jws", "protected header is not a JSON object")
    alg = header.get("alg")
    if alg != ALGORITHM:
        raise JwsError("wrong_alg", f"alg {alg!r}, only {ALGORITHM!r} is accepted")
    if "crit" in header or header.get("b64", True) is not True:
        raise JwsError("malformed_jws", "crit and unencoded payloads are not supported")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise JwsError("malformed_jws", "kid must be a non-empty string")
    if len(signature) != SIGNATURE_BYTES:
        raise JwsError("bad_signature", f"Ed25519 signature is {len(signature)} bytes, want 64")
    return SignedMessage(
        header=header,
        kid=kid,
        signing_input=header_segment + b"." + payload_segment,
        payload=payload,
        signature=signature,
    )


def verify_signature(message: SignedMessage, public_key: bytes) -> None:
    """Raise ``JwsError`` unless the signature verifies with the raw 32-byte key."""
    if len(public_key) != PUBLIC_KEY_BYTES:
        # libsodium reads 32 bytes whatever it is given.
        raise JwsError("bad_signature", f"{message.kid}'s key is {len(public_key)} bytes, want 32")
    if len(message.signature) != SIGNATURE_BYTES:
        # Signature and input are passed as one buffer: the length marks the split.
        raise JwsError(
            "bad_signature", f"Ed25519 signature is {len(message.signature)} bytes, want 64"
        )
    try:
        crypto_sign_open(message.signature + message.signing_input, public_key)
    except BadSignatureError:
        raise JwsError(
            "bad_signature", f"signature does not verify with {message.kid}'s key"
        ) from None


class Ed25519Signing(Protocol):
    """An Ed25519 private key, or anything that signs like one (a note signer)."""

    def sign(self, data: bytes) -> bytes: ...


def sign_compact(private_key: Ed25519Signing, header: dict, payload: bytes) -> bytes:
    """A compact JWS; ``header`` gets ``alg`` EdDSA and must carry ``kid``."""
    protected = b64url_encode(orjson.dumps({"alg": ALGORITHM, **header}))
    signing_input = (protected + "." + b64url_encode(payload)).encode("ascii")
    return signing_input + b"." + b64url_encode(private_key.sign(signing_input)).encode("ascii")
