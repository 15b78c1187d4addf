"""The device wire format: compact JWS (RFC 7515) signed with EdDSA (RFC 8037).

Pure functions, no Django: the simulator, the ingest path and outside tools
share them. Parsing never raises anything but ``WireError``, whose ``reason``
is one of the rejection codes stored by the ingest path.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

# Re-exported: devices and the simulator speak of the wire format, not of JWS.
from ledger.jws import JwsError
from ledger.jws import SignedMessage as SignedMessage
from ledger.jws import b64url_decode as b64url_decode
from ledger.jws import b64url_encode as b64url_encode
from ledger.jws import parse_compact as parse_jws
from ledger.jws import sign_compact as sign_jws
from ledger.jws import verify_signature as verify_signature

WIRE_VERSION = 1
MAX_MESSAGE_BYTES = 4096
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
    r"^([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]{1,9})?([Zz]|\+00:00)\Z"
)


# The wire format's errors are the JWS errors plus the payload's reasons.
WireError = JwsError


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


def parse_compact(token: bytes) -> SignedMessage:
    """A device message split and decoded; the signature is not checked yet."""
    if len(token) > MAX_MESSAGE_BYTES:
        raise WireError("oversized", f"{len(token)} bytes, limit {MAX_MESSAGE_BYTES}")
    message = parse_jws(token)
    if not DEVICE_ID_PATTERN.match(message.kid):
        raise WireError("malformed_jws", "kid must be a device id")
    return message


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
    return sign_jws(private_key, {"kid": kid}, payload)


def sign_reading(private_key: Ed25519PrivateKey, reading: dict) -> bytes:
    """Sign a reading payload dict (must contain ``device``) as a compact JWS."""
    return sign_compact(private_key, reading["device"], encode_payload(reading))


def topic_for(device_id: str) -> str:
    return TOPIC_PREFIX + device_id


def device_from_topic(topic: str) -> str | None:
    if not topic.startswith(TOPIC_PREFIX):
        return None
    return topic[len(TOPIC_PREFIX) :] or None
