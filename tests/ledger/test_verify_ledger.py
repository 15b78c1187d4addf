"""verify_ledger finds every kind of tampering and names the first bad entry."""

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from devices.ingest import SOURCE_HTTP, IncomingMessage, readings_ingest
from devices.models import Reading
from ledger.models import Checkpoint, Entry, TreeChunk
from ledger.note import generate_key, new_signer, sign_note
from ledger.services import log_seal
from tests.factories import make_device

pytestmark = pytest.mark.django_db


@pytest.fixture
def log():
    """Two devices (2 registration entries) and 40 readings, sealed in batches of 16."""
    devices = [make_device(), make_device()]
    tokens = [d.signed(seq, temp_c=4.0 + seq / 10) for seq in range(1, 21) for d in devices]
    readings_ingest(messages=[IncomingMessage(t, timezone.now(), SOURCE_HTTP) for t in tokens])
    log_seal(batch_size=16)
    return devices


def verify() -> str:
    call_command("verify_ledger")
    return "ok"


def failure() -> str:
    with pytest.raises(CommandError) as error:
        call_command("verify_ledger")
    return str(error.value)


def test_an_untouched_log_verifies(log, capsys):
    assert verify() == "ok"
    assert "42 entries and 3 checkpoints" in capsys.readouterr().out


def test_changed_reading_temperature_is_found(log):
    reading = Reading.objects.order_by("id")[7]
    Reading.objects.filter(pk=reading.pk).update(temp_c=reading.temp_c + 5)
    message = failure()
    assert f"entry {reading.ledger_entry.index}:" in message
    assert "temp_c" in message


def test_changed_entry_bytes_are_found(log):
    entry = Entry.objects.get(sealed__index=11)
    data = bytearray(entry.data)
    data[-3] = ord("A") if data[-3] != ord("A") else ord("B")
    Entry.objects.filter(pk=entry.pk).update(data=bytes(data))
    assert "entry 11:" in failure()


def test_changed_stored_subtree_hash_is_found(log):
    chunk = TreeChunk.objects.get(level=2, chunk=0)
    hashes = bytearray(chunk.hashes)
    hashes[32 + 5] ^= 0x01  # node (level 2, index 1): leaves 4..7
    TreeChunk.objects.filter(pk=chunk.pk).update(hashes=bytes(hashes))
    message = failure()
    assert "entry 4:" in message
    assert "subtree hash at level 2 index 1" in message


def test_deleted_entry_is_found(log):
    entry = Entry.objects.get(sealed__index=20)
    Reading.objects.filter(ledger_entry=entry).delete()
    entry.delete()
    message = failure()
    assert "entry 20:" in message
    assert "missing" in message


def test_swapped_entries_are_found(log):
    first, second = Entry.objects.get(sealed__index=5), Entry.objects.get(sealed__index=6)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE ledger_logindex SET entry_id = -1 WHERE log_index = 5")
        cursor.execute("UPDATE ledger_logindex SET entry_id = %s WHERE log_index = 6", [first.pk])
        cursor.execute("UPDATE ledger_logindex SET entry_id = %s WHERE log_index = 5", [second.pk])
    # The stored tree still has entry 5's old leaf hash where the swap put 6's.
    assert "entry 5: stored subtree hash at level 0 index 5" in failure()


def test_an_entry_that_is_neither_sealed_nor_queued_is_found(log):
    # Written around entries_append, so never queued for the sequencer.
    entry = Entry.objects.create(data=b"never queued", leaf_hash=b"\0" * 32, kind="test")
    message = failure()
    assert "entry 42:" in message
    assert f"ids {entry.pk} are neither sealed nor waiting to be sealed" in message


def test_rewritten_checkpoint_is_found(log):
    checkpoint = Checkpoint.objects.get(size=32)
    forger = new_signer(generate_key(checkpoint.note.split("\n", 1)[0])[0])
    text = checkpoint.note.split("\n\n", 1)[0] + "\n"
    Checkpoint.objects.filter(pk=checkpoint.pk).update(note=sign_note(text, forger))
    message = failure()
    assert "entry 31:" in message
    assert "checkpoint at size 32" in message
