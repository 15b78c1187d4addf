"""One webhook POST: what came back, or why nothing did."""

from __future__ import annotations

import http.client
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

ERROR_MAX_CHARS = 500
# Enough of a response body to tell why a receiver refused, not a whole page.
_RESPONSE_EXCERPT_BYTES = 400


@dataclass(frozen=True)
class PostResult:
    status_code: int | None  # None: no HTTP response (refused, timeout, DNS, TLS)
    error: str
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    # A redirect would turn the POST into a GET and send the event elsewhere:
    # a 3xx counts as a failed attempt, the receiver must fix its URL.
    def redirect_request(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def _excerpt(response_body: bytes) -> str:
    return response_body[:_RESPONSE_EXCERPT_BYTES].decode("utf-8", "replace")


def webhook_post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> PostResult:
    """POST ``body``; never raises for anything the receiver or the network does."""
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)
    started = time.monotonic()

    def result(status_code: int | None, error: str) -> PostResult:
        elapsed_ms = round((time.monotonic() - started) * 1000)
        return PostResult(status_code, error[:ERROR_MAX_CHARS], elapsed_ms)

    try:
        with _opener.open(request, timeout=timeout) as response:
            response.read(_RESPONSE_EXCERPT_BYTES)
            return result(response.status, "")
    except urllib.error.HTTPError as exc:
        with exc:
            excerpt = _excerpt(exc.read(_RESPONSE_EXCERPT_BYTES))
            return result(exc.code, f"HTTP {exc.code}: {excerpt}")
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return result(None, f"{type(reason).__name__}: {reason}")
