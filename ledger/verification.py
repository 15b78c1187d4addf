"""``verify_ledger``: the log checked on its own terms and against the apps' copies."""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterator

from ledger.checkers import EntryRow, Problem, checkers_for
from ledger.checkpoint import CheckpointError, parse_checkpoint
from ledger.jws import JwsError, parse_compact, verify_signature
from ledger.log_key import log_signer
from ledger.merkle import (
    MerkleAccumulator,
    consistency_node_ids,
    consistency_proof,
    leaf_hash,
    verify_consistency,
)
from ledger.models import Checkpoint, Entry, LogIndex, LogState, TreeChunk
from ledger.note import NoteError, open_note
from ledger.platform_entries import platform_public_key
from ledger.storage import CHUNK_WIDTH, load_nodes, node_getter

BATCH = 10_000


class StoredNodes:
    """Stored subtree hashes read chunk by chunk in order: memory O(log n)."""

    def __init__(self) -> None:
        self.current: dict[int, tuple[int, bytes]] = {}

    def get(self, level: int, index: int) -> bytes | None:
        chunk = index // CHUNK_WIDTH
        cached = self.current.get(level)
        if cached is None or cached[0] != chunk:
            row = TreeChunk.objects.filter(level=level, chunk=chunk).values_list("hashes").first()
            cached = (chunk, bytes(row[0]) if row else b"")
            self.current[level] = cached
        offset = (index % CHUNK_WIDTH) * 32
        return cached[1][offset : offset + 32] or None


class LedgerVerifier:
    """Walks the log once, in index order, and yields every problem found."""

    def __init__(self) -> None:
        self.entries_checked = 0
        self.checkpoints_checked = 0

    def run(self) -> Iterator[Problem]:
        state = LogState.objects.filter(pk=1).first()
        size = state.size if state else 0
        checkpoints = {c.size: c for c in Checkpoint.objects.order_by("size")}
        accumulator = MerkleAccumulator()
        stored = StoredNodes()
        if 0 in checkpoints:
            yield from self._check_checkpoint(checkpoints[0], accumulator.root())
        expected = 0
        for batch, kinds in self._batches():
            for row in batch:
                if row.index != expected:
                    yield Problem(expected, f"missing: the next sealed entry is {row.index}")
                    return
                if leaf_hash(row.data) != row.leaf_hash:
                    yield Problem(row.index, "stored leaf hash is not SHA-256(0x00 || entry bytes)")
                for node in accumulator.append(leaf_hash(row.data)):
                    if stored.get(node.level, node.index) != node.hash:
                        yield Problem(
                            node.index << node.level,
                            f"stored subtree hash at level {node.level} index {node.index} "
                            "is not the hash of the entries below it",
                        )
                        return
                expected += 1
                if expected in checkpoints:
                    yield from self._check_checkpoint(checkpoints[expected], accumulator.root())
            yield from self._check_signatures(batch)
            yield from self._check_with_apps(batch, kinds)
            self.entries_checked += len(batch)
        if expected != size:
            yield Problem(expected, f"the log state says {size} entries, {expected} are sealed")
        yield from self._check_unsequenced(expected)
        yield from self._check_consistency(list(checkpoints.values()))

    def _batches(self) -> Iterator[tuple[list[EntryRow], dict[int, str]]]:
        """Sealed entries in index order, with each entry's kind by entry id."""
        rows = (
            LogIndex.objects.order_by("index")
            .values_list("index", "entry_id", "entry__data", "entry__leaf_hash", "entry__kind")
            .iterator(chunk_size=BATCH)
        )
        while batch := list(itertools.islice(rows, BATCH)):
            yield (
                [EntryRow(i, pk, bytes(data), bytes(leaf)) for i, pk, data, leaf, _ in batch],
                {pk: kind for _, pk, _, _, kind in batch},
            )

    def _check_unsequenced(self, size: int) -> Iterator[Problem]:
        """An entry neither sealed nor queued would never be sealed: its
        reading would stay out of the log for good."""
        lost = list(
            Entry.objects.filter(sealed__isnull=True, pending__isnull=True)
            .order_by("id")
            .values_list("id", flat=True)[:10]
        )
        if lost:
            yield Problem(
                size,
                f"entries with ids {', '.join(map(str, lost))} are neither sealed nor waiting "
                "to be sealed",
            )

    def _check_checkpoint(self, checkpoint: Checkpoint, root: bytes) -> Iterator[Problem]:
        self.checkpoints_checked += 1
        where = checkpoint.size - 1 if checkpoint.size else 0
        try:
            text = open_note(checkpoint.note, [log_signer().verifier()]).text
            parsed = parse_checkpoint(text)
        except (NoteError, CheckpointError) as error:
            yield Problem(where, f"checkpoint at size {checkpoint.size}: {error}")
            return
        if (parsed.size, parsed.root_hash) != (checkpoint.size, bytes(checkpoint.root_hash)):
            yield Problem(
                where, f"checkpoint at size {checkpoint.size}: signed text differs from row"
            )
        if parsed.root_hash != root:
            yield Problem(
                where,
                f"checkpoint at size {checkpoint.size} signs a root the entries do not produce",
            )

    def _check_signatures(self, batch: list[EntryRow]) -> Iterator[Problem]:
        """Platform entries must verify with the log key; apps check their own."""
        log_key, log_name = platform_public_key(), log_signer().name
        for row in batch:
            try:
                message = parse_compact(row.data)
                if message.kid == log_name:
                    verify_signature(message, log_key)
            except JwsError as error:
                yield Problem(row.index, f"entry is not a valid JWS: {error.detail}")

    def _check_with_apps(self, batch: list[EntryRow], kinds: dict[int, str]) -> Iterator[Problem]:
        by_kind: dict[str, list[EntryRow]] = defaultdict(list)
        for row in batch:
            by_kind[kinds[row.entry_id]].append(row)
        for kind, rows in by_kind.items():
            for checker in checkers_for(kind):
                yield from checker(rows)

    def _check_consistency(self, checkpoints: list[Checkpoint]) -> Iterator[Problem]:
        # The stored nodes were proven equal to the recomputed ones above.
        for older, newer in itertools.pairwise(checkpoints):
            get_node = node_getter(load_nodes(consistency_node_ids(older.size, newer.size)))
            proof = consistency_proof(older.size, newer.size, get_node)
            if not verify_consistency(
                older.size, newer.size, proof, bytes(older.root_hash), bytes(newer.root_hash)
            ):
                yield Problem(
                    max(newer.size - 1, 0),
                    f"checkpoints at sizes {older.size} and {newer.size} are not consistent",
                )
