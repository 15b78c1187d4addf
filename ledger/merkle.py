"""RFC 9162 section 2.1 Merkle tree: hashing, proofs and their verification.

Pure Python (hashlib only), no Django: the ledger's storage, the witnesses and
any outside auditor use the same functions.

Conventions (as in transparency-dev/merkle): hashes are raw 32-byte ``bytes``;
leaf indices are 0-based; a tree "size" is its number of leaves; proofs list
their hashes from the leaf (or the old root) upwards, as RFC 9162 2.1.3.1 and
2.1.4.1 define them.

Storage model. Proof construction never sees the leaves. It asks a callable
``get_node(level, index)`` for the hash of a *perfect* subtree: level 0 holds
the leaf hashes, and node ``(level, index)`` covers leaves
``[index * 2**level, (index + 1) * 2**level)``. Such a node never changes once
its last leaf is appended, so a log can store each one as it completes
(:class:`MerkleAccumulator` hands them out) and answer any proof with
O(log n) reads. Proofs only ask for nodes that are complete within the tree
size in question; the one subtree on the right edge of a tree whose size is
not a power of two is composed from perfect nodes by :func:`subtree_hash`.

Verification has two families: ``verify_*`` return a bool and never raise,
``check_*`` and :func:`root_from_inclusion_proof` raise a :class:`ProofError`
subclass that says what is wrong ("wrong proof size 3, want 4").
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from typing import NamedTuple

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "GetNode",
    "InMemoryNodes",
    "InvalidArgumentError",
    "MerkleAccumulator",
    "Node",
    "NodeRun",
    "ProofError",
    "ProofSizeError",
    "RootMismatchError",
    "check_consistency",
    "check_inclusion",
    "consistency_node_ids",
    "consistency_proof",
    "consistency_proof_from_leaves",
    "inclusion_node_ids",
    "inclusion_proof",
    "inclusion_proof_from_leaves",
    "leaf_hash",
    "node_hash",
    "root",
    "root_at",
    "root_from_inclusion_proof",
    "subtree_hash",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32

# RFC 9162 2.1.1: domain separation between leaves and interior nodes. Without
# it an interior node's two children, concatenated, would pass for a leaf's
# data (a second preimage of the root); see tests/ledger/test_merkle.py.
_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"

_sha256 = hashlib.sha256

#: MTH({}) = SHA-256() -- the root of the empty tree (RFC 9162 2.1.1).
EMPTY_ROOT: bytes = _sha256(b"").digest()

#: ``get_node(level, index)`` returns the hash of a complete perfect subtree.
GetNode = Callable[[int, int], bytes]


# --------------------------------------------------------------------------- errors


class ProofError(ValueError):
    """Base class: a proof does not prove what it is claimed to prove, or the
    claim itself is malformed."""


class InvalidArgumentError(ProofError):
    """An index, size or hash is out of range or of the wrong length (also a
    ``get_node`` answer that is not a 32-byte hash)."""


class ProofSizeError(ProofError):
    """The proof has the wrong number of hashes for the claimed sizes."""


class RootMismatchError(ProofError):
    """The proof is well formed but leads to a different root."""

    def __init__(self, what: str, got: bytes, want: bytes) -> None:
        super().__init__(f"{what} mismatch: computed {got.hex()}, want {want.hex()}")
        self.got = got
        self.want = want


# --------------------------------------------------------------------------- hashing


def leaf_hash(data: bytes) -> bytes:
    """MTH({d}) = SHA-256(0x00 || d) -- the hash of one leaf (RFC 9162 2.1.1)."""
    return _sha256(_LEAF_PREFIX + bytes(data)).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right) -- an interior node (RFC 9162 2.1.1).

    Hashes whatever it is given (the RFC 6962 known-answer test feeds it
    4-byte strings); proof code passes 32-byte hashes only.
    """
    return _sha256(_NODE_PREFIX + left + right).digest()


