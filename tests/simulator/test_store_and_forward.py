"""Store and forward against a real Mosquitto: no reading is lost to an outage or a restart."""

import csv
import os
import re
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

import pytest
from django.core.management import call_command

from devices.keys import generate_private_key, write_private_key
from devices.models import Device
from devices.mqtt import MqttConfig
from devices.simulator.fleet import FleetConfig
from devices.simulator.outbox import Outbox
from devices.simulator.plan import fleet_trips
from devices.simulator.publisher import Publisher
from devices.wire import decode_payload, parse_compact, sign_reading, topic_for, verify_signature
from tests.simulator.conftest import Collector, complete

pytestmark = pytest.mark.servers
REPO = Path(__file__).resolve().parents[2]
DEVICES = ("truck-001-reefer", "truck-001-logger", "truck-002-reefer", "truck-002-logger")


def online(tmp_path, broker, *extra):
    """Arguments for a fast online run against the private broker."""
    return [
        "simulate",
        "--trucks",
        "2",
        "--mqtt-url",
        broker.url,
        "--protocol",
        "5",
        "--key-dir",
        str(tmp_path / "keys"),
        "--outbox",
        str(tmp_path / "outbox.sqlite3"),
        "--truth-dir",
        str(tmp_path / "truth"),
        "--reconnect-max",
        "0.5",
        *extra,
    ]


def signed_rows(key, device: str, count: int) -> list[tuple]:
    """Outbox rows of readings seq 1..count."""
    rows = []
    for seq in range(1, count + 1):
        reading = {
            "v": 1,
            "device": device,
            "seq": seq,
            "ts": "2026-01-05T00:00:00Z",
            "temp_c": 4.0,
        }
        rows.append((device, seq, topic_for(device), sign_reading(key, reading)))
    return rows


def run_command(*arguments) -> str:
    from io import StringIO

    out = StringIO()
    call_command(*arguments, stdout=out)
    return out.getvalue()


@pytest.mark.parametrize("protocol", ["5", "3.1.1"])
def test_the_publisher_sends_in_order_with_a_bounded_window(tmp_path, broker, collector, protocol):
    key = generate_private_key()
    outbox = Outbox(tmp_path / "outbox.sqlite3")
    outbox.enqueue(signed_rows(key, "d1", 600), {"d1": 600})
    publisher = Publisher(outbox, MqttConfig.from_url(broker.url, protocol), "pub", window=16)
    publisher.start()
    deadline = time.monotonic() + 15
    largest_window = 0
    while (outbox.count() or publisher.inflight) and time.monotonic() < deadline:
        publisher.pump()
        largest_window = max(largest_window, publisher.inflight)
        publisher.wait(0.05)
    publisher.stop()
    assert outbox.count() == 0
    assert 1 < largest_window <= 16
    assert publisher.client._max_inflight_messages == 16
    assert collector.wait_until(complete({"d1": 600}), 10)
    assert collector.seqs()["d1"] == list(range(1, 601)), "oldest first, no duplicates, no gaps"
    assert outbox.last_seqs() == {"d1": 600}
    outbox.close()


def test_readings_nobody_subscribed_to_are_kept_until_a_subscriber_arrives(tmp_path, broker):
    key = generate_private_key()
    outbox = Outbox(tmp_path / "outbox.sqlite3")
    outbox.enqueue(signed_rows(key, "d1", 50), {"d1": 50})
    publisher = Publisher(
        outbox, MqttConfig.from_url(broker.url, "5"), "pub", window=8, retry_after_s=0.3
    )
    publisher.start()
    assert not publisher.drain(1.5), "acknowledged with no subscriber"
    assert publisher.retried > 0
    assert outbox.count() == 50
    collector = Collector(broker.url, "late-collector")
    try:
        collector.wait_subscribed()
        assert publisher.drain(10)
        assert collector.wait_until(complete({"d1": 50}), 5)
    finally:
        collector.close()
        publisher.stop()
        outbox.close()


@pytest.mark.django_db
def test_a_broker_outage_loses_no_reading(tmp_path, broker, collector):
    outage = {}

    def take_the_broker_down():
        collector.wait_until(lambda c: len(c.snapshot()) >= 40, 10)
        outage["during"] = len(collector.snapshot())
        broker.stop()
        time.sleep(2.0)
        broker.start()
        outage["done"] = True

    chaos = threading.Thread(target=take_the_broker_down)
    chaos.start()
    output = run_command(
        *online(tmp_path, broker, "--readings", "150", "--speedup", "3000", "--drain-timeout", "15")
    )
    chaos.join()
    assert outage["done"]
    assert outage["during"] < 4 * 150, "the broker went down mid-run"
    assert collector.wait_until(complete(dict.fromkeys(DEVICES, 150)), 15), collector.seqs()
    assert "0 left in the outbox" in output
    assert int(re.search(r"(\d+) connection losses", output).group(1)) >= 1
    keys = {device.id: bytes(device.public_key) for device in Device.objects.filter(pk__in=DEVICES)}
    assert {d.vehicle for d in Device.objects.filter(pk__in=DEVICES)} == {"truck-001", "truck-002"}
    for token in collector.snapshot():
        message = parse_compact(token)
        verify_signature(message, keys[message.kid])
    assert Outbox(tmp_path / "outbox.sqlite3").count() == 0


