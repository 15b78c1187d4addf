"""The device wire format: compact JWS (RFC 7515) signed with EdDSA (RFC 8037).

Pure functions, no Django: the simulator, the ingest path and outside tools
share them. Parsing never raises anything but ``WireError``, whose ``reason``
is one of the rejection codes stored by the ingest path.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

WIRE_VERSION = 1
MAX_MESSAGE_BYTES = 4096
ALGORITHM = "EdDSA"
TOPIC_PREFIX = "coldchain/v1/readings/"
DEVICE_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")

# Ranges a real reefer probe, logger or GPS can physically report; anything
# outside is a broken sensor or a forged payload, never cargo data.
PLAUSIBLE_RANGES: dict[str, tuple[float, float]] = {
    "temp_c": (-100.0, 100.0),
    "ambient_c": (-60.0, 70.0),
    "setpoint_c": (-60.0, 40.0),
    "humidity_pct": (0.0, 100.0),
    "battery_pct": (0.0, 100.0),
    "lat": (-90.0, 90.0),
    "lon": (-180.0, 180.0),
}
NUMBER_CHANNELS = ("ambient_c", "humidity_pct", "lat", "lon", "setpoint_c", "battery_pct")
BOOLEAN_CHANNELS = ("door_open", "reefer_on")
REQUIRED_FIELDS = ("v", "device", "seq", "ts", "temp_c")
KNOWN_FIELDS = frozenset(REQUIRED_FIELDS + NUMBER_CHANNELS + BOOLEAN_CHANNELS)
MAX_SEQ = 2**63 - 1
# RFC 3339 date-time in UTC only ("Z" or "+00:00"), optional fraction.
TIMESTAMP_PATTERN = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|\+00:00)$"
)
BASE64URL_PATTERN = re.compile(rb"^[A-Za-z0-9_-]*$")


class WireError(Exception):
    """A message that cannot be accepted; ``reason`` is a stable rejection code."""

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


@dataclass(frozen=True)
class ReadingPayload:
    device: str
    seq: int
    ts: datetime
    temp_c: float
    ambient_c: float | None = None
    humidity_pct: float | None = None
    door_open: bool | None = None
    lat: float | None = None
    lon: float | None = None
    reefer_on: bool | None = None
    setpoint_c: float | None = None
    battery_pct: float | None = None


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(segment: bytes) -> bytes:
    """Strict base64url without padding (RFC 7515 section 2)."""
    if not BASE64URL_PATTERN.match(segment) or len(segment) % 4 == 1:
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(segment + b"=" * (-len(segment) % 4))


def parse_compact(token: bytes) -> SignedMessage:
    """Split and decode a compact JWS; checks the header, not the signature."""
    if len(token) > MAX_MESSAGE_BYTES:
        raise WireError("oversized", f"{len(token)} bytes, limit {MAX_MESSAGE_BYTES}")
    token = token.strip()
    parts = token.split(b".")
    if len(parts) != 3:
        raise WireError("malformed_jws", f"{len(parts)} dot-separated parts, want 3")
    header_segment, payload_segment, signature_segment = parts
    try:
        header_bytes = b64url_decode(header_segment)
        payload = b64url_decode(payload_segment)
        signature = b64url_decode(signature_segment)
    except (ValueError, binascii.Error):
        raise WireError("malformed_jws", "a part is not unpadded base64url") from None
    try:
        header = orjson.loads(header_bytes)
    except orjson.JSONDecodeError:
        raise WireError("malformed_jws", "protected header is not JSON") from None
    if not isinstance(header, dict):
        raise WireError("malformed_jws", "protected header is not a JSON object")
    alg = header.get("alg")
    if alg != ALGORITHM:
        raise WireError("wrong_alg", f"alg {alg!r}, only {ALGORITHM!r} is accepted")
    if "crit" in header or header.get("b64", True) is not True:
        raise WireError("malformed_jws", "crit and unencoded payloads are not supported")
    kid = header.get("kid")
    if not isinstance(kid, str) or not DEVICE_ID_PATTERN.match(kid):
        raise WireError("malformed_jws", "kid must be a device id")
    if len(signature) != 64:
        raise WireError("bad_signature", f"Ed25519 signature is {len(signature)} bytes, want 64")
    return SignedMessage(
        header=header,
        kid=kid,
        signing_input=header_segment + b"." + payload_segment,
        payload=payload,
        signature=signature,
    )


def verify_signature(message: SignedMessage, public_key: Ed25519PublicKey) -> None:
    try:
        public_key.verify(message.signature, message.signing_input)
    except InvalidSignature:
        raise WireError(
            "bad_signature", f"signature does not verify with {message.kid}'s key"
        ) from None


def parse_timestamp(value: str) -> datetime:
    match = TIMESTAMP_PATTERN.match(value)
    if not match:
        raise ValueError("not an RFC 3339 UTC timestamp")
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    fraction = match.group(7)
    microsecond = int((fraction[1:] + "000000")[:6]) if fraction else 0
    return datetime(year, month, day, hour, minute, min(second, 59), microsecond, tzinfo=UTC)


def format_timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _number(payload: dict, name: str) -> float | None:
    value = payload.get(name)
    if value is None:
        if name in payload:
            raise WireError("schema_violation", f"{name} is null")
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise WireError("schema_violation", f"{name} must be a finite number")
    low, high = PLAUSIBLE_RANGES[name]
    if not low <= value <= high:
        raise WireError("implausible", f"{name}={value} outside [{low}, {high}]")
    return float(value)


def _boolean(payload: dict, name: str) -> bool | None:
    value = payload.get(name)
    if value is None:
        if name in payload:
            raise WireError("schema_violation", f"{name} is null")
        return None
    if not isinstance(value, bool):
        raise WireError("schema_violation", f"{name} must be true or false")
    return value


def decode_payload(payload: bytes) -> ReadingPayload:
    """Validate a reading payload against the v1 schema and physical plausibility."""
    try:
        document = orjson.loads(payload)
    except orjson.JSONDecodeError:
        raise WireError("malformed_json", "payload is not UTF-8 JSON") from None
    if not isinstance(document, dict):
        raise WireError("malformed_json", "payload is not a JSON object")
    missing = [name for name in REQUIRED_FIELDS if name not in document]
    if missing:
        raise WireError("schema_violation", f"missing {', '.join(missing)}")
    unknown = sorted(set(document) - KNOWN_FIELDS)
    if unknown:
        raise WireError("schema_violation", f"unknown field {unknown[0]}")
    if document["v"] != WIRE_VERSION or isinstance(document["v"], bool):
        raise WireError("schema_violation", f"v must be {WIRE_VERSION}")
    device, seq, ts = document["device"], document["seq"], document["ts"]
    if not isinstance(device, str) or not DEVICE_ID_PATTERN.match(device):
        raise WireError("schema_violation", "device must be a device id")
    if isinstance(seq, bool) or not isinstance(seq, int) or not 0 <= seq <= MAX_SEQ:
        raise WireError("schema_violation", "seq must be an integer from 0 to 2^63-1")
    if not isinstance(ts, str):
        raise WireError("schema_violation", "ts must be a string")
    try:
        timestamp = parse_timestamp(ts)
    except ValueError:
        raise WireError("schema_violation", "ts must be an RFC 3339 UTC date-time") from None
    temp_c = _number(document, "temp_c")
    return ReadingPayload(
        device=device,
        seq=seq,
        ts=timestamp,
        temp_c=temp_c,
        **{name: _number(document, name) for name in NUMBER_CHANNELS},
        **{name: _boolean(document, name) for name in BOOLEAN_CHANNELS},
    )


def encode_payload(reading: dict) -> bytes:
    """Canonical payload bytes: compact JSON, keys in the order given."""
    return orjson.dumps(reading)


def sign_compact(private_key: Ed25519PrivateKey, kid: str, payload: bytes) -> bytes:
    header = b64url_encode(orjson.dumps({"alg": ALGORITHM, "kid": kid})).encode("ascii")
    signing_input = header + b"." + b64url_encode(payload).encode("ascii")
    return signing_input + b"." + b64url_encode(private_key.sign(signing_input)).encode("ascii")


def sign_reading(private_key: Ed25519PrivateKey, reading: dict) -> bytes:
    """Sign a reading payload dict (must contain ``device``) as a compact JWS."""
    return sign_compact(private_key, reading["device"], encode_payload(reading))


def topic_for(device_id: str) -> str:
    return TOPIC_PREFIX + device_id


def device_from_topic(topic: str) -> str | None:
    if not topic.startswith(TOPIC_PREFIX):
        return None
    return topic[len(TOPIC_PREFIX) :] or None
