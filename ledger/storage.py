"""Perfect-subtree hashes in chunks of 256 per level (see ``TreeChunk``)."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection

from ledger.bulk import binary_cursor, insert_rows, update_by_key
from ledger.merkle import HASH_SIZE, GetNode, NodeRun
from ledger.models import TreeChunk

CHUNK_WIDTH = 256


class MissingNodeError(LookupError):
    pass


LEVEL_SHIFT = 56  # chunk numbers stay below 2**56 for any log of fewer than 2**64 entries


def _chunk_of(level: int, index: int) -> tuple[int, int]:
    return level, index // CHUNK_WIDTH


def chunk_key(level: int, chunk: int) -> int:
    return (level << LEVEL_SHIFT) | chunk


def _chunks(keys: Iterable[tuple[int, int]]):
    return TreeChunk.objects.filter(key__in=[chunk_key(level, chunk) for level, chunk in keys])


def load_nodes(node_ids: Iterable[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
    """The hashes of these nodes, in one query that reads 32 bytes per node.

    A proof needs about 2 log2(n) nodes from as many chunks; fetching whole
    chunks (8 KiB each) would move a hundred times more bytes than needed.
    """
    ids = sorted(set(node_ids))
    if not ids:
        return {}
    if connection.vendor == "postgresql":
        # LIMIT 1 keeps the lateral subquery from being flattened into a join
        # that the planner answers with a scan of every chunk (its estimate
        # for a small table): one index probe per node, whatever the log's size.
        with binary_cursor() as cursor:
            cursor.execute(
                "SELECT q.level, q.index, s.hash"
                " FROM unnest(%b::int[], %b::bigint[], %b::bigint[], %b::int[])"
                " AS q(level, index, key, offset_)"
                " CROSS JOIN LATERAL (SELECT substring(c.hashes FROM q.offset_ + 1"
                f" FOR {HASH_SIZE}) AS hash"
                " FROM ledger_treechunk c WHERE c.key = q.key LIMIT 1) AS s",
                [
                    [level for level, _ in ids],
                    [index for _, index in ids],
                    [chunk_key(*_chunk_of(level, index)) for level, index in ids],
                    [(index % CHUNK_WIDTH) * HASH_SIZE for _, index in ids],
                ],
            )
            rows = cursor.fetchall()
        return {(level, index): bytes(value) for level, index, value in rows}
    chunks = {
        (level, chunk): bytes(hashes)
        for level, chunk, hashes in _chunks({_chunk_of(*node) for node in ids}).values_list(
            "level", "chunk", "hashes"
        )
    }
    nodes = {}
    for level, index in ids:
        offset = (index % CHUNK_WIDTH) * HASH_SIZE
        nodes[(level, index)] = chunks.get(_chunk_of(level, index), b"")[
            offset : offset + HASH_SIZE
        ]
    return nodes


def node_getter(nodes: dict[tuple[int, int], bytes]) -> GetNode:
    """A ``get_node`` over preloaded nodes that fetches any node it lacks."""

    def get_node(level: int, index: int) -> bytes:
        if (level, index) not in nodes:
            nodes.update(load_nodes([(level, index)]))
        value = nodes.get((level, index), b"")
        if len(value) != HASH_SIZE:
            raise MissingNodeError(f"no stored hash for node (level {level}, index {index})")
        return value

    return get_node


def right_edge_ids(size: int) -> list[tuple[int, int]]:
    """The perfect subtrees that make up a tree of ``size`` leaves, left to right."""
    ids, start = [], 0
    for level in range(size.bit_length() - 1, -1, -1):
        if size & (1 << level):
            ids.append((level, start >> level))
            start += 1 << level
    return ids


def store_nodes(runs: Iterable[NodeRun]) -> None:
    """Append newly completed nodes, given as runs of one level, to their chunks.

    Nodes complete in index order per level, so each chunk only ever grows
    at its end; anything else means the stored tree and the log disagree.
    """
    appended: dict[tuple[int, int], tuple[int, bytes]] = {}
    for level, first, hashes in runs:
        start, end = first, first + len(hashes)
        while start < end:
            chunk = start // CHUNK_WIDTH
            stop = min(end, (chunk + 1) * CHUNK_WIDTH)
            if (level, chunk) in appended:
                raise RuntimeError(f"two runs of nodes for level {level} chunk {chunk}")
            appended[(level, chunk)] = (start, b"".join(hashes[start - first : stop - first]))
            start = stop
    existing = {(row.level, row.chunk): row for row in _chunks(appended)} if appended else {}
    to_create, to_update = [], []
    for (level, chunk), (start, hashes) in appended.items():
        row = existing.get((level, chunk))
        stored = bytes(row.hashes) if row else b""
        if len(stored) != (start % CHUNK_WIDTH) * HASH_SIZE:
            raise RuntimeError(
                f"tree storage out of step at level {level} index {start}: "
                f"chunk holds {len(stored) // HASH_SIZE} hashes"
            )
        if row:
            row.hashes = stored + hashes
            to_update.append(row)
        else:
            to_create.append((chunk_key(level, chunk), level, chunk, hashes))
    insert_rows(TreeChunk, ("key", "level", "chunk", "hashes"), to_create)
    update_by_key(TreeChunk, ("hashes",), to_update)
