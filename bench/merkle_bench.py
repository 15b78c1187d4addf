"""Merkle tree figures for ledger.merkle: a script that prints numbers, not a test.

    .venv/bin/python bench/merkle_bench.py [--entries N] [--proofs P] [--seed S]

Pure CPU, single thread, no servers. The proof figures use what a log's store
would hold: every perfect-subtree hash the accumulator reported, in a dict
keyed (level, index) behind ``get_node``, so a proof costs dict look-ups plus
the hashing of the right edge, never a rebuild. Storage latency (a database
round trip per read, or one batched query via ``inclusion_node_ids``) comes on
top and is not measured here.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from ledger import merkle  # noqa: E402


def percentiles_us(samples_s: list[float]) -> str:
    ordered = sorted(samples_s)
    p50 = statistics.median(ordered) * 1e6
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))] * 1e6
    return f"p50 {p50:7.1f} µs   p99 {p99:7.1f} µs   max {ordered[-1] * 1e6:7.1f} µs"


def timed(fn, *args):
    start = time.perf_counter()
    result = fn(*args)
    return result, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--proofs", type=int, default=2_000, help="proofs of each kind")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    n = args.entries
    rng = random.Random(args.seed)

    print(f"ledger.merkle benchmark: {n:,} entries, {args.proofs:,} proofs of each kind")
    print(f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs")
    print()

    # Entries of a realistic size: a device-signed reading JWS is ~430 bytes.
    entries = [rng.randbytes(430) for _ in range(n)]
    leaves, t = timed(lambda data: [merkle.leaf_hash(e) for e in data], entries)
    print(f"leaf_hash (430 B entries)      {n / t:12,.0f} /s   ({t * 1e9 / n:,.0f} ns each)")
    del entries
    # The benchmark's own million objects are not the log's garbage: keep the
    # collector from rescanning them (it stays on for what the code allocates).
    gc.collect()
    gc.freeze()

    r, t = timed(merkle.root, leaves)
    print(f"root() over {n:,} leaves   {t:12.3f} s")

    def append_only(acc: merkle.MerkleAccumulator) -> None:
        append = acc.append
        for h in leaves:
            append(h)

    _, t = timed(append_only, merkle.MerkleAccumulator())
    print(f"accumulator append only       {n / t:12,.0f} entries/s")

    acc = merkle.MerkleAccumulator()
    store: dict[tuple[int, int], bytes] = {}

    def append_all() -> None:
        append = acc.append
        for h in leaves:
            for node in append(h):
                store[(node.level, node.index)] = node.hash

    _, t = timed(append_all)
    print(f"accumulator append + dict     {n / t:12,.0f} entries/s   ({len(store):,} nodes)")
    assert acc.root() == r
    gc.collect()
    gc.freeze()

    _, t = timed(lambda: [acc.root() for _ in range(10_000)])
    print(f"accumulator root()            {t / 10_000 * 1e6:12.1f} µs")

    reads = 0

    def get_node(level: int, index: int) -> bytes:
        nonlocal reads
        reads += 1
        return store[(level, index)]

    def get_node_uncounted(level: int, index: int) -> bytes:
        return store[(level, index)]

    roots = {n: r}

    def root_of(size: int) -> bytes:
        # The root a checkpoint of that size would carry; computed outside timing.
        if size not in roots:
            roots[size] = merkle.root_at(size, get_node_uncounted)
        return roots[size]

    print()
    print(f"inclusion proofs in the tree of {n:,} (random index):")
    gen, ver, max_reads = [], [], 0
    for _ in range(args.proofs):
        index = rng.randrange(n)
        reads = 0
        proof, t = timed(merkle.inclusion_proof, index, n, get_node)
        gen.append(t)
        max_reads = max(max_reads, reads)
        ok, t = timed(merkle.verify_inclusion, leaves[index], index, n, proof, r)
        ver.append(t)
        assert ok
    print(f"  generate  {percentiles_us(gen)}   reads <= {max_reads}")
    print(f"  verify    {percentiles_us(ver)}")

    print(f"inclusion proofs at a random past size <= {n:,}:")
    gen, ver, max_reads = [], [], 0
    for _ in range(args.proofs):
        size = rng.randrange(1, n + 1)
        index = rng.randrange(size)
        reads = 0
        proof, t = timed(merkle.inclusion_proof, index, size, get_node)
        gen.append(t)
        max_reads = max(max_reads, reads)
        ok, t = timed(merkle.verify_inclusion, leaves[index], index, size, proof, root_of(size))
        ver.append(t)
        assert ok
    print(f"  generate  {percentiles_us(gen)}   reads <= {max_reads}")
    print(f"  verify    {percentiles_us(ver)}")

    print(f"consistency proofs, random size1 < size2 <= {n:,}:")
    gen, ver, max_reads = [], [], 0
    for _ in range(args.proofs):
        size2 = rng.randrange(2, n + 1)
        size1 = rng.randrange(1, size2)
        r1, r2 = root_of(size1), root_of(size2)
        reads = 0
        proof, t = timed(merkle.consistency_proof, size1, size2, get_node)
        gen.append(t)
        max_reads = max(max_reads, reads)
        ok, t = timed(merkle.verify_consistency, size1, size2, proof, r1, r2)
        ver.append(t)
        assert ok
    print(f"  generate  {percentiles_us(gen)}   reads <= {max_reads}")
    print(f"  verify    {percentiles_us(ver)}")

    print(f"consistency proofs, size1 random -> size2 = {n:,}:")
    gen, ver = [], []
    for _ in range(args.proofs):
        size1 = rng.randrange(1, n)
        r1 = root_of(size1)
        proof, t = timed(merkle.consistency_proof, size1, n, get_node)
        gen.append(t)
        ok, t = timed(merkle.verify_consistency, size1, n, proof, r1, r)
        ver.append(t)
        assert ok
    print(f"  generate  {percentiles_us(gen)}")
    print(f"  verify    {percentiles_us(ver)}")


if __name__ == "__main__":
    main()
