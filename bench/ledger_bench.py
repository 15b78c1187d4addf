"""Ledger benchmark: sequencer throughput, proofs on a large log, verify_ledger rate.

Runs against a dedicated PostgreSQL database (created and dropped here) and
prints its figures. Usage:

    .venv/bin/python bench/ledger_bench.py [--entries 1000000] [--batch 50000]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATABASE = "coldchain_ledger_bench"


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=50_000, help="entries per seal transaction")
    parser.add_argument("--proofs", type=int, default=2000)
    args = parser.parse_args()

    admin = "postgres://postgres@127.0.0.1:5432/postgres"
    subprocess.run(["psql", admin, "-qc", f"DROP DATABASE IF EXISTS {DATABASE}"], check=True)
    subprocess.run(["psql", admin, "-qc", f"CREATE DATABASE {DATABASE}"], check=True)
    os.environ.update(
        DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/{DATABASE}",
        COLDCHAIN_VAR_DIR=str(ROOT / "var" / "bench-ledger"),
        DJANGO_SETTINGS_MODULE="coldchain.settings",
    )
    import django

    django.setup()
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from django.core.management import call_command

    from ledger.jws import sign_compact
    from ledger.merkle import verify_inclusion
    from ledger.models import Checkpoint, Entry
    from ledger.services import entries_append, inclusion_proof_for, log_seal
    from ledger.verification import LedgerVerifier

    call_command("migrate", verbosity=0)
    rng = random.Random(7)
    # Real JWS entries of a reading's size (about 430 bytes), signed before timing.
    key = Ed25519PrivateKey.generate()
    tokens = [sign_compact(key, {"kid": "bench-device"}, rng.randbytes(240)) for _ in range(10_000)]
    started = time.perf_counter()
    for start in range(0, args.entries, 10_000):
        count = min(10_000, args.entries - start)
        entries_append(items=[(token, "bench") for token in tokens[:count]])
    appended = time.perf_counter() - started
    print(f"append (bulk insert, leaf hash) {args.entries / appended:12,.0f} entries/s")

    started = time.perf_counter()
    report = log_seal(batch_size=args.batch)
    sealed = time.perf_counter() - started
    print(
        f"sequencer                      {report.sealed / sealed:12,.0f} entries/s sealed "
        f"({report.sealed:,} in {sealed:.1f} s, batches of {args.batch:,}, "
        f"{Checkpoint.objects.count()} checkpoints)"
    )

    size = report.size
    generation, verification = [], []
    root = bytes(Checkpoint.objects.get(size=size).root_hash)
    leaves = dict(
        Entry.objects.filter(
            sealed__index__in=[rng.randrange(size) for _ in range(args.proofs)]
        ).values_list("sealed__index", "leaf_hash")
    )
    for index, leaf in leaves.items():
        t0 = time.perf_counter()
        proof = inclusion_proof_for(index, size)
        t1 = time.perf_counter()
        assert verify_inclusion(bytes(leaf), index, size, proof, root)
        t2 = time.perf_counter()
        generation.append((t1 - t0) * 1e6)
        verification.append((t2 - t1) * 1e6)
    print(
        f"inclusion proof at size {size:,}: generate (PostgreSQL) p50 "
        f"{statistics.median(generation):,.0f} us p99 {percentile(generation, 0.99):,.0f} us; "
        f"verify p50 {statistics.median(verification):,.0f} us "
        f"p99 {percentile(verification, 0.99):,.0f} us"
    )

    verifier = LedgerVerifier()
    started = time.perf_counter()
    problems = list(verifier.run())
    elapsed = time.perf_counter() - started
    print(
        f"verify_ledger                  {verifier.entries_checked / elapsed:12,.0f} entries/s "
        f"({verifier.entries_checked:,} entries, {verifier.checkpoints_checked} checkpoints, "
        f"{len(problems)} problems)"
    )
    from django.db import connections

    connections.close_all()
    subprocess.run(["psql", admin, "-qc", f"DROP DATABASE IF EXISTS {DATABASE}"], check=True)


if __name__ == "__main__":
    main()
