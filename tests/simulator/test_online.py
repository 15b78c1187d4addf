"""The outbox, the simulated clock and device provisioning of the online mode."""

import sqlite3
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from devices.keys import generate_private_key, load_private_key, raw_public_key, write_private_key
from devices.models import Device
from devices.services import device_register
from devices.simulator.online import OnlineOptions, OnlineSimulator, aligned_now, resume_start
from devices.simulator.outbox import Outbox


def test_the_outbox_is_a_wal_file_that_keeps_order_and_seq_state_across_reopening(tmp_path):
    path = tmp_path / "outbox.sqlite3"
    outbox = Outbox(path)
    outbox.enqueue([("d1", 1, "t/d1", b"a"), ("d2", 1, "t/d2", b"b")], {"d1": 1, "d2": 1})
    outbox.enqueue([("d1", 2, "t/d1", b"c")], {"d1": 2, "d2": 1}, {"sim_time": "120.0"})
    *_, third = outbox.pending(0, 10)
    outbox.ack([third.id])  # acknowledgements may come out of order
    outbox.close()

    reopened = Outbox(path)
    assert reopened.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert [(p.topic, p.payload) for p in reopened.pending(0, 10)] == [
        ("t/d1", b"a"),
        ("t/d2", b"b"),
    ]
    assert reopened.last_seqs() == {"d1": 2, "d2": 1}
    assert reopened.get_meta("sim_time") == "120.0"
    # A new row never reuses the id of an acknowledged one: id order stays creation order.
    reopened.enqueue([("d1", 3, "t/d1", b"d")], {"d1": 3})
    assert reopened.pending(0, 10)[-1].id > third.id
    reopened.close()


def test_a_failed_batch_leaves_neither_messages_nor_seq_state(tmp_path):
    outbox = Outbox(tmp_path / "outbox.sqlite3")
    with pytest.raises(sqlite3.IntegrityError):
        outbox.enqueue([("d1", 1, "t", b"x"), ("d1", 2, "t", None)], {"d1": 2})
    assert outbox.count() == 0
    assert outbox.last_seqs() == {}


def test_the_clock_resumes_after_the_last_instant_even_when_it_ran_ahead(tmp_path):
    outbox = Outbox(tmp_path / "outbox.sqlite3")
    assert resume_start(outbox, 1000.0, 60.0) == 1000.0
    outbox.enqueue([], {}, {"sim_time": "5000.0"})
    assert resume_start(outbox, 1000.0, 60.0) == 5060.0
    assert resume_start(outbox, 9000.0, 60.0) == 9000.0
    assert aligned_now(60.0, 1_000_000_059.9) == 1_000_000_020.0


def test_speedup_paces_simulated_time_and_catch_up_never_passes_the_wall_clock(tmp_path):
    def due(**options):
        simulator = OnlineSimulator.__new__(OnlineSimulator)
        simulator.first = 10_000.0
        simulator.options = OnlineOptions(**options)
        return simulator._due

    assert due(speedup=60.0)(10_000.0 + 3600.0, 500.0) == 560.0
    # 24 h behind the wall clock: run 60x until caught up, then in real time.
    behind = due(speedup=60.0, catch_up=True)
    assert behind(10_000.0 + 3600.0, 500.0) == 13_600.0
    assert due(speedup=60.0, catch_up=True)(10_060.0, 100_000.0) == 100_001.0


@pytest.mark.servers
@pytest.mark.django_db
def test_missing_devices_are_provisioned_and_existing_keys_are_registered(
    tmp_path, broker, collector
):
    key_dir = tmp_path / "keys"
    own_key = generate_private_key()
    write_private_key(key_dir / "truck-001-logger.pem", own_key)
    out = StringIO()
    call_command(
        "simulate",
        "--trucks",
        "1",
        "--readings",
        "3",
        "--speedup",
        "1000",
        "--mqtt-url",
        broker.url,
        "--key-dir",
        key_dir,
        "--outbox",
        tmp_path / "outbox.sqlite3",
        "--no-truth",
        stdout=out,
    )
    assert "provisioned truck-001-reefer" in out.getvalue()
    assert "registered truck-001-logger with the key in" in out.getvalue()
    logger = Device.objects.get(pk="truck-001-logger")
    assert bytes(logger.public_key) == raw_public_key(own_key)
    assert (logger.kind, logger.vehicle) == ("independent_logger", "truck-001")
    reefer = Device.objects.get(pk="truck-001-reefer")
    assert reefer.kind == "reefer_controller"
    assert bytes(reefer.public_key) == raw_public_key(
        load_private_key(key_dir / "truck-001-reefer.pem")
    )


@pytest.mark.django_db
def test_a_registered_device_whose_key_is_missing_is_an_error(tmp_path):
    device_register(
        device_id="truck-001-reefer",
        public_key=raw_public_key(generate_private_key()),
        kind="reefer_controller",
        vehicle="truck-001",
    )
    with pytest.raises(CommandError, match=r"private key .* is missing"):
        call_command("simulate", "--trucks", "1", "--key-dir", tmp_path, "--readings", "1")


def test_without_provisioning_every_key_file_must_exist(tmp_path):
    with pytest.raises(CommandError, match="does not exist and --no-provision"):
        call_command(
            "simulate", "--no-provision", "--key-dir", tmp_path, "--readings", "1", "--trucks", "1"
        )


def test_a_bad_broker_url_is_a_command_error(tmp_path):
    key_dir = tmp_path / "keys"
    for device in ("truck-001-reefer", "truck-001-logger"):
        write_private_key(key_dir / f"{device}.pem", generate_private_key())
    with pytest.raises(CommandError, match="mqtt://"):
        call_command(
            "simulate",
            "--no-provision",
            "--key-dir",
            key_dir,
            "--trucks",
            "1",
            "--mqtt-url",
            "http://example",
        )
