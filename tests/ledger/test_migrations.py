"""Migrations of the ledger's own tables, run forwards on data written by the old schema."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from ledger.merkle import leaf_hash
from ledger.models import Entry, LogIndex, PendingEntry

BEFORE_LOG_INDEX = [("ledger", "0004_entry_data_out_of_line")]


def migrate(targets: list[tuple[str, str]]):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_moving_indices_out_of_the_entry_rows_keeps_every_index_and_pending_entry():
    old = migrate(BEFORE_LOG_INDEX).get_model("ledger", "Entry")
    # Indices out of id order, as a late commit leaves them, and two pending.
    rows = [(b"a", 0), (b"b", 2), (b"c", 1), (b"d", None), (b"e", None)]
    ids = {
        data: old.objects.create(data=data, leaf_hash=leaf_hash(data), kind="test", index=index).pk
        for data, index in rows
    }
    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
    assert dict(LogIndex.objects.values_list("entry_id", "index")) == {
        ids[b"a"]: 0,
        ids[b"b"]: 2,
        ids[b"c"]: 1,
    }
    assert {p.entry_id: bytes(p.leaf_hash) for p in PendingEntry.objects.all()} == {
        ids[b"d"]: leaf_hash(b"d"),
        ids[b"e"]: leaf_hash(b"e"),
    }
    assert [Entry.objects.get(pk=ids[data]).index for data, _ in rows] == [0, 2, 1, None, None]
