"""The log: append entries, seal them into the tree, sign checkpoints, prove."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone

from ledger.bulk import binary_cursor, insert_returning_ids, insert_rows
from ledger.checkpoint import format_checkpoint
from ledger.log_key import log_signer
from ledger.merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    MerkleAccumulator,
    consistency_node_ids,
    consistency_proof,
    inclusion_node_ids,
    inclusion_proof,
    leaf_hash,
)
from ledger.models import Checkpoint, Entry, LogIndex, LogState, PendingEntry
from ledger.note import open_note, sign_note
from ledger.storage import load_nodes, node_getter, right_edge_ids, store_nodes

logger = logging.getLogger(__name__)


class LedgerError(ValueError):
    pass


@dataclass(frozen=True)
class SealReport:
    sealed: int
    size: int
    checkpoint: Checkpoint | None
    busy: bool = False


def entries_append(*, items: list[tuple[bytes, str]]) -> list[int]:
    """Add pending entries (data, kind); their ids. Call inside the transaction
    that stores what the entries prove, so both commit or neither does."""
    now = timezone.now()
    leaves = [leaf_hash(data) for data, _ in items]
    # No savepoint: the caller's transaction is the unit (see above); this
    # only makes a call outside one atomic too.
    with transaction.atomic(savepoint=False):
        ids = insert_returning_ids(
            Entry,
            ("data", "leaf_hash", "kind", "created_at"),
            [(data, leaf, kind, now) for (data, kind), leaf in zip(items, leaves, strict=True)],
        )
        insert_rows(PendingEntry, ("entry", "leaf_hash"), list(zip(ids, leaves, strict=True)))
    return ids


def entry_append(*, data: bytes, kind: str) -> Entry:
    with transaction.atomic(savepoint=False):
        entry = Entry.objects.create(data=data, leaf_hash=leaf_hash(data), kind=kind)
        PendingEntry.objects.create(entry=entry, leaf_hash=entry.leaf_hash)
    return entry


def _locked_state() -> LogState | None:
    """The log state row, locked; None if another sequencer holds it.

    The row lock makes sealing single-writer across processes: a second
    sequencer skips instead of assigning the same indices again (PostgreSQL).
    SQLite has no row locks; its IMMEDIATE transactions serialise writers.
    """
    LogState.objects.get_or_create(pk=1, defaults={"root_hash": EMPTY_ROOT})
    return LogState.objects.select_for_update(skip_locked=True).filter(pk=1).first()


def _sequence_pending(first_index: int, limit: int) -> list[bytes]:
    """Give up to ``limit`` pending entries, lowest ids first, the indices from
    ``first_index`` on; their leaf hashes in index order. Call with the log
    state locked."""
    if connection.vendor == "postgresql":
        # One statement takes the batch off the queue and records its indices:
        # no entry ids travel to the client and back, and an entry committing
        # meanwhile cannot leave the queue without being sequenced (the whole
        # statement sees one snapshot). The hashes come back as one value:
        # decoding 50,000 rows costs the client more than the server's sort.
        with binary_cursor() as cursor:
            # The planner cannot know the batch's size before it runs: without
            # these it spills the batch's sorts to disk and compiles the plan.
            cursor.execute("SET LOCAL work_mem = '64MB'")
            cursor.execute("SET LOCAL jit = off")
            cursor.execute(
                "WITH taken AS (DELETE FROM ledger_pendingentry WHERE entry_id <="
                " (SELECT max(entry_id) FROM (SELECT entry_id FROM ledger_pendingentry"
                " ORDER BY entry_id LIMIT %s) AS batch)"
                " RETURNING entry_id, leaf_hash),"
                " numbered AS (SELECT entry_id, leaf_hash,"
                " %s + row_number() OVER (ORDER BY entry_id) - 1 AS log_index FROM taken),"
                " recorded AS (INSERT INTO ledger_logindex (log_index, entry_id)"
                " SELECT log_index, entry_id FROM numbered)"
                " SELECT string_agg(leaf_hash, '' ORDER BY log_index) FROM numbered",
                [limit, first_index],
            )
            (joined,) = cursor.fetchone()
        joined = joined or b""
        return [joined[i : i + HASH_SIZE] for i in range(0, len(joined), HASH_SIZE)]
    pending = list(
        PendingEntry.objects.order_by("entry_id").values_list("entry_id", "leaf_hash")[:limit]
    )
    if pending:
        # SQLite's IMMEDIATE transaction holds the write lock: no entry can
        # commit between this read and the delete.
        PendingEntry.objects.filter(entry_id__lte=pending[-1][0]).delete()
        insert_rows(
            LogIndex,
            ("index", "entry"),
            [(first_index + offset, entry_id) for offset, (entry_id, _) in enumerate(pending)],
        )
    return [bytes(leaf) for _, leaf in pending]


def _sign_checkpoint(size: int, root_hash: bytes) -> Checkpoint:
    text = format_checkpoint(log_signer().name, size, root_hash)
    return Checkpoint.objects.create(
        size=size, root_hash=root_hash, note=sign_note(text, log_signer())
    )


def log_seal(*, batch_size: int = 50_000) -> SealReport:
    """Sequence pending entries in batches, each ending in a signed checkpoint."""
    sealed = 0
    checkpoint = None
    while True:
        with transaction.atomic():
            state = _locked_state()
            if state is None:
                return SealReport(sealed, -1, checkpoint, busy=True)
            pending = _sequence_pending(state.size, batch_size)
            if pending:
                state.size, state.root_hash = _extend_tree(state.size, pending)
                state.save(update_fields=["size", "root_hash", "updated_at"])
                sealed += len(pending)
            if not Checkpoint.objects.filter(size=state.size).exists():
                checkpoint = _sign_checkpoint(state.size, bytes(state.root_hash))
        if len(pending) < batch_size:
            return SealReport(sealed, state.size, checkpoint)


def _extend_tree(size: int, leaf_hashes: list[bytes]) -> tuple[int, bytes]:
    get_node = node_getter(load_nodes(right_edge_ids(size)))
    accumulator = MerkleAccumulator.from_nodes(size, get_node)
    store_nodes(accumulator.extend_runs(leaf_hashes))
    return accumulator.size, accumulator.root()


def checkpoint_latest() -> Checkpoint | None:
    return Checkpoint.objects.order_by("-size").first()


def checkpoint_with_cosignatures(checkpoint: Checkpoint) -> str:
    """The signed note with every witness cosignature line appended."""
    lines = [line.signature_line.rstrip("\n") for line in checkpoint.cosignatures.all()]
    return checkpoint.note + "".join(f"{line}\n" for line in lines if line)


# Checkpoints are never removed, so a size once seen signed stays valid; this
# spares a proof request its second query.
_signed_sizes: set[int] = set()


def _check_size(size: int) -> None:
    if size in _signed_sizes:
        return
    if not Checkpoint.objects.filter(size=size).exists():
        raise LedgerError(f"no checkpoint at tree size {size}")
    _signed_sizes.add(size)


def inclusion_proof_for(index: int, size: int) -> list[bytes]:
    """Proof that entry ``index`` is in the tree of a signed checkpoint ``size``."""
    _check_size(size)
    if not 0 <= index < size:
        raise LedgerError(f"index {index} is not in a tree of size {size}")
    get_node = node_getter(load_nodes(inclusion_node_ids(index, size)))
    return inclusion_proof(index, size, get_node)


def consistency_proof_for(size1: int, size2: int) -> list[bytes]:
    _check_size(size2)
    if not 0 <= size1 <= size2:
        raise LedgerError(f"size1 {size1} must be between 0 and size2 {size2}")
    get_node = node_getter(load_nodes(consistency_node_ids(size1, size2)))
    return consistency_proof(size1, size2, get_node)


def entry_by_leaf_hash(leaf: bytes) -> Entry | None:
    return (
        Entry.objects.filter(leaf_hash=leaf, sealed__isnull=False)
        .select_related("sealed")
        .order_by("sealed__index")
        .first()
    )


def verify_checkpoint_note(note: str) -> str:
    """The checkpoint text if the log's own signature on ``note`` verifies."""
    return open_note(note, [log_signer().verifier()]).text
