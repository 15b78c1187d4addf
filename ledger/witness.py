"""A C2SP transparency-log witness (https://c2sp.org/tlog-witness), without HTTP.

A witness belongs to another stakeholder than the log it watches: it keeps
its own key and its own state (a small SQLite file, never the platform's
database) and answers ``add-checkpoint`` requests. For every log it knows it
records the latest checkpoint it cosigned, and it cosigns a new checkpoint
only if a consistency proof shows that the new tree extends the recorded one,
so that no two parties can be shown different histories under its name.

Request body (tlog-witness, "add-checkpoint")::

    old <size the client believes the witness has cosigned>\\n
    <consistency proof hash, base64>\\n        (0 to 63 lines)
    \\n
    <signed checkpoint note>

Outcomes, each with the spec's status code (:class:`WitnessError` subclasses):

* 400 malformed body, ``old`` above the checkpoint size, a proof with old 0;
* 404 the checkpoint's origin is not a log this witness follows;
* 403 no signature on the note verifies with the log's key(s);
* 409 ``old`` is not the size the witness last cosigned (body: that size,
  ``text/x.tlog.size``), or the same size arrives with another root hash;
* 422 the consistency proof does not verify;
* 200 one cosignature/v1 line (c2sp.org/tlog-cosignature) on the checkpoint.

A fork (same size, other root; or a proof that does not verify) and a shrink
(a validly signed checkpoint smaller than the one cosigned) are refused, logged
at ERROR with both sizes and roots, and the request is kept as evidence.

Check and persist are one SQLite ``BEGIN IMMEDIATE`` transaction under a
process lock, so two concurrent requests can never both advance from the same
recorded size (the rollback race the spec describes).

Stdlib and ``cryptography`` only: no Django, so it can be tested and run
without the platform.
"""

from __future__ import annotations

import base64
import logging
import re
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from ledger.checkpoint import MAX_TREE_SIZE, Checkpoint, CheckpointError, parse_checkpoint
from ledger.cosignature import CosignatureV1Signer, new_cosigner
from ledger.keyfiles import write_key_file_once
from ledger.merkle import HASH_SIZE, verify_consistency
from ledger.note import (
    ALG_COSIGNATURE_V1,
    InvalidSignatureError,
    MalformedNoteError,
    NoteError,
    UnverifiedNoteError,
    Verifier,
    decode_base64,
    format_signature_line,
    generate_key,
    new_verifier,
    open_note,
    split_note,
)

__all__ = [
    "MAX_PROOF_LINES",
    "SIZE_CONTENT_TYPE",
    "AddCheckpointRequest",
    "BadProofError",
    "BadSignatureError",
    "ConflictError",
    "LogRecord",
    "MalformedRequestError",
    "UnknownLogError",
    "Witness",
    "WitnessError",
    "WitnessResponse",
    "WitnessStore",
    "format_add_checkpoint",
    "load_or_create_witness_key",
    "log_verifiers",
    "parse_add_checkpoint",
]

logger = logging.getLogger(__name__)

#: "The client MUST NOT send more than 63 consistency proof lines" (tlog-witness).
MAX_PROOF_LINES = 63
#: Content type of a 409 response body: the witness's size and a newline (tlog-witness).
SIZE_CONTENT_TYPE = "text/x.tlog.size"
#: Refused requests kept as evidence of misbehaviour; older ones are dropped
#: so that anyone replaying old checkpoints cannot fill the disk.
MAX_EVIDENCE_ROWS = 1000

_OLD_LINE_RE = re.compile(r"old (0|[1-9][0-9]*)")


# --------------------------------------------------------------------------- errors


class WitnessError(Exception):
    """A refused request; ``status`` is the HTTP status tlog-witness prescribes."""

    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def response(self) -> WitnessResponse:
        return WitnessResponse(self.status, "text/plain; charset=utf-8", f"{self.message}\n")


class MalformedRequestError(WitnessError):
    status = 400


class UnknownLogError(WitnessError):
    status = 404


class BadSignatureError(WitnessError):
    status = 403


class ConflictError(WitnessError):
    """409: the body is the size the witness last cosigned, whatever the cause."""

    status = 409

    def __init__(self, message: str, known_size: int) -> None:
        super().__init__(message)
        self.known_size = known_size

    def response(self) -> WitnessResponse:
        return WitnessResponse(self.status, SIZE_CONTENT_TYPE, f"{self.known_size}\n")


class BadProofError(WitnessError):
    status = 422


@dataclass(frozen=True)
class WitnessResponse:
    status: int
    content_type: str
    body: str


