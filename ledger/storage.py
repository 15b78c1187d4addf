"""Perfect-subtree hashes in chunks of 256 per level (see ``TreeChunk``)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from ledger.merkle import HASH_SIZE, GetNode, Node
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


def load_chunks(node_ids: Iterable[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
    """The chunks holding these nodes, in one query."""
    wanted = {_chunk_of(level, index) for level, index in node_ids}
    rows = _chunks(wanted).values_list("level", "chunk", "hashes") if wanted else []
    return {(level, chunk): bytes(hashes) for level, chunk, hashes in rows}


def node_getter(chunks: dict[tuple[int, int], bytes]) -> GetNode:
    """A ``get_node`` over preloaded chunks that fetches any chunk it lacks."""

    def get_node(level: int, index: int) -> bytes:
        key = _chunk_of(level, index)
        if key not in chunks:
            chunks.update(load_chunks([(level, index)]))
        offset = (index % CHUNK_WIDTH) * HASH_SIZE
        value = chunks.get(key, b"")[offset : offset + HASH_SIZE]
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


def store_nodes(nodes: list[Node]) -> None:
    """Append newly completed nodes to their chunks.

    Nodes complete in index order per level, so each chunk only ever grows
    at its end; anything else means the stored tree and the log disagree.
    """
    by_chunk: dict[tuple[int, int], list[Node]] = defaultdict(list)
    for node in nodes:
        by_chunk[_chunk_of(node.level, node.index)].append(node)
    existing = {(row.level, row.chunk): row for row in _chunks(by_chunk)} if by_chunk else {}
    to_create, to_update = [], []
    for (level, chunk), chunk_nodes in by_chunk.items():
        row = existing.get((level, chunk))
        hashes = bytes(row.hashes) if row else b""
        for node in sorted(chunk_nodes, key=lambda n: n.index):
            expected_offset = (node.index % CHUNK_WIDTH) * HASH_SIZE
            if len(hashes) != expected_offset:
                raise RuntimeError(
                    f"tree storage out of step at level {level} index {node.index}: "
                    f"chunk holds {len(hashes) // HASH_SIZE} hashes"
                )
            hashes += node.hash
        if row:
            row.hashes = hashes
            to_update.append(row)
        else:
            to_create.append(
                TreeChunk(key=chunk_key(level, chunk), level=level, chunk=chunk, hashes=hashes)
            )
    TreeChunk.objects.bulk_create(to_create)
    TreeChunk.objects.bulk_update(to_update, ["hashes"])
