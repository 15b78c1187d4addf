"""End to end on real servers: simulator -> Mosquitto -> bridge -> Redis -> worker -> PostgreSQL.

Each test runs its own Mosquitto (the project's docker/mosquitto.conf on a
free port, so it can be stopped without touching the machine's broker), its
own Celery queue on the real Redis, and the test database on the real
PostgreSQL.
"""

import signal

import paho.mqtt.client as mqtt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import call_command
from django.db.models import Count, Max, Min

from devices.models import IngestBatch, Reading, Rejection
from devices.wire import sign_reading, topic_for
from ledger.models import Checkpoint, Entry
from tests.factories import make_device
from tests.support.brokers import MosquittoBroker
from tests.support.processes import PlatformEnv, wait_until

pytestmark = [pytest.mark.servers, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def broker(tmp_path):
    with MosquittoBroker(tmp_path / "mosquitto") as running:
        yield running


@pytest.fixture
def platform(broker, tmp_path):
    env = PlatformEnv(mqtt_url=broker.url, var_dir=tmp_path / "var", visibility_timeout_s=3)
    yield env
    env.close()


def simulate(platform: PlatformEnv, *, trucks: int, readings: int, speedup: int = 7200):
    return platform.manage(
        "simulator",
        "simulate",
        "--trucks", str(trucks),
        "--readings", str(readings),
        "--interval", "60",
        "--start", "now-24h",
        "--speedup", str(speedup),
        "--catch-up",
        "--fault-rate", "0",
        "--drain-timeout", "60",
    )  # fmt: skip


def stored() -> int:
    return Reading.objects.count()


def assert_each_reading_stored_exactly_once(devices: int, per_device: int) -> None:
    per = Reading.objects.values("device").annotate(n=Count("id"), lo=Min("seq"), hi=Max("seq"))
    assert len(per) == devices
    for row in per:
        # Unique (device, seq) is a database constraint: n readings spanning
        # exactly 1..n means none missing and none twice.
        assert (row["n"], row["lo"], row["hi"]) == (per_device, 1, per_device), row


def test_every_published_reading_is_stored_exactly_once(platform):
    platform.worker()
    platform.bridge()
    simulator = simulate(platform, trucks=3, readings=200)
    assert wait_until(lambda: stored() >= 1200, timeout=60), platform.log("bridge")
    assert simulator.wait(timeout=60) == 0
    assert_each_reading_stored_exactly_once(devices=6, per_device=200)
    assert not Rejection.objects.exclude(reason="duplicate").exists()


def test_stored_readings_are_sealed_into_a_log_that_verifies(platform):
    platform.worker()
    platform.bridge()
    simulate(platform, trucks=2, readings=100).wait(timeout=60)
    assert wait_until(lambda: stored() >= 400, timeout=60)
    call_command("seal")
    call_command("verify_ledger")
    # 4 registrations + 400 readings, every one under the latest signed checkpoint.
    assert Checkpoint.objects.latest().size == Entry.objects.count() == 404


def test_worker_killed_with_sigkill_mid_batch_loses_nothing(platform):
    worker = platform.worker()
    platform.beat()
    platform.bridge()
    simulate(platform, trucks=10, readings=400, speedup=3600)
    assert wait_until(lambda: stored() > 500, timeout=60)
    platform.kill(worker, signal.SIGKILL)
    in_flight_when_killed = stored()
    assert in_flight_when_killed < 8000
    platform.worker()
    assert wait_until(lambda: stored() >= 8000, timeout=90), platform.log("worker")
    assert_each_reading_stored_exactly_once(devices=20, per_device=400)


def test_worker_pool_process_killed_mid_batch_has_its_batch_redelivered(platform):
    worker = platform.worker(concurrency=1)
    platform.bridge()
    simulate(platform, trucks=10, readings=300, speedup=3600)
    assert wait_until(lambda: stored() > 500, timeout=60)
    for child in platform.pool_children(worker):
        child.kill()
    assert wait_until(lambda: stored() >= 6000, timeout=90), platform.log("worker")
    assert_each_reading_stored_exactly_once(devices=20, per_device=300)


def test_batches_forgotten_by_the_task_queue_are_queued_again(platform):
    # As if Redis restarted without persistence while the worker was down.
    worker = platform.worker()
    platform.beat()
    platform.bridge()
    simulate(platform, trucks=5, readings=200, speedup=3600)
    assert wait_until(lambda: stored() > 300, timeout=60)
    platform.kill(worker, signal.SIGKILL)
    platform.forget_queued_tasks()
    platform.worker()
    assert wait_until(lambda: stored() >= 2000, timeout=90), platform.log("beat")
    assert_each_reading_stored_exactly_once(devices=10, per_device=200)
    assert not IngestBatch.objects.exists()


def test_bridge_restarted_while_the_simulator_publishes_loses_nothing(platform):
    platform.worker()
    bridge = platform.bridge(client_id="restarted-bridge")
    simulate(platform, trucks=10, readings=300, speedup=3600)
    assert wait_until(lambda: stored() > 500, timeout=60)
    platform.kill(bridge, signal.SIGKILL)
    platform.bridge(client_id="restarted-bridge")
    assert wait_until(lambda: stored() >= 6000, timeout=90), platform.log("bridge")
    assert_each_reading_stored_exactly_once(devices=20, per_device=300)


def test_broker_stopped_for_a_while_loses_nothing(platform, broker):
    platform.worker()
    platform.bridge()
    simulate(platform, trucks=5, readings=400, speedup=1800)
    assert wait_until(lambda: stored() > 300, timeout=60)
    broker.restart(down_for=4.0)
    assert wait_until(lambda: stored() >= 4000, timeout=120), platform.log("simulator")
    assert_each_reading_stored_exactly_once(devices=10, per_device=400)


def test_bridge_keeps_running_through_every_kind_of_bad_message(platform, broker):
    platform.worker()
    bridge = platform.bridge()
    device = make_device()
    forged = sign_reading(Ed25519PrivateKey.generate(), device.reading(2))
    bad_messages = [b"", b"\x00\xff" * 40, b"a.b.c", b"x" * 35_000, forged]
    good = [device.signed(1), device.signed(3)]
    publisher = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    publisher.connect("127.0.0.1", broker.port)
    publisher.loop_start()
    for payload in [good[0], *bad_messages, good[1]]:
        publisher.publish(topic_for(device.id), payload, qos=1).wait_for_publish(10)
    publisher.publish("coldchain/v1/readings/other", good[0], qos=1).wait_for_publish(10)
    publisher.disconnect()
    assert wait_until(lambda: Rejection.objects.count() >= 6, timeout=30), platform.log("worker")
    assert sorted(Reading.objects.values_list("seq", flat=True)) == [1, 3]
    assert bridge.poll() is None
    reasons = sorted(Rejection.objects.values_list("reason", flat=True))
    assert reasons == sorted(
        [
            "malformed_jws",
            "malformed_jws",
            "malformed_jws",
            "oversized",
            "bad_signature",
            "device_mismatch",
        ]
    )
