import base64
import json
import os
import sys
from datetime import UTC, datetime, time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.dateparse import parse_date, parse_datetime

from ledger.evidence import EvidenceError, evidence_bundle, evidence_selector
from ledger.log_key import log_vkey
from ledger.verify import verify_bundle


def _moment(value: str, option: str) -> datetime:
    """An ISO 8601 date or date-time; naive values are UTC."""
    moment = parse_datetime(value)
    if moment is None:
        day = parse_date(value)
        if day is None:
            raise CommandError(f"{option} {value!r} is not an ISO 8601 date or date-time")
        moment = datetime.combine(day, time())
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _indices_from(path: str) -> list[int]:
    """Integers separated by whitespace or commas; ``#`` starts a comment; ``-`` is stdin."""
    text = sys.stdin.read() if path == "-" else Path(path).read_text()
    indices = []
    for line in text.splitlines():
        for word in line.split("#", 1)[0].replace(",", " ").split():
            if not word.isdigit():
                raise CommandError(f"{path}: {word!r} is not an entry index")
            indices.append(int(word))
    return indices


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(path)


class Command(BaseCommand):
    help = (
        "Write a self-contained evidence bundle (JSON) for ledger entries: their bytes, "
        "inclusion proofs against one checkpoint, the checkpoint with witness cosignatures, the "
        "log's verifier key, and the signing devices' keys with their registration entries. "
        "Verify it anywhere with: python -m ledger.verify BUNDLE --log-vkey VKEY"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--index", type=int, action="append", default=[], help="entry index (repeatable)"
        )
        parser.add_argument(
            "--indices-from",
            metavar="FILE",
            help="file of entry indices (whitespace or commas, # comments; - for stdin)",
        )
        parser.add_argument(
            "--device",
            action="append",
            default=[],
            help="all sealed readings of this device (repeatable; with --since/--until)",
        )
        parser.add_argument(
            "--select",
            action="append",
            default=[],
            metavar="NAME=VALUE",
            help="entries picked by an app's selector, e.g. reading=DEVICE#SEQ or "
            "vehicle=truck-001 (repeatable; with --since/--until)",
        )
        parser.add_argument("--since", help="selectors: from this time on (ISO 8601, inclusive)")
        parser.add_argument("--until", help="selectors: before this time (ISO 8601, exclusive)")
        parser.add_argument(
            "--size",
            type=int,
            help="tree size of the checkpoint to prove against (default: latest)",
        )
        parser.add_argument(
            "-o", "--output", default="-", help="bundle file to write (default: standard output)"
        )
        parser.add_argument(
            "--tlog-proof-dir",
            metavar="DIR",
            help="also write <index>.tlog-proof (C2SP tlog-proof) and <index>.entry (the entry "
            "bytes) for every entry of the bundle",
        )
        parser.add_argument(
            "--no-embedded-tlog-proofs",
            action="store_true",
            help="leave the per-entry tlog_proof text out of the bundle (smaller file)",
        )

    def handle(self, *args, **options) -> None:
        indices = list(options["index"])
        if options["indices_from"]:
            try:
                indices += _indices_from(options["indices_from"])
            except OSError as error:
                raise CommandError(f"cannot read {options['indices_from']}: {error}") from None
        selections = [("device", device) for device in options["device"]]
        for item in options["select"]:
            name, sep, value = item.partition("=")
            if not sep or not name or not value:
                raise CommandError(f"--select wants NAME=VALUE, got {item!r}")
            selections.append((name, value))
        since = _moment(options["since"], "--since") if options["since"] else None
        until = _moment(options["until"], "--until") if options["until"] else None
        if (since or until) and not selections:
            raise CommandError("--since and --until apply to --device and --select only")
        try:
            for name, value in selections:
                found = evidence_selector(name)(value, since, until)
                if not found:
                    raise CommandError(f"{name}={value} selects no sealed entries")
                indices += found
            if not indices:
                raise CommandError(
                    "select entries with --index, --indices-from, --device or --select"
                )
            full = evidence_bundle(indices, size=options["size"], tlog_proofs=True)
        except EvidenceError as error:
            raise CommandError(str(error)) from None

        # Never hand out evidence that does not verify.
        report = verify_bundle(full, log_vkey=log_vkey())
        if not report.verified:
            raise CommandError(f"the bundle does not verify: {report.failures[0]}")

        if options["tlog_proof_dir"]:
            directory = Path(options["tlog_proof_dir"])
            for item in full["entries"]:
                _write(directory / f"{item['index']}.tlog-proof", item["tlog_proof"])
                entry = directory / f"{item['index']}.entry"
                entry.write_bytes(base64.b64decode(item["data"], validate=True))
        bundle = full
        if options["no_embedded_tlog_proofs"]:
            bundle = {
                **full,
                "entries": [
                    {k: v for k, v in item.items() if k != "tlog_proof"} for item in full["entries"]
                ],
            }
        text = json.dumps(bundle, indent=2, ensure_ascii=False) + "\n"
        if options["output"] == "-":
            self.stdout.write(text, ending="")
            where = "standard output"
        else:
            _write(Path(options["output"]), text)
            where = options["output"]
        subjects = sum(1 for item in bundle["entries"] if item["role"] == "subject")
        name = "BUNDLE" if options["output"] == "-" else options["output"]
        self.stderr.write(
            f"evidence for {subjects} entries (+{len(bundle['entries']) - subjects} supporting) "
            f"against checkpoint size {bundle['checkpoint']['size']} written to {where}; verify "
            f"with: python -m ledger.verify {name} --log-vkey '{log_vkey()}'"
        )
