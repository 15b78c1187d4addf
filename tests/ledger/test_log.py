"""The log: appending, sealing, checkpoints and proofs on the real database."""

import itertools
import threading

import pytest
from django.db import connection, transaction

from ledger import merkle
from ledger.checkpoint import parse_checkpoint
from ledger.log_key import log_signer
from ledger.models import Checkpoint, Entry, LogIndex, PendingEntry, TreeChunk
from ledger.note import open_note
from ledger.services import (
    LedgerError,
    consistency_proof_for,
    entries_append,
    inclusion_proof_for,
    log_seal,
)

pytestmark = pytest.mark.django_db


def append(count: int, start: int = 0) -> None:
    entries_append(items=[(f"entry {n}".encode(), "test") for n in range(start, start + count)])


def leaf_hashes_in_index_order() -> list[bytes]:
    return [
        bytes(h)
        for h in Entry.objects.order_by("sealed__index").values_list("leaf_hash", flat=True)
    ]


def test_appended_entries_are_pending_until_sealed():
    append(3)
    assert list(Entry.objects.values_list("sealed__index", flat=True)) == [None, None, None]


def test_sealing_gives_contiguous_indices_in_append_order():
    append(5)
    report = log_seal()
    assert (report.sealed, report.size) == (5, 5)
    assert list(Entry.objects.order_by("id").values_list("sealed__index", flat=True)) == [
        0,
        1,
        2,
        3,
        4,
    ]


def test_checkpoint_root_is_the_rfc9162_root_of_the_entries():
    append(300)
    log_seal(batch_size=64)
    checkpoint = Checkpoint.objects.latest()
    assert checkpoint.size == 300
    assert bytes(checkpoint.root_hash) == merkle.root(leaf_hashes_in_index_order())


def test_every_batch_ends_in_a_signed_checkpoint_that_verifies_with_the_log_key():
    append(10)
    log_seal(batch_size=4)
    assert sorted(Checkpoint.objects.values_list("size", flat=True)) == [4, 8, 10]
    for checkpoint in Checkpoint.objects.all():
        text = open_note(checkpoint.note, [log_signer().verifier()]).text
        parsed = parse_checkpoint(text)
        assert (parsed.origin, parsed.size, parsed.root_hash) == (
            log_signer().name,
            checkpoint.size,
            bytes(checkpoint.root_hash),
        )


def test_sealing_an_empty_backlog_signs_the_empty_tree_once():
    log_seal()
    log_seal()
    (checkpoint,) = Checkpoint.objects.all()
    assert (checkpoint.size, bytes(checkpoint.root_hash)) == (0, merkle.EMPTY_ROOT)


def test_inclusion_proofs_from_stored_chunks_verify_against_each_checkpoint():
    append(700)
    log_seal(batch_size=300)
    for size in (300, 600, 700):
        root = bytes(Checkpoint.objects.get(size=size).root_hash)
        for index in (0, 1, 255, 256, size // 2, size - 1):
            entry = Entry.objects.get(sealed__index=index)
            proof = inclusion_proof_for(index, size)
            assert merkle.verify_inclusion(bytes(entry.leaf_hash), index, size, proof, root)


def test_consistency_proofs_verify_between_checkpoints():
    append(700)
    log_seal(batch_size=300)
    roots = {c.size: bytes(c.root_hash) for c in Checkpoint.objects.all()}
    for size1, size2 in [(300, 600), (300, 700), (600, 700), (700, 700)]:
        proof = consistency_proof_for(size1, size2)
        assert merkle.verify_consistency(size1, size2, proof, roots[size1], roots[size2])


def test_a_proof_needs_a_signed_size():
    append(4)
    log_seal()
    with pytest.raises(LedgerError, match="no checkpoint"):
        inclusion_proof_for(0, 3)
    with pytest.raises(LedgerError, match="not in a tree"):
        inclusion_proof_for(4, 4)


def test_tree_storage_grows_in_chunks_not_rows_per_node():
    append(1000)
    log_seal()
    assert TreeChunk.objects.count() < 20


@pytest.mark.django_db(transaction=True)
def test_two_sequencers_at_once_neither_corrupt_nor_fork_the_log():
    append(5000)
    reports = []

    def seal() -> None:
        try:
            reports.append(log_seal(batch_size=500))
        finally:
            connection.close()

    threads = [threading.Thread(target=seal) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if Entry.objects.filter(sealed__isnull=True).exists():
        log_seal()
    assert sum(r.sealed for r in reports) <= 5000
    assert sorted(Entry.objects.values_list("sealed__index", flat=True)) == list(range(5000))
    checkpoints = list(Checkpoint.objects.order_by("size"))
    assert bytes(checkpoints[-1].root_hash) == merkle.root(leaf_hashes_in_index_order())
    for older, newer in itertools.pairwise(checkpoints):
        proof = consistency_proof_for(older.size, newer.size)
        assert merkle.verify_consistency(
            older.size, newer.size, proof, bytes(older.root_hash), bytes(newer.root_hash)
        )


def assert_log_is_whole(count: int) -> None:
    """Indices 0..count-1, each entry exactly once, nothing left pending, and
    the latest checkpoint over exactly those entries in index order."""
    assert not PendingEntry.objects.exists()
    assert list(LogIndex.objects.order_by("index").values_list("index", flat=True)) == list(
        range(count)
    )
    assert LogIndex.objects.values("entry").distinct().count() == Entry.objects.count() == count
    assert bytes(Checkpoint.objects.latest().root_hash) == merkle.root(leaf_hashes_in_index_order())


# The SQLite test database (in memory, shared cache) fails a second writer at
# once ("database table is locked") instead of letting it wait.
needs_concurrent_writers = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs concurrent writers"
)


@needs_concurrent_writers
@pytest.mark.django_db(transaction=True)
def test_sealers_racing_appenders_assign_every_index_once_without_gaps():
    done = threading.Event()

    def keep_appending(worker: int) -> None:
        try:
            for batch in range(20):
                append(50, start=(worker * 20 + batch) * 50)
        finally:
            connection.close()

    def keep_sealing() -> None:
        try:
            while not done.is_set():
                log_seal(batch_size=70)
        finally:
            connection.close()

    appenders = [threading.Thread(target=keep_appending, args=(w,)) for w in range(2)]
    sealers = [threading.Thread(target=keep_sealing) for _ in range(2)]
    for thread in appenders + sealers:
        thread.start()
    for thread in appenders:
        thread.join()
    done.set()
    for thread in sealers:
        thread.join()
    log_seal()
    assert_log_is_whole(2000)


@needs_concurrent_writers
@pytest.mark.django_db(transaction=True)
def test_an_entry_committed_after_higher_ids_were_sealed_is_sealed_by_the_next_seal():
    appended, release, late_ids = threading.Event(), threading.Event(), []

    def slow_append() -> None:
        try:
            with transaction.atomic():
                late_ids.extend(entries_append(items=[(b"late entry", "test")]))
                appended.set()
                release.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=slow_append)
    thread.start()
    assert appended.wait(10)
    append(3)  # drawn after the slow transaction's id, committed before it
    assert log_seal().sealed == 3
    release.set()
    thread.join()
    assert (
        min(Entry.objects.filter(sealed__isnull=False).values_list("id", flat=True)) > (late_ids[0])
    )
    assert log_seal().sealed == 1
    assert Entry.objects.get(pk=late_ids[0]).index == 3
    assert_log_is_whole(4)
