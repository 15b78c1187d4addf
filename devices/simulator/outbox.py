"""The devices' durable outbox: store first, forward when the broker confirms.

Every signed message is committed here before it is handed to MQTT and
deleted only after the broker's PUBACK, so neither a broker outage nor a
crash of the simulator loses a reading: what is left is resent, oldest
first, on the next connection or the next start. The same transaction
records each device's last seq and the simulated clock, so a restart
continues the sequence instead of reusing numbers the platform has seen.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    -- AUTOINCREMENT never reuses an id, so id order is creation order even
    -- after the newest rows were acknowledged and deleted.
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    device TEXT NOT NULL,
    seq INTEGER NOT NULL,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS device_state (
    device TEXT PRIMARY KEY,
    last_seq INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class Pending:
    id: int
    topic: str
    payload: bytes


class Outbox:
    """One sqlite3 file in WAL mode, used from one thread."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        # isolation_level=None: transactions are explicit (BEGIN IMMEDIATE
        # below), so a batch of readings and the seq state commit together.
        self.db = sqlite3.connect(path, isolation_level=None, timeout=30)
        self.db.execute("PRAGMA journal_mode=WAL")
        # FULL: a committed reading survives a power cut, not only a crash.
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        self.db.close()

    def last_seqs(self) -> dict[str, int]:
        return dict(self.db.execute("SELECT device, last_seq FROM device_state"))

    def get_meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def enqueue(
        self,
        messages: Iterable[tuple[str, int, str, bytes]],
        last_seqs: dict[str, int],
        meta: dict[str, str] | None = None,
    ) -> int:
        """Store (device, seq, topic, payload) rows with the new seq state, atomically."""
        with self._transaction():
            cursor = self.db.executemany(
                "INSERT INTO outbox (device, seq, topic, payload) VALUES (?, ?, ?, ?)", messages
            )
            self.db.executemany(
                "INSERT INTO device_state (device, last_seq) VALUES (?, ?) "
                "ON CONFLICT (device) DO UPDATE SET last_seq = excluded.last_seq",
                last_seqs.items(),
            )
            if meta:
                self.db.executemany(
                    "INSERT INTO meta (key, value) VALUES (?, ?) "
                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    meta.items(),
                )
            return cursor.rowcount

    def pending(self, after_id: int, limit: int) -> list[Pending]:
        """Unacknowledged messages in creation order, starting after ``after_id``."""
        rows = self.db.execute(
            "SELECT id, topic, payload FROM outbox WHERE id > ? ORDER BY id LIMIT ?",
            (after_id, limit),
        )
        return [Pending(row_id, topic, bytes(payload)) for row_id, topic, payload in rows]

    def ack(self, ids: Iterable[int]) -> None:
        """The broker has the messages: forget them."""
        with self._transaction():
            self.db.executemany("DELETE FROM outbox WHERE id = ?", ((i,) for i in ids))

    def count(self) -> int:
        return self.db.execute("SELECT count(*) FROM outbox").fetchone()[0]

    def _transaction(self) -> _Transaction:
        return _Transaction(self.db)


class _Transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self.db.execute("COMMIT" if exc_type is None else "ROLLBACK")