@pytest.mark.django_db
def test_a_restarted_simulator_resends_its_outbox_first_and_continues_the_sequence(
    tmp_path, broker
):
    broker.stop()  # the first run never reaches a broker
    first = run_command(
        *online(tmp_path, broker, "--readings", "20", "--speedup", "5000", "--drain-timeout", "0.5")
    )
    assert "80 messages queued, 0 acknowledged" in first
    assert "80 left in the outbox" in first
    outbox = Outbox(tmp_path / "outbox.sqlite3")
    assert outbox.count() == 80
    assert outbox.last_seqs() == dict.fromkeys(DEVICES, 20)
    outbox.close()

    broker.start()
    collector = Collector(broker.url, "restart-collector")
    try:
        collector.wait_subscribed()
        second = run_command(*online(tmp_path, broker, "--readings", "20", "--speedup", "5000"))
        assert "continuing the simulated clock" in second
        assert "0 left in the outbox" in second
        assert collector.wait_until(complete(dict.fromkeys(DEVICES, 40)), 10), collector.seqs()
        arrived = collector.seqs()
        tokens = collector.snapshot()
    finally:
        collector.close()
    for device in DEVICES:
        assert arrived[device] == list(range(1, 41)), "the backlog goes first, oldest first"
    timestamps: dict[str, list] = {}
    for token in tokens:
        payload = decode_payload(parse_compact(token).payload)
        timestamps.setdefault(payload.device, []).append(payload.ts)
    for device, moments in timestamps.items():
        assert moments == sorted(moments), device
        assert len(set(moments)) == 40, device


def test_sigterm_drains_disconnects_and_exits_zero(tmp_path, broker, collector):
    key_dir = tmp_path / "keys"
    for device in ("truck-001-reefer", "truck-001-logger"):
        write_private_key(key_dir / f"{device}.pem", generate_private_key())
    environment = os.environ | {"COLDCHAIN_VAR_DIR": str(tmp_path / "var")}
    process = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            # argparse keeps the last --trucks
            *online(tmp_path, broker, "--speedup", "600", "--no-provision", "--trucks", "1"),
        ],
        cwd=REPO,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert collector.wait_until(lambda c: len(c.snapshot()) >= 20, 20), "no readings arrived"
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, err
    assert "0 left in the outbox" in out
    seqs = collector.seqs()
    for device in ("truck-001-reefer", "truck-001-logger"):
        assert seqs[device] == list(range(1, len(seqs[device]) + 1))
    assert (tmp_path / "truth" / "truth.csv").read_text().count("\n") > 10


def test_a_killed_simulator_loses_nothing_once_it_runs_again(tmp_path, broker, collector):
    key_dir = tmp_path / "keys"
    devices = ("truck-001-reefer", "truck-001-logger")
    for device in devices:
        write_private_key(key_dir / f"{device}.pem", generate_private_key())
    arguments = online(tmp_path, broker, "--no-provision", "--trucks", "1")
    environment = os.environ | {"COLDCHAIN_VAR_DIR": str(tmp_path / "var")}
    process = subprocess.Popen(
        [sys.executable, "manage.py", *arguments, "--speedup", "3000"],
        cwd=REPO,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert collector.wait_until(lambda c: len(c.snapshot()) >= 40, 20), "no readings arrived"
    finally:
        process.kill()  # no drain, no goodbye: a crash
        process.wait()
    outbox = Outbox(tmp_path / "outbox.sqlite3")
    committed = outbox.last_seqs()
    outbox.close()
    assert set(committed) == set(devices)

    output = run_command(*arguments, "--readings", "10", "--speedup", "3000")
    assert "0 left in the outbox" in output
    expected = {device: committed[device] + 10 for device in devices}
    assert collector.wait_until(complete(expected), 10), (expected, collector.seqs())


@pytest.mark.django_db
def test_not_before_skips_the_early_instants_but_keeps_the_trips_of_the_plan(
    tmp_path, broker, collector
):
    start, not_before = "2026-01-05T00:00:00Z", "2026-01-05T10:00:30Z"
    arguments = ["--start", start, "--trip-hours", "2-4", "--readings", "3", "--speedup", "5000"]
    run_command(*online(tmp_path, broker, *arguments, "--not-before", not_before))
    with (tmp_path / "truth" / "truth.csv").open(newline="") as handle:
        truths = list(csv.DictReader(handle))
    config = FleetConfig(
        start=datetime.fromisoformat(start).timestamp(), trucks=2, trip_hours=(2.0, 4.0)
    )
    plan = fleet_trips(config, until=datetime.fromisoformat(not_before).timestamp() + 3600)
    assert min(row["t"] for row in truths).startswith("2026-01-05T10:01:00")
    for row in truths:
        t = datetime.fromisoformat(row["t"]).timestamp()
        trip = next(trip for trip in plan[row["truck"]] if trip.start <= t < trip.end)
        assert (int(row["trip"]), row["product"]) == (trip.index, trip.product.name)
