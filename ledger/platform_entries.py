"""Platform-signed entries: the log's own key signs what the platform decides.

Same compact JWS as device readings (one verification path for every entry),
with ``kid`` the log's key name and ``typ`` naming the kind.
"""

from __future__ import annotations

from datetime import UTC, datetime

import orjson

from ledger.jws import JwsError, parse_compact, sign_compact, verify_signature
from ledger.log_key import log_signer

TYP_PREFIX = "coldchain."
TYP_SUFFIX = "+jws"


def typ_for(kind: str) -> str:
    return f"{TYP_PREFIX}{kind}{TYP_SUFFIX}"


def platform_timestamp(moment: datetime) -> str:
    """``at`` as entries sign it: RFC 3339, UTC, milliseconds."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def platform_entry_sign(*, kind: str, claims: dict, at: datetime | None = None) -> bytes:
    """A compact JWS over ``{"kind", "at", **claims}`` signed with the log key.

    ``at`` defaults to now; pass it when the platform keeps the same instant
    elsewhere (a key's retirement) and both must be equal.
    """
    signer = log_signer()
    payload = {"kind": kind, "at": platform_timestamp(at or datetime.now(UTC)), **claims}
    return sign_compact(
        signer,
        {"kid": signer.name, "typ": typ_for(kind)},
        orjson.dumps(payload, option=orjson.OPT_SORT_KEYS),
    )


def platform_entry_open(token: bytes, public_key: bytes) -> dict:
    """The claims of a platform entry whose signature verifies, else ``JwsError``."""
    message = parse_compact(token)
    verify_signature(message, public_key)
    typ = message.header.get("typ", "")
    claims = orjson.loads(message.payload)
    if not isinstance(claims, dict) or typ != typ_for(str(claims.get("kind"))):
        raise JwsError("malformed_jws", f"typ {typ!r} does not name the entry's kind")
    return claims


def platform_public_key() -> bytes:
    """The log key's raw 32 bytes, as ``verify_signature`` takes them."""
    return log_signer().public_key
