import threading
import time
from collections import defaultdict

import pytest

from devices.mqtt import MqttConfig, connect_kwargs, new_client
from devices.wire import TOPIC_PREFIX, decode_payload, parse_compact
from tests.support.brokers import MosquittoBroker


@pytest.fixture
def broker(tmp_path):
    """A private Mosquitto with the project's config on a free port."""
    with MosquittoBroker(tmp_path / "mosquitto") as running:
        yield running


class Collector:
    """A subscriber with a persistent session: what the ingest bridge would receive."""

    def __init__(self, url: str, client_id: str = "test-collector") -> None:
        self.config = MqttConfig.from_url(url, "5")
        self.messages: list[bytes] = []
        self.lock = threading.Lock()
        self.subscribed = threading.Event()
        self.client = new_client(self.config, client_id, persistent_session=True)
        self.client.reconnect_delay_set(1, 1)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.connect_async(
            **connect_kwargs(self.config, persistent_session=True, session_expiry_s=600)
        )
        self.client.loop_start()

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        client.subscribe(TOPIC_PREFIX + "#", qos=1)
        self.subscribed.set()

    def _on_message(self, client, userdata, message) -> None:
        with self.lock:
            self.messages.append(bytes(message.payload))

    def wait_subscribed(self, timeout: float = 10.0) -> None:
        assert self.subscribed.wait(timeout), "collector could not subscribe"
        time.sleep(0.2)  # SUBACK

    def snapshot(self) -> list[bytes]:
        with self.lock:
            return list(self.messages)

    def seqs(self) -> dict[str, list[int]]:
        """Sequence numbers per device in arrival order (duplicates kept)."""
        out = defaultdict(list)
        for token in self.snapshot():
            payload = decode_payload(parse_compact(token).payload)
            out[payload.device].append(payload.seq)
        return dict(out)

    def wait_until(self, predicate, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate(self):
                return True
            time.sleep(0.05)
        return predicate(self)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def collector(broker):
    subscriber = Collector(broker.url)
    subscriber.wait_subscribed()
    yield subscriber
    subscriber.close()


def complete(expected: dict[str, int]):
    """Predicate: every device's seqs 1..n have arrived."""

    def check(collector: Collector) -> bool:
        seqs = collector.seqs()
        return all(set(range(1, n + 1)) <= set(seqs.get(d, ())) for d, n in expected.items())

    return check
