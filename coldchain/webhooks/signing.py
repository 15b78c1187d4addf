"""The webhook signature: HMAC-SHA256 of "<timestamp>.<body>" under the endpoint's secret.

Sent as ``Coldchain-Webhook-Signature: v1=<64 hex digits>``; a header may
carry several comma-separated signatures (one per secret while a secret is
being replaced), and a receiver accepts the request if any one matches.
Standard library only: this is also the receiver's reference implementation.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Iterable

HEADER_ID = "Coldchain-Webhook-Id"
HEADER_TIMESTAMP = "Coldchain-Webhook-Timestamp"
HEADER_SIGNATURE = "Coldchain-Webhook-Signature"
SCHEME = "v1"
DEFAULT_TOLERANCE_S = 300

_HEX_SHA256 = re.compile(r"[0-9a-f]{64}")
# Unix seconds, digits only: the text is signed as sent, so "+12" or " 12"
# must not be read as 12.
_TIMESTAMP = re.compile(r"[0-9]{1,15}")


def webhook_signature(secret: str, timestamp: int | str, body: bytes) -> str:
    """The hex HMAC-SHA256 of ``f"{timestamp}.".encode() + body`` keyed by the secret's UTF-8."""
    message = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header_format(signatures: Iterable[str]) -> str:
    return ",".join(f"{SCHEME}={signature}" for signature in signatures)


def signature_header_parse(header: str) -> list[str]:
    """The v1 signatures in a signature header; items of other schemes
    (a later version) and malformed items are skipped, never an error."""
    signatures = []
    for item in header.split(","):
        scheme, equals, value = item.strip().partition("=")
        if equals and scheme == SCHEME and _HEX_SHA256.fullmatch(value):
            signatures.append(value)
    return signatures


def webhook_signature_verify(
    secret: str,
    timestamp: int | str,
    body: bytes,
    header: str,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
    now: float | None = None,
) -> bool:
    """Whether a request is authentic and fresh: ``header`` holds a v1
    signature of ``timestamp`` and ``body`` (the raw bytes received, before
    any JSON parsing) under ``secret``, and ``timestamp`` (Unix seconds) is
    within ``tolerance_s`` of ``now`` (default: the clock), so a recorded
    request cannot be replayed later."""
    timestamp = str(timestamp)
    if not _TIMESTAMP.fullmatch(timestamp):
        return False
    now = time.time() if now is None else now
    if abs(now - int(timestamp)) > tolerance_s:
        return False
    expected = webhook_signature(secret, timestamp, body)
    return any(hmac.compare_digest(expected, given) for given in signature_header_parse(header))
