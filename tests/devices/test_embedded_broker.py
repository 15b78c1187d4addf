"""The embedded default's MQTT path: amqtt broker, MQTT 3.1.1 bridge, real worker."""

import signal

import paho.mqtt.client as mqtt
import pytest

from devices.models import Reading
from devices.wire import topic_for
from tests.factories import make_device
from tests.support.brokers import free_port
from tests.support.processes import PlatformEnv, wait_until

pytestmark = [pytest.mark.servers, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def embedded(tmp_path):
    port = free_port()
    env = PlatformEnv(mqtt_url=f"mqtt://coldchain@127.0.0.1:{port}", var_dir=tmp_path / "var")
    env.variables["MQTT_PROTOCOL"] = "3.1.1"
    env.manage("broker", "mqtt_broker", "--port", str(port))
    assert wait_until(lambda: "embedded MQTT broker on" in env.log("broker"), timeout=20)
    env.port = port
    yield env
    env.close()


def publish(port: int, messages: list[tuple[str, bytes]]) -> None:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
    client.username_pw_set("truck")
    client.connect("127.0.0.1", port)
    client.loop_start()
    for topic, payload in messages:
        client.publish(topic, payload, qos=1).wait_for_publish(10)
    client.loop_stop()
    client.disconnect()


def test_readings_flow_through_the_embedded_broker(embedded):
    embedded.worker()
    embedded.bridge()
    device = make_device()
    publish(embedded.port, [(topic_for(device.id), device.signed(seq)) for seq in range(1, 101)])
    assert wait_until(lambda: Reading.objects.count() == 100, timeout=30), embedded.log("bridge")


def test_messages_published_while_the_bridge_is_down_wait_in_its_session(embedded):
    embedded.worker()
    bridge = embedded.bridge(client_id="embedded-bridge")
    embedded.kill(bridge, signal.SIGTERM)
    device = make_device()
    publish(embedded.port, [(topic_for(device.id), device.signed(seq)) for seq in range(1, 51)])
    embedded.bridge(client_id="embedded-bridge")
    assert wait_until(lambda: Reading.objects.count() == 50, timeout=30), embedded.log("bridge")
