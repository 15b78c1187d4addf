"""ledger.merkle: RFC 9162 section 2.1 hashing, proofs and verification.

No database: plain functions. Published vectors come from transparency-dev/merkle
(Apache-2.0), stored under tests/ledger/testdata/ (see its README.md):

- testonly/constants.go            leaf inputs, node hashes, roots of sizes 0..8
- rfc6962/rfc6962_test.go          known-answer leaf, node and empty-tree hashes
- proof/verify_test.go             inclusion / consistency proofs, corruption probes
- testonly/reference_test.go       more inclusion / consistency proofs
- proof/proof_test.go              which stored nodes a proof reads
- testdata/{inclusion,consistency} the probes as JSON files with wantErr
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger import merkle
from ledger.merkle import (
    EMPTY_ROOT,
    InMemoryNodes,
    InvalidArgumentError,
    MerkleAccumulator,
    ProofError,
    ProofSizeError,
    RootMismatchError,
    check_consistency,
    check_inclusion,
    consistency_node_ids,
    consistency_proof,
    consistency_proof_from_leaves,
    inclusion_node_ids,
    inclusion_proof,
    inclusion_proof_from_leaves,
    leaf_hash,
    node_hash,
    root,
    root_at,
    root_from_inclusion_proof,
    subtree_hash,
    verify_consistency,
    verify_inclusion,
)

TESTDATA = Path(__file__).parent / "testdata"
VECTORS = json.loads((TESTDATA / "rfc6962_vectors.json").read_text())
UPSTREAM = TESTDATA / "upstream"
EXPECTED_ERRORS = json.loads((UPSTREAM / "expected_errors.json").read_text())

RFC_LEAVES = [leaf_hash(bytes.fromhex(x)) for x in VECTORS["leaf_inputs"]]

# A bigger log for property tests; perfect subtrees do not change as a log
# grows, so one store serves every size up to MAX_SIZE.
MAX_SIZE = 600
LEAVES = [leaf_hash(i.to_bytes(4, "big")) for i in range(MAX_SIZE)]
STORE = InMemoryNodes(LEAVES)
ROOTS = [EMPTY_ROOT]
_acc = MerkleAccumulator()
for _h in LEAVES:
    _acc.append(_h)
    ROOTS.append(_acc.root())

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def h(hex_str: str) -> bytes:
    return bytes.fromhex(hex_str)


def strict_get_node(size: int, calls: list[tuple[int, int]] | None = None):
    """A get_node over STORE that fails the test if a proof asks for a node
    that is not a complete perfect subtree of the tree of ``size`` leaves."""

    def get_node(level: int, index: int) -> bytes:
        assert level >= 0
        assert index >= 0
        assert (index + 1) << level <= size, f"node ({level}, {index}) incomplete at size {size}"
        if calls is not None:
            calls.append((level, index))
        return STORE.get_node(level, index)

    return get_node


def dict_get_node(stored: dict[tuple[int, int], bytes]):
    """get_node over a dict keyed (level, index), as a storage layer would be."""

    def get_node(level: int, index: int) -> bytes:
        return stored[(level, index)]

    return get_node


# --------------------------------------------------------------------------- reference
# RFC 9162 2.1.1, 2.1.3.1 and 2.1.4.1 written as literally as possible, to
# cross-check the iterative, node-addressed implementation.


def _split(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def ref_mth(d: list[bytes]) -> bytes:
    if not d:
        return hashlib.sha256(b"").digest()
    if len(d) == 1:
        return d[0]
    k = _split(len(d))
    return node_hash(ref_mth(d[:k]), ref_mth(d[k:]))


def ref_path(m: int, d: list[bytes]) -> list[bytes]:
    if len(d) == 1:
        return []
    k = _split(len(d))
    if m < k:
        return [*ref_path(m, d[:k]), ref_mth(d[k:])]
    return [*ref_path(m - k, d[k:]), ref_mth(d[:k])]


def ref_subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
    n = len(d)
    if m == n:
        return [] if b else [ref_mth(d)]
    k = _split(n)
    if m <= k:
        return [*ref_subproof(m, d[:k], b), ref_mth(d[k:])]
    return [*ref_subproof(m - k, d[k:], False), ref_mth(d[:k])]


# --------------------------------------------------------------------------- known answers


@pytest.mark.parametrize("case", VECTORS["known_answer"], ids=lambda c: c["desc"])
def test_known_answer_hashes(case):
    if case["kind"] == "empty_root":
        got = EMPTY_ROOT
    elif case["kind"] == "leaf":
        got = leaf_hash(h(case["data"]))
    else:
        got = node_hash(h(case["left"]), h(case["right"]))
    assert got.hex() == case["want"]


def test_empty_tree_and_empty_leaf_differ():
    assert EMPTY_ROOT.hex().startswith("e3b0c442")
    assert leaf_hash(b"").hex() == (
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
    )
    assert root([]) == EMPTY_ROOT != root([leaf_hash(b"")])


@pytest.mark.parametrize("size", range(9))
def test_roots_of_the_rfc6962_tree(size):
    want = h(VECTORS["root_hashes_by_size"][size])
    assert root(RFC_LEAVES[:size]) == want
    acc = MerkleAccumulator()
    acc.extend(RFC_LEAVES[:size])
    assert acc.root() == want
    if size:
        assert root_at(size, InMemoryNodes(RFC_LEAVES).get_node) == want


def test_node_hashes_of_the_rfc6962_tree():
    # Given the published hash of every perfect subtree of the 8-leaf tree,
    # when the accumulator appends the leaves, then it reports each one once.
    want = {
        (level, index): h(x)
        for level, row in enumerate(VECTORS["node_hashes"])
        for index, x in enumerate(row)
    }
    nodes = MerkleAccumulator().extend(RFC_LEAVES)
    assert {(n.level, n.index): n.hash for n in nodes} == want
    assert len(nodes) == len(want)
    store = InMemoryNodes(RFC_LEAVES)
    for (level, index), value in want.items():
        assert store.get_node(level, index) == value


# --------------------------------------------------------------------------- published proofs


@pytest.mark.parametrize(
    "case", VECTORS["inclusion_proofs"], ids=lambda c: f"{c['index']}:{c['size']}"
)
def test_published_inclusion_proofs(case):
    index, size = case["index"], case["size"]
    want = [h(x) for x in case["proof"]]
    assert inclusion_proof_from_leaves(index, RFC_LEAVES[:size]) == want
    assert verify_inclusion(RFC_LEAVES[index], index, size, want, root(RFC_LEAVES[:size]))


@pytest.mark.parametrize(
    "case", VECTORS["consistency_proofs"], ids=lambda c: f"{c['size1']}:{c['size2']}"
)
def test_published_consistency_proofs(case):
    size1, size2 = case["size1"], case["size2"]
    want = [h(x) for x in case["proof"]]
    assert consistency_proof_from_leaves(size1, size2, RFC_LEAVES) == want
    root1, root2 = root(RFC_LEAVES[:size1]), root(RFC_LEAVES[:size2])
    assert verify_consistency(size1, size2, want, root1, root2)


@pytest.mark.parametrize(
    "case", VECTORS["inclusion_node_ids"], ids=lambda c: f"{c['index']}:{c['size']}"
)
def test_inclusion_reads_the_same_nodes_as_upstream(case):
    # Upstream lists the right edge's parts in another order (it rehashes
    # them after reading); the set of stored nodes read must be the same.
    want = sorted(tuple(x) for x in case["nodes"])
    assert sorted(inclusion_node_ids(case["index"], case["size"])) == want


@pytest.mark.parametrize(
    "case", VECTORS["consistency_node_ids"], ids=lambda c: f"{c['size1']}:{c['size2']}"
)
def test_consistency_reads_the_same_nodes_as_upstream(case):
    want = sorted(tuple(x) for x in case["nodes"])
    assert sorted(consistency_node_ids(case["size1"], case["size2"])) == want


# --------------------------------------------------------------------------- upstream probes


def _b64(value: str) -> bytes:
    return base64.b64decode(value)


def _load_probe(path: Path) -> dict:
    return json.loads(path.read_text())


def _run_probe(kind: str, d: dict) -> None:
    proof = [_b64(x) for x in d["proof"] or []]
    if kind == "inclusion":
        check_inclusion(_b64(d["leafHash"]), d["leafIdx"], d["treeSize"], proof, _b64(d["root"]))
    else:
        check_consistency(d["size1"], d["size2"], proof, _b64(d["root1"]), _b64(d["root2"]))


def _verify_probe(kind: str, d: dict) -> bool:
    proof = [_b64(x) for x in d["proof"] or []]
    if kind == "inclusion":
        return verify_inclusion(
            _b64(d["leafHash"]), d["leafIdx"], d["treeSize"], proof, _b64(d["root"])
        )
    return verify_consistency(d["size1"], d["size2"], proof, _b64(d["root1"]), _b64(d["root2"]))


UPSTREAM_FILES = sorted(UPSTREAM.glob("*/*/*.json"))


def test_upstream_probe_files_are_present():
    assert len(UPSTREAM_FILES) == 51
    failing = {str(p.relative_to(UPSTREAM)) for p in UPSTREAM_FILES if _load_probe(p)["wantErr"]}
    assert failing == set(EXPECTED_ERRORS) - {"description"}


@pytest.mark.parametrize("path", UPSTREAM_FILES, ids=lambda p: str(p.relative_to(UPSTREAM)))
def test_upstream_probe(path):
    kind = path.parts[-3]
    d = _load_probe(path)
    assert _verify_probe(kind, d) is not d["wantErr"], d["desc"]
    if d["wantErr"]:
        expected = getattr(merkle, EXPECTED_ERRORS[str(path.relative_to(UPSTREAM))])
        with pytest.raises(expected):
            _run_probe(kind, d)
    else:
        _run_probe(kind, d)


# Upstream's corruptInclusionProof / corruptConsistencyProof (verify_test.go),
# applied to every happy path, including the ones whose probe files we did not
# copy. Indices and sizes wrap like Go's uint64.
U64 = 2**64
SOME_HASH = h("abacaba000000000000000000000000000000000000000000060061e00123456")


def _inclusion_probes(index, size, proof, root_, leaf):
    probes = [
        ((index - 1) % U64, size, root_, leaf, proof, "leafIndex - 1"),
        (index + 1, size, root_, leaf, proof, "leafIndex + 1"),
        (index ^ 2, size, root_, leaf, proof, "leafIndex ^ 2"),
        (index, size * 2, root_, leaf, proof, "treeSize * 2"),
        (index, size // 2, root_, leaf, proof, "treeSize / 2"),
        (index, size, root_, b"WrongLeaf", proof, "wrong leaf"),
        (index, size, EMPTY_ROOT, leaf, proof, "empty root"),
        (index, size, SOME_HASH, leaf, proof, "random root"),
        (index, size, root_, leaf, [*proof, b""], "trailing garbage"),
        (index, size, root_, leaf, [*proof, root_], "trailing root"),
        (index, size, root_, leaf, [b"", *proof], "preceding garbage"),
        (index, size, root_, leaf, [root_, *proof], "preceding root"),
    ]
    for i in range(len(proof)):
        wrong = list(proof)
        wrong[i] = bytes([wrong[i][0] ^ 8]) + wrong[i][1:]
        probes.append((index, size, root_, leaf, wrong, f"modified proof[{i}] bit 3"))
    if proof:
        probes.append((index, size, root_, leaf, proof[:-1], "removed component"))
    if len(proof) > 1:
        probes.append((index, size, root_, leaf, [proof[0], SOME_HASH, *proof[1:]], "inserted"))
    return probes


def _consistency_probes(size1, size2, root1, root2, proof):
    probes = [
        ((size1 - 1) % U64, size2, root1, root2, proof, "size1 - 1"),
        (size1 + 1, size2, root1, root2, proof, "size1 + 1"),
        (size1 ^ 2, size2, root1, root2, proof, "size1 ^ 2"),
        (size1, size2 * 2, root1, root2, proof, "size2 * 2"),
        (size1, size2 // 2, root1, root2, proof, "size2 / 2"),
        (size1, size2, b"WrongRoot", root2, proof, "wrong root1"),
        (size1, size2, root1, b"WrongRoot", proof, "wrong root2"),
        (size1, size2, root2, root1, proof, "swapped roots"),
        (size1, size2, root1, root2, [], "empty proof"),
        (size1, size2, root1, root2, [*proof, b""], "trailing garbage"),
        (size1, size2, root1, root2, [*proof, root1], "trailing root1"),
        (size1, size2, root1, root2, [*proof, root2], "trailing root2"),
        (size1, size2, root1, root2, [b"", *proof], "preceding garbage"),
        (size1, size2, root1, root2, [root1, *proof], "preceding root1"),
        (size1, size2, root1, root2, [root2, *proof], "preceding root2"),
        (size1, size2, root1, root2, [proof[0], *proof], "preceding proof[0]"),
        (size1, size2, root1, root2, proof[:-1], "truncated proof"),
    ]
    for i in range(len(proof)):
        wrong = list(proof)
        wrong[i] = bytes([wrong[i][0] ^ 16]) + wrong[i][1:]
        probes.append((size1, size2, root1, root2, wrong, f"modified proof[{i}] bit 4"))
    return probes


INCLUSION_HAPPY = sorted(UPSTREAM.glob("inclusion/*/happy-path.json"))
CONSISTENCY_HAPPY = sorted(UPSTREAM.glob("consistency/*/happy-path.json"))


@pytest.mark.parametrize("path", INCLUSION_HAPPY, ids=lambda p: p.parent.name)
def test_derived_inclusion_probes_fail(path):
    d = _load_probe(path)
    proof = [_b64(x) for x in d["proof"] or []]
    leaf, root_ = _b64(d["leafHash"]), _b64(d["root"])
    assert verify_inclusion(leaf, d["leafIdx"], d["treeSize"], proof, root_)
    assert root_from_inclusion_proof(leaf, d["leafIdx"], d["treeSize"], proof) == root_
    for index, size, r, lf, p, desc in _inclusion_probes(
        d["leafIdx"], d["treeSize"], proof, root_, leaf
    ):
        assert not verify_inclusion(lf, index, size, p, r), desc


@pytest.mark.parametrize("path", CONSISTENCY_HAPPY, ids=lambda p: p.parent.name)
def test_derived_consistency_probes_fail(path):
    d = _load_probe(path)
    proof = [_b64(x) for x in d["proof"] or []]
    root1, root2 = _b64(d["root1"]), _b64(d["root2"])
    assert verify_consistency(d["size1"], d["size2"], proof, root1, root2)
    if not proof:  # upstream only corrupts non-trivial proofs
        return
    for size1, size2, r1, r2, p, desc in _consistency_probes(
        d["size1"], d["size2"], root1, root2, proof
    ):
        assert not verify_consistency(size1, size2, p, r1, r2), desc


# --------------------------------------------------------------------------- edge cases


def test_errors_are_typed():
    for error in (InvalidArgumentError, ProofSizeError, RootMismatchError):
        assert issubclass(error, ProofError)
    assert issubclass(ProofError, ValueError)


def test_wrong_proof_size_message():
    proof = inclusion_proof(0, 8, STORE.get_node)
    with pytest.raises(ProofSizeError, match=r"^wrong proof size 2, want 3$"):
        root_from_inclusion_proof(LEAVES[0], 0, 8, proof[:2])
    with pytest.raises(ProofSizeError, match=r"^wrong proof size 3, want 4$"):
        check_consistency(6, 14, [SOME_HASH] * 3, ROOTS[6], ROOTS[14])


def test_single_leaf_tree():
    # Given a one-entry log, its root is the leaf hash and the proof is empty.
    assert verify_inclusion(LEAVES[0], 0, 1, [], LEAVES[0])
    assert not verify_inclusion(LEAVES[0], 0, 1, [], b"")
    assert not verify_inclusion(b"", 0, 1, [], LEAVES[0])
    assert not verify_inclusion(LEAVES[0], 0, 1, [LEAVES[0]], LEAVES[0])


@pytest.mark.parametrize(("index", "size"), [(0, 0), (1, 0), (1, 1), (2, 1), (8, 8)])
def test_inclusion_index_out_of_range(index, size):
    assert not verify_inclusion(SOME_HASH, index, size, [], EMPTY_ROOT)
    with pytest.raises(InvalidArgumentError):
        root_from_inclusion_proof(SOME_HASH, index, size, [])
    with pytest.raises(InvalidArgumentError):
        inclusion_proof(index, size, STORE.get_node)


def test_consistency_trivial_sizes():
    r3 = ROOTS[3]
    assert verify_consistency(0, 0, [], EMPTY_ROOT, EMPTY_ROOT)
    assert verify_consistency(0, 5, [], EMPTY_ROOT, ROOTS[5])
    assert verify_consistency(3, 3, [], r3, r3)
    # Deviation from transparency-dev: the empty tree's root must be EMPTY_ROOT.
    assert not verify_consistency(0, 5, [], r3, ROOTS[5])
    assert not verify_consistency(3, 3, [], r3, ROOTS[4])
    assert not verify_consistency(3, 3, [r3], r3, r3)
    assert not verify_consistency(0, 1, [EMPTY_ROOT], EMPTY_ROOT, ROOTS[1])
    # A log never shrinks.
    assert not verify_consistency(4, 3, [], ROOTS[4], r3)
    with pytest.raises(InvalidArgumentError, match="cannot shrink"):
        check_consistency(4, 3, [], ROOTS[4], r3)
    with pytest.raises(InvalidArgumentError):
        consistency_proof(4, 3, STORE.get_node)
    assert consistency_proof(0, 5, STORE.get_node) == []
    assert consistency_proof(5, 5, STORE.get_node) == []


def test_check_reports_which_root_differs():
    proof = consistency_proof(6, 7, STORE.get_node)
    with pytest.raises(RootMismatchError, match="root1") as err:
        check_consistency(6, 7, proof, ROOTS[5], ROOTS[7])
    assert err.value.got == ROOTS[6]
    assert err.value.want == ROOTS[5]
    with pytest.raises(RootMismatchError, match="root2"):
        check_consistency(6, 7, proof, ROOTS[6], ROOTS[8])


garbage = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True),
    st.text(max_size=40),
    st.binary(max_size=40),
    st.lists(st.binary(max_size=40), max_size=5),
    st.lists(st.integers(), max_size=3),
    st.just(LEAVES[:3]),
)


@FAST
@given(a=garbage, b=garbage, c=garbage, d=garbage, e=garbage)
def test_verify_never_raises(a, b, c, d, e):
    assert verify_inclusion(a, b, c, d, e) in (True, False)
    assert verify_consistency(a, b, c, d, e) in (True, False)
    assert verify_inclusion(LEAVES[0], 0, 2, c, ROOTS[2]) in (True, False)
    assert verify_consistency(1, 2, d, ROOTS[1], ROOTS[2]) in (True, False)


def test_rejects_non_int_sizes_and_non_bytes_hashes():
    proof = inclusion_proof(1, 3, STORE.get_node)
    assert verify_inclusion(LEAVES[1], 1, 3, proof, ROOTS[3])
    assert verify_inclusion(bytearray(LEAVES[1]), 1, 3, tuple(proof), memoryview(ROOTS[3]))
    assert not verify_inclusion(LEAVES[1], True, 3, proof, ROOTS[3])
    assert not verify_inclusion(LEAVES[1], 1.0, 3, proof, ROOTS[3])
    assert not verify_inclusion(LEAVES[1], 1, 3, [p.hex() for p in proof], ROOTS[3])
    assert not verify_inclusion(LEAVES[1].hex(), 1, 3, proof, ROOTS[3])
    assert not verify_inclusion(LEAVES[1], 1, 3, b"".join(proof), ROOTS[3])


def test_root_rejects_hashes_of_the_wrong_length():
    with pytest.raises(InvalidArgumentError):
        root([LEAVES[0], b"short"])
    with pytest.raises(InvalidArgumentError):
        MerkleAccumulator().append(b"short")


def test_subtree_hash_preconditions():
    get = strict_get_node(8)
    assert subtree_hash(4, 7, get) == ref_mth(LEAVES[4:7])
    assert subtree_hash(0, 8, get) == ROOTS[8]
    for begin, end in [(3, 3), (5, 4), (2, 5), (1, 3), (-1, 2)]:
        with pytest.raises(InvalidArgumentError):
            subtree_hash(begin, end, get)


def test_bad_get_node_answer_is_reported():
    with pytest.raises(InvalidArgumentError, match=r"get_node\(0, 1\)"):
        inclusion_proof(0, 2, lambda level, index: b"short")


def test_in_memory_nodes_refuse_incomplete_nodes():
    store = InMemoryNodes(LEAVES[:5])
    assert store.get_node(2, 0) == ref_mth(LEAVES[:4])
    with pytest.raises(IndexError):
        store.get_node(1, 2)  # leaves 4..5: only leaf 4 exists
    with pytest.raises(IndexError):
        store.get_node(3, 0)


# --------------------------------------------------------------------------- properties


def test_root_matches_the_rfc_definition():
    for n in range(130):
        assert root(LEAVES[:n]) == ref_mth(LEAVES[:n]) == ROOTS[n], n
    assert root(LEAVES) == ROOTS[MAX_SIZE]


def test_every_inclusion_proof_up_to_64_leaves():
    for size in range(1, 65):
        get = strict_get_node(size)
        for index in range(size):
            proof = inclusion_proof(index, size, get)
            assert proof == ref_path(index, LEAVES[:size]), (index, size)
            assert verify_inclusion(LEAVES[index], index, size, proof, ROOTS[size])


def test_every_consistency_proof_up_to_64_leaves():
    for size2 in range(1, 65):
        get = strict_get_node(size2)
        for size1 in range(0, size2 + 1):
            proof = consistency_proof(size1, size2, get)
            if 0 < size1 < size2:
                assert proof == ref_subproof(size1, LEAVES[:size2], True), (size1, size2)
            assert verify_consistency(size1, size2, proof, ROOTS[size1], ROOTS[size2])


sizes = st.integers(min_value=1, max_value=MAX_SIZE)


@st.composite
def index_and_size(draw):
    size = draw(sizes)
    return draw(st.integers(0, size - 1)), size


@st.composite
def two_sizes(draw):
    size2 = draw(sizes)
    return draw(st.integers(1, size2)), size2


def _flip(value: bytes, bit: int) -> bytes:
    buf = bytearray(value)
    buf[bit // 8] ^= 1 << (bit % 8)
    return bytes(buf)


@FAST
@given(index_and_size())
def test_inclusion_proofs_verify(case):
    index, size = case
    proof = inclusion_proof(index, size, strict_get_node(size))
    assert verify_inclusion(LEAVES[index], index, size, proof, ROOTS[size])
    assert root_from_inclusion_proof(LEAVES[index], index, size, proof) == ROOTS[size]
    assert proof == inclusion_proof_from_leaves(index, LEAVES[:size])


@FAST
@given(index_and_size(), st.data())
def test_tampered_inclusion_proofs_fail(case, data):
    index, size = case
    proof = inclusion_proof(index, size, strict_get_node(size))
    leaf, r = LEAVES[index], ROOTS[size]
    bit = data.draw(st.integers(0, 255), label="bit")
    if proof:
        i = data.draw(st.integers(0, len(proof) - 1), label="element")
        tampered = [*proof[:i], _flip(proof[i], bit), *proof[i + 1 :]]
        assert not verify_inclusion(leaf, index, size, tampered, r)
        assert not verify_inclusion(leaf, index, size, proof[:-1], r)
        assert not verify_inclusion(leaf, index, size, proof[1:], r)
    assert not verify_inclusion(leaf, index, size, [*proof, SOME_HASH], r)
    assert not verify_inclusion(leaf, index, size, [SOME_HASH, *proof], r)
    assert not verify_inclusion(leaf, index, size, proof, _flip(r, bit))
    assert not verify_inclusion(_flip(leaf, bit), index, size, proof, r)
    # The same proof for another leaf of the same tree, or for another size.
    other = data.draw(st.integers(0, MAX_SIZE), label="other")
    if other != index:
        assert not verify_inclusion(leaf, other, size, proof, r)
    if other % MAX_SIZE != index:
        assert not verify_inclusion(LEAVES[other % MAX_SIZE], index, size, proof, r)
    if other != size:
        # Claimed for another size with that size's root: refused unless the
        # proof happens to be that size's true proof too (a true statement).
        # (With the same root it may pass: see the test after next.)
        same = index < other and proof == inclusion_proof(index, other, STORE.get_node)
        assert verify_inclusion(leaf, index, other, proof, ROOTS[other]) is same


@FAST
@given(two_sizes())
def test_consistency_proofs_verify(case):
    size1, size2 = case
    proof = consistency_proof(size1, size2, strict_get_node(size2))
    assert verify_consistency(size1, size2, proof, ROOTS[size1], ROOTS[size2])
    assert proof == consistency_proof_from_leaves(size1, size2, LEAVES)


@FAST
@given(two_sizes(), st.data())
def test_tampered_consistency_proofs_fail(case, data):
    size1, size2 = case
    proof = consistency_proof(size1, size2, strict_get_node(size2))
    r1, r2 = ROOTS[size1], ROOTS[size2]
    bit = data.draw(st.integers(0, 255), label="bit")
    if proof:
        i = data.draw(st.integers(0, len(proof) - 1), label="element")
        tampered = [*proof[:i], _flip(proof[i], bit), *proof[i + 1 :]]
        assert not verify_consistency(size1, size2, tampered, r1, r2)
        assert not verify_consistency(size1, size2, proof[:-1], r1, r2)
        assert not verify_consistency(size1, size2, proof[1:], r1, r2)
    assert not verify_consistency(size1, size2, [*proof, SOME_HASH], r1, r2)
    assert not verify_consistency(size1, size2, [SOME_HASH, *proof], r1, r2)
    assert not verify_consistency(size1, size2, proof, _flip(r1, bit), r2)
    assert not verify_consistency(size1, size2, proof, r1, _flip(r2, bit))
    # A fork: size2's tree with a different last leaf.
    forked = root([*LEAVES[: size2 - 1], SOME_HASH])
    if size1 < size2:
        assert not verify_consistency(size1, size2, proof, r1, forked)
    other1 = data.draw(st.integers(0, MAX_SIZE), label="other1")
    if other1 != size1:
        assert not verify_consistency(other1, size2, proof, r1, r2)
        same = other1 <= size2 and proof == consistency_proof(other1, size2, STORE.get_node)
        if other1 <= MAX_SIZE:
            assert verify_consistency(other1, size2, proof, ROOTS[other1], r2) is same
    other2 = data.draw(st.integers(0, MAX_SIZE), label="other2")
    if other2 != size2:
        same = size1 <= other2 and proof == consistency_proof(size1, other2, STORE.get_node)
        assert verify_consistency(size1, other2, proof, r1, ROOTS[other2]) is same


def test_a_proof_alone_does_not_bind_the_tree_size():
    # RFC 9162 2.1.3.2 / 2.1.4.2 use the size only for the shape of the path:
    # where two sizes give the same shape, a proof checks out for both against
    # the same root hash. That is sound because a root is only meaningful with
    # its size, both taken from one signed checkpoint, and the pair (other
    # size, root of that size) is refused.
    proof = inclusion_proof(0, 257, STORE.get_node)
    assert verify_inclusion(LEAVES[0], 0, 258, proof, ROOTS[257])
    assert not verify_inclusion(LEAVES[0], 0, 258, proof, ROOTS[258])
    proof = consistency_proof(1, 3, STORE.get_node)
    assert verify_consistency(1, 4, proof, ROOTS[1], ROOTS[3])
    assert not verify_consistency(1, 4, proof, ROOTS[1], ROOTS[4])


# --------------------------------------------------------------------------- storage


def _log2_bound(n: int) -> int:
    return 2 * math.ceil(math.log2(n))


def test_accumulator_nodes_answer_every_proof():
    # Given a sequencer that stores only what the accumulator hands out, when
    # proofs are built from that store at every size, then they equal the
    # in-memory ones and read O(log n) stored nodes.
    stored: dict[tuple[int, int], bytes] = {}
    acc = MerkleAccumulator()
    for size in range(1, 300):
        for node in acc.append(LEAVES[size - 1]):
            key = (node.level, node.index)
            assert key not in stored, "a node is reported once"
            assert node.hash == STORE.get_node(node.level, node.index)
            stored[key] = node.hash
        assert acc.size == size
        assert acc.root() == ROOTS[size] == root_at(size, dict_get_node(stored))

    def counting(size: int, calls: list[int]):
        def get_node(level: int, index: int) -> bytes:
            assert (index + 1) << level <= size
            calls.append(1)
            return stored[(level, index)]

        return get_node

    for size in range(1, 300):
        for index in range(0, size, 7):
            calls: list[int] = []
            proof = inclusion_proof(index, size, counting(size, calls))
            assert proof == inclusion_proof_from_leaves(index, LEAVES[:size])
            assert len(calls) <= _log2_bound(size), (index, size, len(calls))
        for size1 in range(0, size + 1, 5):
            calls = []
            proof = consistency_proof(size1, size, counting(size, calls))
            assert proof == consistency_proof_from_leaves(size1, size, LEAVES)
            assert len(calls) <= _log2_bound(size), (size1, size, len(calls))


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 2**48), st.data())
def test_proofs_read_logarithmically_many_complete_nodes_at_any_size(size, data):
    # No storage needed to count reads: node_ids runs the builder on dummies.
    index = data.draw(st.integers(0, size - 1), label="index")
    size1 = data.draw(st.integers(0, size), label="size1")
    for ids in (inclusion_node_ids(index, size), consistency_node_ids(size1, size)):
        assert len(ids) <= _log2_bound(size)
        for level, i in ids:
            assert (i + 1) << level <= size


def test_accumulator_resumes_from_stored_nodes():
    stored: dict[tuple[int, int], bytes] = {}
    acc = MerkleAccumulator()
    for n in acc.extend(LEAVES[:77]):
        stored[(n.level, n.index)] = n.hash
    resumed = MerkleAccumulator.from_nodes(77, dict_get_node(stored))
    assert resumed.root() == acc.root() == ROOTS[77]
    assert resumed.append(LEAVES[77]) == acc.append(LEAVES[77])
    assert resumed.root() == ROOTS[78]
    assert MerkleAccumulator.from_nodes(0, dict_get_node(stored)).root() == EMPTY_ROOT


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(0, 60), max_size=10))  # at most MAX_SIZE leaves
def test_extend_in_any_batches_reports_the_nodes_of_appending_one_by_one(batch_sizes):
    # Given leaves added in batches of any sizes (a sequencer's seals), then
    # every node is reported once, with its hash, and the root is right after
    # every batch: the same as appending the leaves one at a time.
    acc, reported, size = MerkleAccumulator(), {}, 0
    for count in batch_sizes:
        for node in acc.extend(LEAVES[size : size + count]):
            assert (node.level, node.index) not in reported, "a node is reported once"
            reported[(node.level, node.index)] = node.hash
        size += count
        assert acc.size == size
        assert acc.root() == ROOTS[size]
    one_by_one = MerkleAccumulator()
    expected = {(n.level, n.index): n.hash for h in LEAVES[:size] for n in one_by_one.append(h)}
    assert reported == expected


def test_accumulator_reports_nodes_bottom_up():
    acc = MerkleAccumulator()
    acc.extend(LEAVES[:7])
    nodes = acc.append(LEAVES[7])
    assert [(n.level, n.index) for n in nodes] == [(0, 7), (1, 3), (2, 1), (3, 0)]
    assert nodes[-1].hash == ROOTS[8]


# --------------------------------------------------------------------------- second preimage


def test_interior_node_cannot_pass_as_leaf_data():
    r"""Second-preimage defence (as pymerkle's tests/test_defense.py).

    The real log has four entries d0..d3:

                       root = H(01 || n01 || n23)
                      /                          \
          n01 = H(01 || a || b)            n23 = H(01 || c || d)
             /            \                   /            \
      a = H(00 || d0)  b = H(00 || d1)  c = H(00 || d2)  d = H(00 || d3)

    The attacker claims a two-entry log whose entries are the concatenated
    child hashes, e0 = a || b and e1 = c || d:

                       root' = H(01 || x || y)
                      /                       \
            x = H(00 || a || b)         y = H(00 || c || d)

    Without the 0x00 / 0x01 prefixes x would be H(a || b) = n01, y = n23 and
    root' = root: different data, same root. With them x != n01 because the
    leaf and node hashes of the same bytes differ (RFC 9162 2.1.1).
    """
    d = [b"d0", b"d1", b"d2", b"d3"]
    a, b, c, dd = (leaf_hash(x) for x in d)
    n01, n23 = node_hash(a, b), node_hash(c, dd)
    real_root = root([a, b, c, dd])
    assert real_root == node_hash(n01, n23)
    e0, e1 = a + b, c + dd

    # The attack is real for the same tree without domain separation:
    # leaf(x) = H(x), node(l, r) = H(l || r).
    def plain(x: bytes) -> bytes:
        return hashlib.sha256(x).digest()

    def plain_root(entries: list[bytes]) -> bytes:  # entries: a power of two
        level = [plain(x) for x in entries]
        while len(level) > 1:
            level = [plain(level[i] + level[i + 1]) for i in range(0, len(level), 2)]
        return level[0]

    pa, pb, pc, pd = (plain(x) for x in d)
    assert plain_root([pa + pb, pc + pd]) == plain_root(d)  # forged log, same root

    # With RFC 9162 hashing the forged log has another root ...
    assert leaf_hash(e0) != n01
    assert leaf_hash(e1) != n23
    assert root([leaf_hash(e0), leaf_hash(e1)]) != real_root
    # ... and no inclusion proof in the real tree accepts e0 or e1 as an entry.
    for entry in (e0, e1):
        for index in range(4):
            proof = inclusion_proof_from_leaves(index, [a, b, c, dd])
            assert not verify_inclusion(leaf_hash(entry), index, 4, proof, real_root)
        assert not verify_inclusion(leaf_hash(entry), 0, 2, [n23], real_root)
        assert not verify_inclusion(leaf_hash(entry), 1, 2, [n01], real_root)
    # Handing over the interior node as if it were a leaf hash fails at the
    # log's real size (the checkpoint signs it) ...
    assert not verify_inclusion(n01, 0, 4, [n23], real_root)
    # ... and where a lying size makes the hashes line up, nobody can name
    # the entry: it would need data x with H(00 || x) = n01 = H(01 || a || b).
    assert verify_inclusion(n01, 0, 2, [n23], real_root)
