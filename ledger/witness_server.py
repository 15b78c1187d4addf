"""HTTP front of a :class:`ledger.witness.Witness`: ``POST <prefix>/add-checkpoint``.

Stdlib ``http.server`` only, no Django: the witness runs apart from the
platform. HTTP/1.1 with a Content-Length on every response, so logs can keep
connections alive as tlog-witness recommends. The protocol logic and its
status codes live in :mod:`ledger.witness`; this module only moves bytes.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from ledger.witness import Witness, WitnessResponse

__all__ = ["MAX_BODY_BYTES", "WitnessHTTPServer"]

logger = logging.getLogger("ledger.witness")

#: 63 proof lines and a checkpoint with a hundred signatures fit in 20 KB;
#: anything much larger is not a request we could accept anyway.
MAX_BODY_BYTES = 256 * 1024


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "coldchain-witness"
    # Idle keep-alive connections are dropped after this many seconds.
    timeout = 30
    server: WitnessHTTPServer

    def do_POST(self) -> None:
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            self.close_connection = True  # we cannot tell where the next request starts
            self._send(_plain(HTTPStatus.LENGTH_REQUIRED, "Content-Length required"))
            return
        if int(length) > MAX_BODY_BYTES:
            self.close_connection = True  # the unread body would poison the connection
            self._send(_plain(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "request too large"))
            return
        body = self.rfile.read(int(length))
        if self.path.split("?", 1)[0] != self.server.endpoint:
            self._send(_plain(HTTPStatus.NOT_FOUND, "not found"))
            return
        with self.server.in_flight():
            self._send(self.server.witness.respond(body))

    def do_GET(self) -> None:
        if self.path.split("?", 1)[0] == self.server.endpoint:
            self._send(_plain(HTTPStatus.METHOD_NOT_ALLOWED, "use POST"), allow="POST")
        else:
            self._send(_plain(HTTPStatus.NOT_FOUND, "not found"))

    do_PUT = do_DELETE = do_PATCH = do_GET

    def _send(self, response: WitnessResponse, allow: str | None = None) -> None:
        payload = response.body.encode("utf-8")
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(payload)))
        if allow:
            self.send_header("Allow", allow)
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: object) -> None:
        # Refusals that matter are logged by the witness itself; access lines are debug.
        logger.debug("witness: %s %s", self.address_string(), format % args)


def _plain(status: HTTPStatus, text: str) -> WitnessResponse:
    return WitnessResponse(int(status), "text/plain; charset=utf-8", f"{text}\n")


class WitnessHTTPServer(ThreadingHTTPServer):
    """One thread per connection; :meth:`serve_once` lets a command loop and
    stop between connections; :meth:`close` waits for requests in progress."""

    daemon_threads = True  # idle keep-alive threads must not hold up exit
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], witness: Witness, prefix: str = "") -> None:
        self.witness = witness
        self.endpoint = prefix.rstrip("/") + "/add-checkpoint"
        self.connections = 0
        self._active = 0
        self._idle = threading.Condition()
        super().__init__(address, _Handler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}{self.endpoint}"

    def process_request(self, request, client_address) -> None:  # type: ignore[no-untyped-def]
        self.connections += 1
        super().process_request(request, client_address)

    def serve_once(self, timeout: float = 0.5) -> bool:
        """Accept one connection if one arrives within ``timeout``; True if one did."""
        before = self.connections
        self.timeout = timeout
        self.handle_request()
        return self.connections > before

    @contextmanager
    def in_flight(self) -> Iterator[None]:
        """Counts a request being answered, for :meth:`close`."""
        with self._idle:
            self._active += 1
        try:
            yield
        finally:
            with self._idle:
                self._active -= 1
                self._idle.notify_all()

    def close(self, grace_s: float = 10.0) -> bool:
        """Stop listening and wait up to ``grace_s`` for requests being
        answered; True if none was cut short. (State is safe either way: an
        interrupted request rolls back or has committed before answering.)"""
        self.server_close()
        deadline = time.monotonic() + grace_s
        with self._idle:
            while self._active:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._idle.wait(remaining)
        return True
