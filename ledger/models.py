from __future__ import annotations

from django.db import models


class Entry(models.Model):
    """One log entry: opaque signed bytes (a JWS), pending until sequenced.

    The row is written once and never updated: sealing records the entry's
    index in ``LogIndex`` and removes it from ``PendingEntry``, two narrow
    tables, instead of rewriting this wide row and its indexes.
    """

    data = models.BinaryField()
    leaf_hash = models.BinaryField(max_length=32, db_index=True)
    kind = models.CharField(max_length=48, db_index=True, help_text="What the bytes are")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "entries"

    def __str__(self) -> str:
        index = self.index
        return f"{self.kind} #{index if index is not None else 'pending'}"

    @property
    def index(self) -> int | None:
        """The entry's index in the log; None while pending. Querysets that read
        it for many entries should ``select_related("sealed")``."""
        try:
            return self.sealed.index
        except LogIndex.DoesNotExist:
            return None


# Neither table below has a foreign-key constraint: PostgreSQL checks one by
# locking the referenced entry row, a write per entry on the ingest and
# sealing hot paths. Only the ledger writes them: an entry and its pending row
# in one transaction, the index row by the single sequencer from the pending
# rows it removes in the same transaction.


class PendingEntry(models.Model):
    """An appended entry that the sequencer has not sealed yet.

    A queue rather than "entries above the highest sealed id": ids are drawn
    before the appending transaction commits, so an entry can become visible
    after entries with higher ids were sealed; its row here waits until then.
    The leaf hash rides along so that sealing reads only this narrow table.
    """

    entry = models.OneToOneField(
        Entry,
        primary_key=True,
        on_delete=models.CASCADE,
        db_constraint=False,
        related_name="pending",
    )
    leaf_hash = models.BinaryField(max_length=32)

    def __str__(self) -> str:
        return f"entry {self.entry_id} pending"


class LogIndex(models.Model):
    """The position of a sealed entry in the log: indices are contiguous from 0."""

    # "index" is an SQL keyword; the column name spares raw SQL the quoting.
    index = models.BigIntegerField(primary_key=True, db_column="log_index")
    entry = models.OneToOneField(
        Entry, on_delete=models.CASCADE, db_constraint=False, related_name="sealed"
    )

    class Meta:
        verbose_name_plural = "log indices"

    def __str__(self) -> str:
        return f"entry {self.entry_id} at index {self.index}"


class TreeChunk(models.Model):
    """Up to 256 consecutive perfect-subtree hashes of one tree level.

    Node (level, i) lives in chunk (level, i // 256) at byte offset
    (i % 256) * 32: a proof's O(log n) nodes come from O(log n) rows, and
    sealing a batch rewrites only the chunks at the growing right edge.
    """

    # (level, chunk) packed into one indexed integer: a proof's chunks are
    # then one "key IN (...)" index scan instead of an OR of pairs.
    key = models.BigIntegerField(unique=True)
    level = models.PositiveSmallIntegerField()
    chunk = models.BigIntegerField()
    hashes = models.BinaryField()

    def __str__(self) -> str:
        return f"level {self.level} chunk {self.chunk}"


class LogState(models.Model):
    """The single row the sequencer locks: only one process seals at a time."""

    size = models.BigIntegerField(default=0)
    root_hash = models.BinaryField(max_length=32)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"log of {self.size} entries"


class Checkpoint(models.Model):
    """A signed note (C2SP tlog-checkpoint) over the tree at ``size``."""

    size = models.BigIntegerField(unique=True)
    root_hash = models.BinaryField(max_length=32)
    note = models.TextField(help_text="The signed note exactly as signed")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-size"]
        get_latest_by = "size"

    def __str__(self) -> str:
        return f"checkpoint at size {self.size}"


class Cosignature(models.Model):
    """A witness's C2SP cosignature line on a checkpoint."""

    checkpoint = models.ForeignKey(
        Checkpoint, on_delete=models.CASCADE, related_name="cosignatures"
    )
    witness = models.CharField(max_length=200)
    signature_line = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["checkpoint", "witness"], name="one_cosignature_per_witness"
            )
        ]

    def __str__(self) -> str:
        return f"{self.witness} on {self.checkpoint}"


class WitnessState(models.Model):
    """What the log knows of one configured witness (C2SP tlog-witness client).

    ``size`` is the tree size the witness last cosigned, as far as the log
    knows: the next push proves consistency from there. ``lease_until`` lets
    one pusher at a time talk to a witness without holding a transaction open
    across the HTTP call; ``next_attempt_at`` spaces out retries of a failing one.
    """

    vkey = models.CharField(max_length=400, unique=True)
    name = models.CharField(max_length=200)
    url = models.CharField(max_length=500, help_text="Submission URL prefix")
    size = models.BigIntegerField(null=True, blank=True)
    failures = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"witness {self.name} at size {self.size}"