# --------------------------------------------------------------------------- request format


@dataclass(frozen=True)
class AddCheckpointRequest:
    old_size: int
    proof: tuple[bytes, ...]
    note: str


def parse_add_checkpoint(body: bytes | str) -> AddCheckpointRequest:
    """Split an add-checkpoint body into old size, proof hashes and the signed
    note (tlog-witness, "add-checkpoint"). The note is not opened here.
    Raises :class:`MalformedRequestError`."""
    if isinstance(body, bytes | bytearray):
        try:
            body = bytes(body).decode("utf-8")
        except UnicodeDecodeError:
            raise MalformedRequestError("request body is not UTF-8") from None
    # The header lines are never empty, so the first blank line ends them; the
    # note after it has its own blank line before its signatures.
    head, blank, note = body.partition("\n\n")
    if not blank:
        raise MalformedRequestError("no blank line between the proof and the checkpoint")
    old_line, *proof_lines = head.split("\n")
    match = _OLD_LINE_RE.fullmatch(old_line)
    if match is None or len(match.group(1)) > 19 or int(match.group(1)) > MAX_TREE_SIZE:
        raise MalformedRequestError("the first line must be 'old <size>'")
    if len(proof_lines) > MAX_PROOF_LINES:
        raise MalformedRequestError(f"more than {MAX_PROOF_LINES} consistency proof lines")
    proof = []
    for line in proof_lines:
        try:
            digest = decode_base64(line)
        except ValueError:
            raise MalformedRequestError("a proof line is not base64") from None
        if len(digest) != HASH_SIZE:
            raise MalformedRequestError(f"a proof hash is not {HASH_SIZE} bytes")
        proof.append(digest)
    old_size = int(match.group(1))
    if old_size == 0 and proof:
        # "The proof MUST be empty if the old size is zero."
        raise MalformedRequestError("old size 0 takes no consistency proof")
    return AddCheckpointRequest(old_size, tuple(proof), note)


def format_add_checkpoint(old_size: int, proof: Iterable[bytes], signed_note: str) -> bytes:
    """The request body a log sends (the inverse of :func:`parse_add_checkpoint`)."""
    lines = [f"old {old_size}"] + [base64.b64encode(h).decode("ascii") for h in proof]
    return ("\n".join(lines) + "\n\n" + signed_note).encode("utf-8")


# --------------------------------------------------------------------------- keys


def log_verifiers(vkeys: Iterable[str], origin: str | None = None) -> dict[str, list[Verifier]]:
    """The logs a witness follows: origin -> verifiers of the log's key(s).

    Each log key is a C2SP vkey (type 0x01). Its origin is the key's name, as
    tlog-checkpoint recommends, unless ``origin`` names it (for logs whose key
    name differs from their origin line). Raises ``ValueError`` for a bad vkey.
    """
    logs: dict[str, list[Verifier]] = {}
    for vkey in vkeys:
        try:
            verifier = new_verifier(vkey.strip())
        except NoteError as exc:
            raise ValueError(f"bad log vkey {vkey!r}: {exc}") from None
        logs.setdefault(origin or verifier.name, []).append(verifier)
    return logs


def load_or_create_witness_key(
    path: Path,
    name: str | None = None,
    skey: str | None = None,
    *,
    default_name: str | None = None,
) -> tuple[CosignatureV1Signer, bool]:
    """The witness's cosigning key: from ``skey`` (a C2SP signer key string)
    if given, else from the file at ``path``, created on first use with the
    name ``name`` or else ``default_name``. Returns ``(signer, created)``.

    A key whose name is not an explicit ``name`` is an error: a witness's
    name is part of its identity (the key ID hashes it).
    """
    created = False
    if not skey:
        if not path.exists():
            new_name = name or default_name
            if not new_name:
                raise ValueError(f"no witness key in {path}; give a name to create one")
            created = _create_key_file(path, new_name)
        skey = path.read_text().strip()
    try:
        signer = new_cosigner(skey)
    except NoteError as exc:
        raise ValueError(f"bad witness signer key: {exc}") from None
    if name and signer.name != name:
        raise ValueError(f"the witness key is named {signer.name!r}, not {name!r}")
    return signer, created


def _create_key_file(path: Path, name: str) -> bool:
    skey, _ = generate_key(name, alg=ALG_COSIGNATURE_V1)
    return write_key_file_once(path, skey)


# --------------------------------------------------------------------------- state


@dataclass(frozen=True)
class LogRecord:
    """The latest checkpoint the witness cosigned for one log."""

    origin: str
    size: int
    root_hash: bytes
    note: str


