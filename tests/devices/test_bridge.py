"""The bridge's batching: full batches, a bounded wait, and the broker's window."""

from __future__ import annotations

import paho.mqtt.client as mqtt
import pytest

from devices.bridge import IDLE_FLUSH_S, IngestBridge
from devices.mqtt import MqttConfig
from tests.support.brokers import MosquittoBroker
from tests.support.processes import wait_until

MAX_DELAY_S = 0.05


def bridge_on(url: str, protocol: str, *, batch_size: int = 500, submit=lambda messages: None):
    return IngestBridge(
        config=MqttConfig.from_url(url, protocol),
        client_id=f"test-bridge-{protocol}",
        share_group="",
        session_expiry_s=0,
        batch_size=batch_size,
        max_delay_s=MAX_DELAY_S,
        submit=submit,
    )


def receive(bridge: IngestBridge, count: int) -> None:
    for mid in range(1, count + 1):
        message = mqtt.MQTTMessage(mid=mid, topic=b"coldchain/v1/readings/logger-1")
        message.payload = b"token"
        message.qos = 1
        bridge.on_message(bridge.client, None, message)


def test_a_full_batch_is_due_at_once():
    bridge = bridge_on("mqtt://127.0.0.1:1", "5", batch_size=3)
    receive(bridge, 3)
    assert bridge.flush_due(bridge.first_pending_at)


def test_with_mqtt5_a_silence_does_not_cut_a_batch_short():
    # The broker may send up to the receive maximum we announced: more can come.
    bridge = bridge_on("mqtt://127.0.0.1:1", "5")
    receive(bridge, 2)
    assert not bridge.flush_due(bridge.last_message_at + 4 * IDLE_FLUSH_S)


def test_a_batch_is_due_once_its_first_message_waited_the_max_delay():
    bridge = bridge_on("mqtt://127.0.0.1:1", "5")
    receive(bridge, 1)
    assert not bridge.flush_due(bridge.first_pending_at + 0.9 * MAX_DELAY_S)
    assert bridge.flush_due(bridge.first_pending_at + 1.01 * MAX_DELAY_S)


def test_with_mqtt311_a_short_silence_flushes_as_the_broker_window_may_be_full():
    bridge = bridge_on("mqtt://127.0.0.1:1", "3.1.1")
    receive(bridge, 2)
    assert bridge.flush_due(bridge.last_message_at + IDLE_FLUSH_S)


@pytest.fixture
def broker(tmp_path):
    with MosquittoBroker(tmp_path / "mosquitto") as running:
        yield running


@pytest.mark.servers
def test_the_broker_sends_at_most_two_batches_before_the_bridge_acknowledges(broker):
    def database_down(messages):
        raise ConnectionError("database down")

    bridge = bridge_on(broker.url, "5", batch_size=5, submit=database_down)
    bridge.connect()
    assert wait_until(lambda: bridge.run_once(0.01) and bridge.connected, timeout=10)
    publisher = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    publisher.connect("127.0.0.1", broker.port)

    # Mosquitto drops readings sent before the subscription is in place.
    def probe_arrived() -> bool:
        publisher.publish("coldchain/v1/readings/logger-1", "probe", qos=1)
        publisher.loop(0.01)
        return bridge.run_once(0.01) and bool(bridge.pending)

    assert wait_until(probe_arrived, timeout=10)
    for n in range(30):
        publisher.publish("coldchain/v1/readings/logger-1", f"reading {n}", qos=1)
    publisher.loop(0.1)
    # Every flush fails, so nothing is ever acknowledged.
    wait_until(lambda: bridge.run_once(0.01) and len(bridge.pending) > 10, timeout=0.8)
    assert len(bridge.pending) == 10
    publisher.disconnect()
    bridge.stop()
    bridge.client.disconnect()