def root(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH(D[n]) over the given leaf hashes (RFC 9162 2.1.1); EMPTY_ROOT if none.

    Iterative, level by level: pairs are hashed left to right and an odd node
    at the end of a level moves up unchanged. That is the RFC's recursive
    split at the largest power of two below n, computed bottom up: the
    trailing node of each level is the root of the right edge's incomplete
    subtree.

    Raises InvalidArgumentError if an element is not 32 bytes long.
    """
    level = [bytes(h) for h in leaf_hashes]
    if not level:
        return EMPTY_ROOT
    if {len(h) for h in level} != {HASH_SIZE}:
        raise InvalidArgumentError(f"every leaf hash must be {HASH_SIZE} bytes")
    sha, prefix = _sha256, _NODE_PREFIX
    while len(level) > 1:
        odd = level[-1] if len(level) & 1 else None
        pairs = zip(level[0::2], level[1::2], strict=False)  # drops the odd node
        level = [sha(prefix + a + b).digest() for a, b in pairs]
        if odd is not None:
            level.append(odd)
    return level[0]


# --------------------------------------------------------------------------- helpers


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _require_count(name: str, value: object) -> int:
    if not _is_count(value):
        raise InvalidArgumentError(f"{name} must be a non-negative int, got {value!r}")
    return value  # type: ignore[return-value]


def _require_hash(name: str, value: object) -> bytes:
    if not isinstance(value, bytes | bytearray | memoryview):
        raise InvalidArgumentError(f"{name} must be bytes, got {type(value).__name__}")
    value = bytes(value)
    if len(value) != HASH_SIZE:
        raise InvalidArgumentError(f"{name} has {len(value)} bytes, want {HASH_SIZE}")
    return value


def _require_proof(proof: object) -> list[bytes]:
    if isinstance(proof, bytes | bytearray | memoryview | str) or proof is None:
        raise InvalidArgumentError("proof must be a sequence of hashes")
    try:
        items = list(proof)  # type: ignore[call-overload]
    except TypeError:
        raise InvalidArgumentError("proof must be a sequence of hashes") from None
    return [_require_hash(f"proof[{i}]", h) for i, h in enumerate(items)]


def _fetch(get_node: GetNode, level: int, index: int) -> bytes:
    value = get_node(level, index)
    if not isinstance(value, bytes | bytearray | memoryview) or len(value) != HASH_SIZE:
        raise InvalidArgumentError(f"get_node({level}, {index}) did not return a 32-byte hash")
    return bytes(value)


def _largest_power_of_two_below(n: int) -> int:
    """k with k < n <= 2k (RFC 9162 2.1.1's split point); requires n >= 2."""
    return 1 << ((n - 1).bit_length() - 1)


# --------------------------------------------------------------------------- node-addressed


def subtree_hash(begin: int, end: int, get_node: GetNode) -> bytes:
    """MTH(D[begin:end]) composed from perfect subtrees read with ``get_node``.

    Precondition: 0 <= begin < end and ``begin`` is a multiple of the
    smallest power of two >= end - begin, i.e. [begin, end) is a subtree of
    the RFC 9162 tree of size ``end`` (always true for begin = 0). The range
    is cut into perfect subtrees of decreasing size, one per set bit of
    end - begin, and those are folded from the right, because the RFC splits
    every range at its largest power of two (RFC 9162 2.1.1). At most
    log2(end - begin) + 1 reads; a perfect range is a single read.
    """
    _require_count("begin", begin)
    _require_count("end", end)
    length = end - begin
    if length <= 0:
        raise InvalidArgumentError(f"empty or reversed range [{begin}, {end})")
    if begin & ((1 << (length - 1).bit_length()) - 1):
        raise InvalidArgumentError(f"[{begin}, {end}) is not a subtree of the log")
    parts = []
    level = length.bit_length()
    while level:
        level -= 1
        if length >> level & 1:
            parts.append(_fetch(get_node, level, begin >> level))
            begin += 1 << level
    acc = parts.pop()
    while parts:
        acc = node_hash(parts.pop(), acc)
    return acc


def root_at(size: int, get_node: GetNode) -> bytes:
    """The root of the tree of ``size`` leaves from stored nodes: at most
    log2(size) + 1 reads. EMPTY_ROOT for size 0."""
    _require_count("size", size)
    return subtree_hash(0, size, get_node) if size else EMPTY_ROOT


def inclusion_proof(index: int, size: int, get_node: GetNode) -> list[bytes]:
    """PATH(index, D[size]) of RFC 9162 2.1.3.1, read from stored nodes.

    Precondition: 0 <= index < size. ``get_node`` is only asked for perfect
    subtrees complete within ``size``; the sibling that covers the tree's
    incomplete right edge (there is at most one) is composed by
    :func:`subtree_hash`. Reads: at most 2 * ceil(log2(size)) (checked
    exhaustively up to size 1024 and by a property test up to 2**48).
    """
    _require_count("index", index)
    _require_count("size", size)
    if index >= size:
        raise InvalidArgumentError(f"index {index} out of range for tree size {size}")
    # Walk the RFC recursion top-down over D[begin:begin+n] and reverse at the
    # end: the RFC appends each level's sibling after the deeper ones.
    path: list[bytes] = []
    begin, n = 0, size
    while n > 1:
        k = _largest_power_of_two_below(n)
        if index - begin < k:
            # PATH(m, D[0:k]) : MTH(D[k:n]) -- the right part may be incomplete.
            path.append(subtree_hash(begin + k, begin + n, get_node))
            n = k
        else:
            # PATH(m - k, D[k:n]) : MTH(D[0:k]) -- the left part is perfect.
            level = k.bit_length() - 1
            path.append(_fetch(get_node, level, begin >> level))
            begin += k
            n -= k
    path.reverse()
    return path


def consistency_proof(size1: int, size2: int, get_node: GetNode) -> list[bytes]:
    """PROOF(size1, D[size2]) of RFC 9162 2.1.4.1, read from stored nodes.

    Precondition: 0 <= size1 <= size2. The proof is empty when size1 is 0
    (every tree extends the empty one; RFC 9162 only defines 0 < m < n) or
    size1 == size2. ``get_node`` is only asked for perfect subtrees complete
    within ``size2``. Reads: at most 2 * ceil(log2(size2)), as for
    :func:`inclusion_proof`.
    """
    _require_count("size1", size1)
    _require_count("size2", size2)
    if size1 > size2:
        raise InvalidArgumentError(f"size1 {size1} > size2 {size2}")
    if size1 == 0 or size1 == size2:
        return []
    # SUBPROOF(m, D[begin:begin+n], b), unrolled top-down, reversed at the end.
    proof: list[bytes] = []
    begin, m, n, have_root1 = 0, size1, size2, True
    while m != n:
        k = _largest_power_of_two_below(n)
        if m <= k:
            # SUBPROOF(m, D[0:k], b) : MTH(D[k:n])
            proof.append(subtree_hash(begin + k, begin + n, get_node))
            n = k
        else:
            # SUBPROOF(m - k, D[k:n], false) : MTH(D[0:k])
            level = k.bit_length() - 1
            proof.append(_fetch(get_node, level, begin >> level))
            begin += k
            m -= k
            n -= k
            have_root1 = False
    if not have_root1:
        # SUBPROOF(m, D[m], false) = {MTH(D[m])}; here D[m] is always a
        # perfect subtree (m == n only after the "m <= k" branch with m == k).
        proof.append(subtree_hash(begin, begin + m, get_node))
    proof.reverse()
    return proof


def _node_ids(build: Callable[[GetNode], object]) -> list[tuple[int, int]]:
    seen: dict[tuple[int, int], None] = {}

    def record(level: int, index: int) -> bytes:
        seen[(level, index)] = None
        return bytes(HASH_SIZE)

    build(record)
    return list(seen)


def inclusion_node_ids(index: int, size: int) -> list[tuple[int, int]]:
    """The (level, index) nodes :func:`inclusion_proof` reads, in read order,
    so that a storage layer can fetch them in one query."""
    return _node_ids(lambda get: inclusion_proof(index, size, get))


def consistency_node_ids(size1: int, size2: int) -> list[tuple[int, int]]:
    """The (level, index) nodes :func:`consistency_proof` reads, in read order."""
    return _node_ids(lambda get: consistency_proof(size1, size2, get))


# --------------------------------------------------------------------------- in memory


class InMemoryNodes:
    """Every perfect-subtree hash of a list of leaf hashes, for tests and small
    logs. Building costs O(n) hashes; :meth:`get_node` raises IndexError for a
    node that is not complete."""

    def __init__(self, leaf_hashes: Sequence[bytes]) -> None:
        level = [_require_hash(f"leaf_hashes[{i}]", h) for i, h in enumerate(leaf_hashes)]
        self.size = len(level)
        self.levels: list[list[bytes]] = [level]
        while len(level) > 1:
            pairs = zip(level[0::2], level[1::2], strict=False)  # drops the odd node
            level = [node_hash(a, b) for a, b in pairs]
            self.levels.append(level)

    def get_node(self, level: int, index: int) -> bytes:
        if level < 0 or index < 0 or level >= len(self.levels):
            raise IndexError(f"no complete node ({level}, {index})")
        return self.levels[level][index]


def inclusion_proof_from_leaves(index: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """:func:`inclusion_proof` for the tree of all ``leaf_hashes`` (O(n))."""
    nodes = InMemoryNodes(leaf_hashes)
    return inclusion_proof(index, nodes.size, nodes.get_node)


def consistency_proof_from_leaves(
    size1: int, size2: int, leaf_hashes: Sequence[bytes]
) -> list[bytes]:
    """:func:`consistency_proof` between prefixes of ``leaf_hashes`` (O(n))."""
    _require_count("size2", size2)
    if size2 > len(leaf_hashes):
        raise InvalidArgumentError(f"size2 {size2} > {len(leaf_hashes)} leaves")
    nodes = InMemoryNodes(leaf_hashes[:size2])
    return consistency_proof(size1, size2, nodes.get_node)


# --------------------------------------------------------------------------- appending


class Node(NamedTuple):
    """A perfect subtree's hash: covers leaves [index << level, (index + 1) << level)."""

    level: int
    index: int
    hash: bytes


class NodeRun(NamedTuple):
    """Consecutive perfect subtrees of one level: ``hashes[i]`` is node
    ``(level, first + i)``."""

    level: int
    first: int
    hashes: list[bytes]


def _peak_levels(size: int) -> list[int]:
    """The levels of the perfect subtrees that tile [0, size), largest first."""
    return [level for level in range(size.bit_length() - 1, -1, -1) if size >> level & 1]


class MerkleAccumulator:
    """The compact range [0, size): the roots of the perfect subtrees that
    tile the log, one per set bit of ``size`` (largest first). An append costs
    at most log2(n) node hashes (amortised one) and reports every node it
    completes, which is exactly what a store needs to keep for
    :func:`inclusion_proof` and :func:`consistency_proof`.

    Not thread-safe: a log has one sequencer, which owns its accumulator.
    """

    def __init__(self) -> None:
        self._size = 0
        self._peaks: list[bytes] = []

    @classmethod
    def from_nodes(cls, size: int, get_node: GetNode) -> MerkleAccumulator:
        """Resume at ``size`` from stored nodes (one read per set bit of size)."""
        _require_count("size", size)
        acc = cls()
        begin = 0
        for level in range(size.bit_length() - 1, -1, -1):
            if size >> level & 1:
                acc._peaks.append(_fetch(get_node, level, begin >> level))
                begin += 1 << level
        acc._size = size
        return acc

    @property
    def size(self) -> int:
        return self._size

    def append(self, leaf_hash: bytes) -> list[Node]:
        """Add one leaf hash; return the nodes it completes, bottom up: the
        leaf itself (level 0) and every parent that became perfect."""
        h = _require_hash("leaf_hash", leaf_hash)
        index = self._size
        created = [Node(0, index, h)]
        level = 0
        # Each trailing 1 bit of the old size is a peak of the same level as
        # the node being carried up: merge them (RFC 9162 2.1.1 node hash).
        while index >> level & 1:
            h = node_hash(self._peaks.pop(), h)
            level += 1
            created.append(Node(level, index >> level, h))
        self._peaks.append(h)
        self._size = index + 1
        return created

    def extend(self, leaf_hashes: Iterable[bytes]) -> list[Node]:
        """Append several leaf hashes; return all nodes completed, level by
        level from the leaves up, each level in index order (the same nodes
        as one :meth:`append` per leaf)."""
        return [
            Node(run.level, run.first + i, h)
            for run in self.extend_runs(leaf_hashes)
            for i, h in enumerate(run.hashes)
        ]

    def extend_runs(self, leaf_hashes: Iterable[bytes]) -> list[NodeRun]:
        """:meth:`extend`, with the completed nodes as one run per level.

        Hashes a level at a time: a sequencer sealing a batch spends its time
        hashing instead of walking the right edge once per leaf, and stores
        each run with a few byte joins instead of an object per node.
        """
        hashes = [_require_hash(f"leaf_hashes[{i}]", h) for i, h in enumerate(leaf_hashes)]
        old_size, new_size = self._size, self._size + len(hashes)
        old_peaks = dict(zip(_peak_levels(old_size), self._peaks, strict=True))
        new_peaks: dict[int, bytes] = {}
        runs: list[NodeRun] = []
        level, first = 0, old_size
        while hashes:
            runs.append(NodeRun(level, first, hashes))
            if new_size >> level & 1:
                # The last complete node of a level is a peak if nothing pairs it.
                new_peaks[level] = hashes[-1]
            if first & 1:
                # An odd first index: its left sibling is the old peak of this level.
                hashes = [old_peaks[level], *hashes]
                first -= 1
            hashes = [node_hash(a, b) for a, b in zip(hashes[0::2], hashes[1::2], strict=False)]
            level, first = level + 1, first >> 1
        self._peaks = [new_peaks.get(lv) or old_peaks[lv] for lv in _peak_levels(new_size)]
        self._size = new_size
        return runs

    def root(self) -> bytes:
        """MTH of the leaves appended so far (RFC 9162 2.1.1): the peaks folded
        from the right. O(log n) hashes."""
        if not self._peaks:
            return EMPTY_ROOT
        acc = self._peaks[-1]
        for peak in reversed(self._peaks[:-1]):
            acc = node_hash(peak, acc)
        return acc


# --------------------------------------------------------------------------- verification


def _inclusion_proof_size(index: int, size: int) -> int:
    # Levels below the point where the paths to `index` and to the last leaf
    # fork, plus one left sibling per 1 bit of `index` above it.
    inner = (index ^ (size - 1)).bit_length()
    return inner + (index >> inner).bit_count()


def root_from_inclusion_proof(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes]
) -> bytes:
    """The root that ``proof`` leads to from ``leaf_hash`` at ``index`` in a tree
    of ``size`` leaves (RFC 9162 2.1.3.2, steps 1-4).

    Preconditions: 0 <= index < size, all hashes 32 bytes. Raises
    InvalidArgumentError or ProofSizeError ("wrong proof size 3, want 4").
    """
    _require_count("index", index)
    _require_count("size", size)
    if index >= size:
        raise InvalidArgumentError(f"index {index} out of range for tree size {size}")
    r = _require_hash("leaf_hash", leaf_hash)
    path = _require_proof(proof)
    want = _inclusion_proof_size(index, size)
    if len(path) != want:
        raise ProofSizeError(f"wrong proof size {len(path)}, want {want}")
    fn, sn = index, size - 1  # step 2
    for p in path:  # step 4
        if sn == 0:  # 4a (cannot happen once the size is checked)
            raise ProofSizeError("proof longer than the path to the root")
        if fn & 1 or fn == sn:  # 4b: p is a left sibling
            r = node_hash(p, r)
            if not fn & 1:
                # fn is the last node of its level with no right sibling:
                # skip the levels where it moves up unchanged.
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:  # p is a right sibling
            r = node_hash(r, p)
        fn >>= 1  # 4c
        sn >>= 1
    if sn != 0:  # step 5
        raise ProofSizeError("proof shorter than the path to the root")
    return r


def check_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Raise a ProofError unless ``proof`` proves ``leaf_hash`` is leaf
    ``index`` of the tree of ``size`` leaves with root ``root`` (RFC 9162
    2.1.3.2)."""
    want = _require_hash("root", root)
    got = root_from_inclusion_proof(leaf_hash, index, size, proof)
    if got != want:
        raise RootMismatchError("root", got, want)


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """True iff ``proof`` proves ``leaf_hash`` is leaf ``index`` of the tree of
    ``size`` leaves with root ``root`` (RFC 9162 2.1.3.2). Never raises: any
    malformed input (index >= size, wrong proof length, hashes not 32 bytes)
    gives False."""
    try:
        check_inclusion(leaf_hash, index, size, proof, root)
    except ProofError:
        return False
    return True


def _consistency_proof_size(size1: int, size2: int) -> int:
    # Requires 0 < size1 < size2. The levels below size1's largest perfect
    # power of two are shared by both trees and never appear in the proof;
    # above them the proof is an inclusion proof of the last node of the old
    # tree, preceded by that node itself unless it is the old root.
    shift = (size1 & -size1).bit_length() - 1
    index = (size1 - 1) >> shift
    size = ((size2 - 1) >> shift) + 1
    seed = 0 if size1 == 1 << shift else 1
    return seed + _inclusion_proof_size(index, size)


def check_consistency(
    size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes
) -> None:
    """Raise a ProofError unless ``proof`` proves that the tree of ``size1``
    leaves with root ``root1`` is a prefix of the tree of ``size2`` leaves with
    root ``root2`` (RFC 9162 2.1.4.2).

    Beyond the RFC (which covers 0 < size1 < size2): size1 == size2 needs an
    empty proof and equal roots; size1 == 0 needs an empty proof and
    root1 == EMPTY_ROOT (transparency-dev/merkle accepts any root1 there).
    """
    _require_count("size1", size1)
    _require_count("size2", size2)
    first_hash = _require_hash("root1", root1)
    second_hash = _require_hash("root2", root2)
    path = _require_proof(proof)
    if size1 > size2:
        raise InvalidArgumentError(f"size1 {size1} > size2 {size2}: a log cannot shrink")
    if size1 == 0:
        if path:
            raise ProofSizeError(f"wrong proof size {len(path)}, want 0")
        if first_hash != EMPTY_ROOT:
            raise RootMismatchError("root1 of the empty tree", first_hash, EMPTY_ROOT)
        return
    if size1 == size2:
        if path:
            raise ProofSizeError(f"wrong proof size {len(path)}, want 0")
        if first_hash != second_hash:
            raise RootMismatchError("root2 at equal size", second_hash, first_hash)
        return
    want = _consistency_proof_size(size1, size2)
    if len(path) != want:  # also RFC step 1: an empty proof fails
        raise ProofSizeError(f"wrong proof size {len(path)}, want {want}")
    if size1 & (size1 - 1) == 0:  # step 2: first is an exact power of 2
        path.insert(0, first_hash)
    fn, sn = size1 - 1, size2 - 1  # step 3
    while fn & 1:  # step 4
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]  # step 5
    for c in path[1:]:  # step 6
        if sn == 0:  # 6a (cannot happen once the size is checked)
            raise ProofSizeError("proof longer than the path to the root")
        if fn & 1 or fn == sn:  # 6b
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1  # 6c
        sn >>= 1
    if sn != 0:  # step 7
        raise ProofSizeError("proof shorter than the path to the root")
    if fr != first_hash:
        raise RootMismatchError("root1", fr, first_hash)
    if sr != second_hash:
        raise RootMismatchError("root2", sr, second_hash)


def verify_consistency(
    size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes
) -> bool:
    """True iff ``proof`` proves the tree (size1, root1) is a prefix of the
    tree (size2, root2) (RFC 9162 2.1.4.2). Never raises: any malformed input
    (size1 > size2, wrong proof length, hashes not 32 bytes) gives False."""
    try:
        check_consistency(size1, size2, proof, root1, root2)
    except ProofError:
        return False
    return True