_SCHEMA = """
CREATE TABLE IF NOT EXISTS cosigned (
    origin TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    root_hash TEXT NOT NULL,    -- base64
    note TEXT NOT NULL,         -- the signed checkpoint as received
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS evidence (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    origin TEXT NOT NULL,
    kind TEXT NOT NULL,         -- fork, inconsistent, shrink
    cosigned_size INTEGER,
    cosigned_root_hash TEXT,
    size INTEGER NOT NULL,
    root_hash TEXT NOT NULL,
    request TEXT NOT NULL,
    received_at TEXT NOT NULL
);
"""


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class WitnessStore:
    """The witness's SQLite file: one row per log, plus refused evidence.

    One connection per store, guarded by a lock; ``BEGIN IMMEDIATE`` takes
    SQLite's write lock at the start of :meth:`transaction`, so reads inside
    it see the latest commit and two stores (two processes) on the same file
    serialise as well. ``synchronous=FULL``: the spec wants the new
    checkpoint persisted before the cosignature leaves.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(
            self.path, timeout=30, isolation_level=None, check_same_thread=False
        )
        self._lock = threading.Lock()
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)

    @contextmanager
    def transaction(self) -> Iterator[WitnessStore]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def latest(self, origin: str) -> LogRecord | None:
        row = self._db.execute(
            "SELECT size, root_hash, note FROM cosigned WHERE origin = ?", (origin,)
        ).fetchone()
        if row is None:
            return None
        return LogRecord(origin, row[0], base64.b64decode(row[1]), row[2])

    def save(self, origin: str, size: int, root_hash: bytes, note: str) -> None:
        self._db.execute(
            "INSERT INTO cosigned (origin, size, root_hash, note, updated_at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (origin) DO UPDATE SET size = excluded.size,"
            " root_hash = excluded.root_hash, note = excluded.note,"
            " updated_at = excluded.updated_at",
            (origin, size, _b64(root_hash), note, _now()),
        )

    def record_evidence(
        self, kind: str, known: LogRecord | None, checkpoint: Checkpoint, request: str
    ) -> None:
        self._db.execute(
            "INSERT INTO evidence (origin, kind, cosigned_size, cosigned_root_hash, size,"
            " root_hash, request, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                checkpoint.origin,
                kind,
                known.size if known else None,
                _b64(known.root_hash) if known else None,
                checkpoint.size,
                _b64(checkpoint.root_hash),
                request,
                _now(),
            ),
        )
        self._db.execute(
            "DELETE FROM evidence WHERE id <= (SELECT MAX(id) FROM evidence) - ?",
            (MAX_EVIDENCE_ROWS,),
        )

    def evidence(self) -> list[dict]:
        """Every kept refusal, oldest first (for operators and tests)."""
        with self._lock:
            cursor = self._db.execute(
                "SELECT origin, kind, cosigned_size, cosigned_root_hash, size, root_hash,"
                " request, received_at FROM evidence ORDER BY id"
            )
            names = [column[0] for column in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def get(self, origin: str) -> LogRecord | None:
        """:meth:`latest` outside a transaction (for operators and tests)."""
        with self._lock:
            return self.latest(origin)

    def close(self) -> None:
        with self._lock:
            self._db.close()


# --------------------------------------------------------------------------- the witness


class Witness:
    """Checks and cosigns checkpoints of the logs in ``logs`` (origin -> verifiers).

    ``before_persist`` is called inside the check-and-persist transaction,
    after the checks pass; tests use it to widen the race window.
    """

    def __init__(
        self,
        signer: CosignatureV1Signer,
        logs: dict[str, list[Verifier]],
        store: WitnessStore,
        *,
        before_persist: Callable[[], None] | None = None,
    ) -> None:
        self.signer = signer
        self.logs = {origin: list(verifiers) for origin, verifiers in logs.items()}
        self.store = store
        self.before_persist = before_persist

    @property
    def vkey(self) -> str:
        return self.signer.vkey

    def respond(self, body: bytes) -> WitnessResponse:
        """The HTTP answer to an add-checkpoint body: never raises a WitnessError."""
        try:
            lines = self.add_checkpoint(body)
        except WitnessError as refusal:
            return refusal.response()
        return WitnessResponse(200, "text/plain; charset=utf-8", lines)

    def add_checkpoint(self, body: bytes | str) -> str:
        """Check the request, record the checkpoint and return the cosignature
        line(s). Raises a :class:`WitnessError` subclass on refusal."""
        request = parse_add_checkpoint(body)
        checkpoint, text = self._open(request.note)
        # The checks that need no state come before the lock, except those a
        # shrink would trip: a shrink must be reported whatever the old size.
        with self.store.transaction() as store:
            known = store.latest(checkpoint.origin)
            refusal = self._check(request, checkpoint, known)
            if refusal is None:
                if self.before_persist is not None:
                    self.before_persist()
                if known is None or checkpoint.size > known.size:
                    store.save(
                        checkpoint.origin, checkpoint.size, checkpoint.root_hash, request.note
                    )
            elif refusal[1]:
                store.record_evidence(refusal[1], known, checkpoint, _as_text(body))
        if refusal is not None:
            raise refusal[0]
        # Signed after the commit: the spec wants the state persisted first.
        line = format_signature_line(
            self.signer.name, self.signer.key_hash, self.signer.sign(text.encode("utf-8"))
        )
        logger.info(
            "witness: cosigned %s at size %d root %s",
            checkpoint.origin,
            checkpoint.size,
            _b64(checkpoint.root_hash),
        )
        return line

    def _open(self, note: str) -> tuple[Checkpoint, str]:
        try:
            text, _ = split_note(note)
        except MalformedNoteError as exc:
            raise MalformedRequestError(f"bad checkpoint note: {exc}") from None
        origin = text.split("\n", 1)[0]
        verifiers = self.logs.get(origin)
        if not verifiers:
            raise UnknownLogError(f"unknown log {origin!r}")
        try:
            # Signatures by unknown keys (other witnesses, other log keys) are
            # ignored, as the spec requires; one bad signature by a known key
            # rejects the note, as Go's note.Open does.
            opened = open_note(note, verifiers)
        except (UnverifiedNoteError, InvalidSignatureError):
            raise BadSignatureError(f"no valid signature by a key of log {origin!r}") from None
        except NoteError as exc:
            raise MalformedRequestError(f"bad checkpoint note: {exc}") from None
        try:
            checkpoint = parse_checkpoint(opened.text)
        except CheckpointError as exc:
            raise MalformedRequestError(f"bad checkpoint: {exc}") from None
        return checkpoint, opened.text

    def _check(
        self, request: AddCheckpointRequest, checkpoint: Checkpoint, known: LogRecord | None
    ) -> tuple[WitnessError, str] | None:
        """None if the checkpoint may be cosigned, else (refusal, evidence kind or "")."""
        known_size = known.size if known else 0
        origin, size, root = checkpoint.origin, checkpoint.size, checkpoint.root_hash
        if known is not None and size < known.size:
            # Validly signed and smaller than what we cosigned: the log shrank
            # (or someone replays an old checkpoint). Never cosign it: a
            # cosignature says "the largest tree I have seen".
            logger.error(
                "witness: SHRINK of log %s refused: cosigned size %d root %s, "
                "got size %d root %s (old %d)",
                origin, known.size, _b64(known.root_hash), size, _b64(root), request.old_size,
            )  # fmt: skip
            if request.old_size > size:
                return MalformedRequestError(f"old size {request.old_size} > size {size}"), "shrink"
            return ConflictError("smaller than the cosigned checkpoint", known.size), "shrink"
        if request.old_size > size:
            return MalformedRequestError(f"old size {request.old_size} > size {size}"), ""
        if request.old_size != known_size:
            return ConflictError(
                f"old size {request.old_size}, cosigned {known_size}", known_size
            ), ""
        if known is not None and size == known.size:
            if root == known.root_hash:
                return None  # the same checkpoint again: cosign it again
            logger.error(
                "witness: FORK of log %s refused: cosigned size %d root %s, "
                "got the same size with root %s",
                origin, known.size, _b64(known.root_hash), _b64(root),
            )  # fmt: skip
            return ConflictError("same size, different root hash", known.size), "fork"
        if known is None or known.size == 0:
            return None  # nothing recorded yet: the first checkpoint is trusted as signed
        if not verify_consistency(known.size, size, list(request.proof), known.root_hash, root):
            logger.error(
                "witness: INCONSISTENT checkpoint of log %s refused (fork or bad proof): "
                "cosigned size %d root %s, got size %d root %s, proof of %d hashes",
                origin, known.size, _b64(known.root_hash), size, _b64(root), len(request.proof),
            )  # fmt: skip
            return BadProofError(
                f"consistency proof from {known.size} to {size} does not verify"
            ), "inconsistent"
        return None


def _as_text(body: bytes | str) -> str:
    return body if isinstance(body, str) else bytes(body).decode("utf-8", "replace")
