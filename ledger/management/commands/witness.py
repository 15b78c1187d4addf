"""``manage.py witness``: a C2SP tlog-witness as a long-running process.

Thin on purpose: the protocol is :class:`ledger.witness.Witness`, the HTTP
front :class:`ledger.witness_server.WitnessHTTPServer`. The process touches
no platform database: its state is a SQLite file in ``--state``.
"""

from __future__ import annotations

import signal
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from ledger.witness import Witness, WitnessStore, load_or_create_witness_key, log_verifiers
from ledger.witness_server import WitnessHTTPServer


class Command(BaseCommand):
    help = (
        "Run a C2SP tlog-witness (POST <prefix>/add-checkpoint): cosign checkpoints of the "
        "configured log(s) that provably extend the last one cosigned; refuse forks and shrinks."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--state",
            type=Path,
            default=settings.WITNESS_STATE_DIR,
            help="Directory of the witness's own state (witness.sqlite3) and key file",
        )
        parser.add_argument(
            "--key-file", type=Path, help="Witness signer key file (default: <state>/witness.key)"
        )
        parser.add_argument(
            "--name",
            help=f"Witness name for a new key (default {settings.WITNESS_NAME}); "
            "if given, an existing key must have this name",
        )
        parser.add_argument(
            "--log-vkey",
            action="append",
            dest="log_vkeys",
            help="C2SP vkey of a log to witness (repeatable; default: WITNESS_LOG_VKEYS, "
            "else this platform's own log key)",
        )
        parser.add_argument(
            "--origin",
            default=settings.WITNESS_LOG_ORIGIN,
            help="The log's origin line, if it differs from its vkey's name",
        )
        parser.add_argument("--listen", default=settings.WITNESS_LISTEN, help="host:port")
        parser.add_argument(
            "--prefix", default=settings.WITNESS_PREFIX, help="Submission URL prefix path"
        )

    def handle(self, *args, **options) -> None:
        self.stopping = False
        state_dir: Path = options["state"]
        try:
            signer, created = load_or_create_witness_key(
                options["key_file"] or state_dir / "witness.key",
                options["name"],
                settings.WITNESS_SIGNING_KEY,
                default_name=settings.WITNESS_NAME,
            )
            logs = log_verifiers(self._log_vkeys(options), options["origin"])
            host, port = _address(options["listen"])
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        store = WitnessStore(state_dir / "witness.sqlite3")
        witness = Witness(signer, logs, store)
        self.server = WitnessHTTPServer((host, port), witness, options["prefix"])
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self.on_signal)
        if created:
            self.stdout.write(f"witness: created a new key in {state_dir}")
        self.stdout.write(f"witness: vkey {signer.vkey}")
        for origin, verifiers in logs.items():
            keys = ", ".join(v.vkey for v in verifiers)  # type: ignore[attr-defined]
            self.stdout.write(f"witness: follows log {origin} ({keys})")
        self.stdout.write(f"witness: listening on {self.server.url}")
        self.stdout.flush()
        try:
            while not self.stopping:
                self.serve_one()
        finally:
            finished = self.server.close()
            store.close()
        self.stdout.write(
            f"witness: stopped after {self.server.connections} connections"
            + ("" if finished else " (requests in progress were cut short)")
        )

    def serve_one(self) -> bool:
        """Serve one connection if one arrives within half a second (so a
        signal is noticed quickly); True if one did."""
        return self.server.serve_once(timeout=0.5)

    def on_signal(self, signum: int, frame: object) -> None:
        self.stopping = True

    def _log_vkeys(self, options: dict) -> list[str]:
        if options["log_vkeys"]:
            return options["log_vkeys"]
        if settings.WITNESS_LOG_VKEYS:
            return list(settings.WITNESS_LOG_VKEYS)
        # A demo convenience: witness this platform's own log. A real witness
        # is given the log's vkey, fetched from GET /api/v1/ledger/vkey.
        from ledger.log_key import log_vkey

        return [log_vkey()]


def _address(listen: str) -> tuple[str, int]:
    host, _, port = listen.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"--listen must be host:port, got {listen!r}")
    return host, int(port)
