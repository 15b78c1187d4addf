"""A reading published over MQTT reaches an open shipment page without a reload.

The whole path runs for real: a Mosquitto of the test's own, the MQTT bridge
and a Celery worker as subprocesses, Redis, and the live server's PostgreSQL
test database.
"""

import paho.mqtt.client as mqtt
import pytest
from playwright.sync_api import expect

from devices.wire import topic_for
from tests.factories import make_device
from tests.frontend.browser.conftest import log_in, screenshot
from tests.shipment_factories import make_shipment
from tests.support.brokers import MosquittoBroker
from tests.support.processes import PlatformEnv

pytestmark = [pytest.mark.browser, pytest.mark.servers, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def platform(tmp_path):
    with MosquittoBroker(tmp_path / "mosquitto") as broker:
        env = PlatformEnv(mqtt_url=broker.url, var_dir=tmp_path / "var")
        try:
            env.worker(concurrency=1)
            env.bridge()
            yield broker
        finally:
            env.close()


def publish(broker: MosquittoBroker, topic: str, payload: bytes) -> None:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    try:
        client.publish(topic, payload, qos=1).wait_for_publish(10)
    finally:
        client.loop_stop()
        client.disconnect()


def test_a_reading_published_over_mqtt_appears_on_the_open_shipment_page(
    page, carrier, carrier_user, platform
):
    logger = make_device(device_id="truck-042-logger", vehicle="truck-042")
    shipment = make_shipment(carrier=carrier, devices=[logger.device])
    log_in(page, "dispatcher")
    page.goto(f"/shipments/{shipment.reference}/")
    expect(page.locator("#latest-readings")).to_contain_text("No readings yet")
    page.evaluate("window.loadedOnce = true")

    publish(platform, topic_for(logger.id), logger.signed(7, temp_c=6.25))

    row = page.locator('#latest-readings tr[data-device="truck-042-logger"]')
    expect(row).to_contain_text("6.25", timeout=30_000)
    expect(row.locator(".seq")).to_have_text("7")
    assert page.evaluate("window.loadedOnce") is True  # the same page, never reloaded
    expect(page.locator("#chart")).to_have_attribute("data-points", "1", timeout=10_000)
    screenshot(page, "shipment-live")
