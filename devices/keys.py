"""Ed25519 device keys: generation, files, fingerprints, rotation requests. Pure, no Django."""

from __future__ import annotations

import hashlib
import os
from datetime import datetime
from pathlib import Path

import orjson
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from nacl.bindings import crypto_core_ed25519_is_valid_point

from devices.wire import (
    WireError,
    b64url_decode,
    b64url_encode,
    parse_jws,
    sign_jws,
    verify_signature,
)

# The typ of a rotation request, so that it can never pass for a reading (or
# a reading for a request) although both are signed by the device's key.
ROTATION_REQUEST_TYP = "coldchain.device-key-rotation-request+jws"


class KeyFormatError(ValueError):
    """A key file that is neither an Ed25519 PEM nor an Ed25519 OKP JWK."""


def generate_private_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def raw_public_key(key: Ed25519PrivateKey | Ed25519PublicKey) -> bytes:
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def fingerprint(raw_public: bytes) -> str:
    """SHA-256 of the raw 32-byte key, hex: what operators compare by eye."""
    return hashlib.sha256(raw_public).hexdigest()


def write_private_key(path: Path, key: Ed25519PrivateKey) -> None:
    """Write a PKCS#8 PEM readable by its owner only.

    Written under a temporary name and renamed into place, so that replacing
    a rotated key never leaves a device with a half-written one.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(pem)
    os.replace(temporary, path)


def load_private_key(path: Path) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFormatError(f"{path} is not an Ed25519 private key")
    return key


def public_key_pem(raw_public: bytes) -> str:
    key = Ed25519PublicKey.from_public_bytes(raw_public)
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def public_key_jwk(raw_public: bytes, kid: str) -> dict:
    return {"kty": "OKP", "crv": "Ed25519", "x": b64url_encode(raw_public), "kid": kid}


def parse_public_key(data: bytes) -> bytes:
    """Raw 32-byte Ed25519 public key from a PEM (SubjectPublicKeyInfo) or an OKP JWK.

    A key that is not a point of the prime-order subgroup (a small-order or
    mixed-order point, a non-canonical encoding) is refused here: ingest's
    verification refuses every signature under such a key, so registering it
    would only turn each of the device's readings into a rejection.
    """
    raw = _raw_public_key(data.strip())
    if not crypto_core_ed25519_is_valid_point(raw):
        raise KeyFormatError(
            "not a usable Ed25519 public key: not a point of the prime-order subgroup"
        )
    return raw


def _raw_public_key(text: bytes) -> bytes:
    if text.startswith(b"-----BEGIN"):
        try:
            key = serialization.load_pem_public_key(text)
        except ValueError as error:
            raise KeyFormatError(f"unreadable PEM: {error}") from None
        if not isinstance(key, Ed25519PublicKey):
            raise KeyFormatError("PEM holds a key that is not Ed25519")
        return raw_public_key(key)
    try:
        jwk = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise KeyFormatError("neither a PEM public key nor a JWK") from None
    if not isinstance(jwk, dict) or jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
        raise KeyFormatError('JWK must have "kty": "OKP" and "crv": "Ed25519"')
    if "d" in jwk:
        raise KeyFormatError("JWK holds a private key; register the public part only")
    try:
        raw = b64url_decode(str(jwk.get("x", "")).encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        raise KeyFormatError('JWK "x" is not base64url') from None
    if len(raw) != 32:
        raise KeyFormatError(f'JWK "x" is {len(raw)} bytes, want 32')
    return raw


def rotation_request_sign(
    current_key: Ed25519PrivateKey, device_id: str, new_public: bytes
) -> bytes:
    """The device's proof of possession: its current key asks for ``new_public``."""
    payload = orjson.dumps({"device": device_id, "public_key": b64url_encode(new_public)})
    return sign_jws(current_key, {"kid": device_id, "typ": ROTATION_REQUEST_TYP}, payload)


def rotation_request_check(
    request: bytes, *, device_id: str, current_public: bytes, new_public: bytes
) -> None:
    """Raise ``KeyFormatError`` unless ``request`` is ``device_id``'s current key asking
    for exactly ``new_public``."""
    try:
        message = parse_jws(request)
        verify_signature(message, current_public)
        claims = orjson.loads(message.payload)
    except (WireError, orjson.JSONDecodeError) as error:
        detail = error.detail if isinstance(error, WireError) else "payload is not JSON"
        raise KeyFormatError(
            f"the rotation request is not signed by {device_id}'s current key: {detail}"
        ) from None
    if message.header.get("typ") != ROTATION_REQUEST_TYP or not isinstance(claims, dict):
        raise KeyFormatError(f"the rotation request's typ must be {ROTATION_REQUEST_TYP}")
    if message.kid != device_id or claims.get("device") != device_id:
        raise KeyFormatError(f"the rotation request is not about {device_id}")
    if claims.get("public_key") != b64url_encode(new_public):
        raise KeyFormatError("the rotation request asks for another key than the one given")


def key_window_problem(
    device_id: str, number: int, valid_from: datetime, retired_at: datetime | None, ts: datetime
) -> str:
    """Why key #``number`` may not vouch for a reading signed at ``ts``, or ''.

    A key speaks for the device from its rotation until the next one; key #1
    from any time (a logger may record before it is registered).
    """
    if retired_at is not None and ts >= retired_at:
        return (
            f"signed with key #{number} of {device_id}, which was retired at "
            f"{retired_at.isoformat()}; the reading's ts {ts.isoformat()} is not before that"
        )
    if number > 1 and ts < valid_from:
        return (
            f"signed with key #{number} of {device_id}, valid from "
            f"{valid_from.isoformat()}; the reading's ts {ts.isoformat()} is earlier"
        )
    return ""
