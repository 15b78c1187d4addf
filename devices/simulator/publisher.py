"""Forward the outbox to MQTT at QoS 1, in order, with a bounded window.

paho's network thread only reports events (connected, disconnected, PUBACK
for a message id) through thread-safe primitives; the outbox, which is a
sqlite3 connection, is touched by the calling thread alone. That split also
avoids a deadlock: paho calls ``on_publish`` while holding the lock that
``publish()`` takes, so the callback must never wait for the publishing
thread.

Once handed to paho, a message stays in paho's session until the broker
acknowledges it; after a reconnect paho sends it again (DUP set) before
anything newer. Messages not yet handed over wait in the outbox. So after an
outage the resend order is oldest first, and at most ``window`` messages are
ever unacknowledged: far below the 65,535 message ids MQTT has.

A PUBACK that reports failure, or (MQTT 5, unless ``retry_unrouted`` is
off) that no subscription matched, does not delete the message: it is sent
again after ``retry_after_s``.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable

import paho.mqtt.client as mqtt

from devices.mqtt import MqttConfig, connect_kwargs, new_client
from devices.simulator.outbox import Outbox

log = logging.getLogger(__name__)

DEFAULT_WINDOW = 256
RETRY_AFTER_S = 5.0
# MQTT 5 PUBACK reason 0x10: accepted, but no subscription matched, so the
# message is gone. Mosquitto 2.0 does not restore shared subscriptions from
# its persistence file: after a broker restart, until the ingest bridge has
# subscribed again, readings would be acknowledged and dropped. A device that
# must lose nothing keeps them and tries again.
NO_MATCHING_SUBSCRIBERS = 0x10


class Publisher:
    def __init__(
        self,
        outbox: Outbox,
        config: MqttConfig,
        client_id: str,
        *,
        window: int = DEFAULT_WINDOW,
        reconnect_delay_s: tuple[float, float] = (1.0, 30.0),
        keepalive_s: int = 30,
        retry_unrouted: bool = True,
        retry_after_s: float = RETRY_AFTER_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 1 <= window <= 65_000:
            raise ValueError("window must be between 1 and 65000 messages")
        self.outbox = outbox
        self.config = config
        self.window = window
        self.keepalive_s = keepalive_s
        self.retry_unrouted = retry_unrouted
        self.retry_after_s = retry_after_s
        self.clock = clock
        self.client = new_client(config, client_id, persistent_session=False)
        self.client.max_inflight_messages_set(window)
        # paho's loop thread reconnects on its own, doubling the wait from
        # the minimum up to the maximum after each failed attempt.
        self.client.reconnect_delay_set(*reconnect_delay_s)  # type: ignore[arg-type]
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_publish = self._on_publish
        self._events: queue.SimpleQueue[tuple[int, str]] = queue.SimpleQueue()
        self._connected = threading.Event()
        self._inflight: dict[int, int] = {}  # paho mid -> outbox row id
        self._handed: set[int] = set()  # outbox row ids in paho's hands
        self._cursor = 0  # highest outbox id handed to paho so far
        self._paused_until = 0.0
        self._stopping = False
        self._server_window = 65_535
        self.acknowledged = 0
        self.retried = 0
        self.connects = 0
        self.disconnects = 0

    # --- paho's thread --------------------------------------------------------

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            log.warning("MQTT broker refused the connection: %s", reason_code)
            return
        self.connects += 1
        # An MQTT 5 broker may accept fewer unacknowledged messages than our
        # window (EMQX defaults to 32); paho does not enforce that by itself.
        receive_maximum = getattr(properties, "ReceiveMaximum", None) if properties else None
        self._server_window = receive_maximum or 65_535
        self._connected.set()
        self._events.put((0, ""))  # wake the publishing thread

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        if self._connected.is_set() and not self._stopping:
            self.disconnects += 1
            log.warning("MQTT connection lost (%s); readings queue in the outbox", reason_code)
        self._connected.clear()

    def _on_publish(self, client, userdata, mid, reason_code, properties) -> None:
        refused = ""
        if reason_code.is_failure:
            refused = str(reason_code)
        elif self.retry_unrouted and reason_code.value == NO_MATCHING_SUBSCRIBERS:
            refused = "no subscriber"
        self._events.put((mid, refused))

    # --- the publishing thread ------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    @property
    def inflight(self) -> int:
        return len(self._inflight)

    def start(self) -> None:
        """Connect in the background; a broker that is down now is retried."""
        self.client.connect_async(
            **connect_kwargs(
                self.config,
                persistent_session=False,
                session_expiry_s=0,
                keepalive=self.keepalive_s,
            )
        )
        self.client.loop_start()

    def stop(self) -> None:
        """Disconnect; whatever is unacknowledged stays in the outbox for next time."""
        self._stopping = True
        self.client.disconnect()
        self.client.loop_stop()
        self._connected.clear()

    def wait(self, timeout: float) -> None:
        """Sleep until paho reports something or ``timeout`` passes."""
        try:
            event = self._events.get(timeout=max(0.0, timeout))
        except queue.Empty:
            return
        self._events.put(event)  # let pump() handle it

    def pump(self) -> int:
        """Apply acknowledgements, then hand more messages to paho; return how many."""
        acked: list[int] = []
        while True:
            try:
                mid, refused = self._events.get_nowait()
            except queue.Empty:
                break
            row_id = self._inflight.pop(mid, None) if mid else None
            if row_id is None:
                continue
            self._handed.discard(row_id)
            if refused:
                # Not delivered (quota, ACL, nobody subscribed): keep it,
                # send it again later in order, do not hammer the broker.
                if self.clock() >= self._paused_until:
                    log.warning(
                        "broker did not take outbox message %d (%s); retrying in %.0f s",
                        row_id,
                        refused,
                        self.retry_after_s,
                    )
                self.retried += 1
                self._cursor = min(self._cursor, row_id - 1)
                self._paused_until = self.clock() + self.retry_after_s
            else:
                acked.append(row_id)
        if acked:
            self.outbox.ack(acked)
            self.acknowledged += len(acked)
        if not self._connected.is_set() or self.clock() < self._paused_until:
            return 0
        room = min(self.window, self._server_window) - len(self._inflight)
        handed = 0
        while room > 0:
            rows = self.outbox.pending(self._cursor, room + len(self._handed))
            if not rows:
                break
            for row in rows:
                if room <= 0:
                    break
                self._cursor = row.id  # rows come in id order, all above the cursor
                if row.id in self._handed:
                    continue
                info = self.client.publish(row.topic, row.payload, qos=1)
                if info.rc == mqtt.MQTT_ERR_QUEUE_SIZE:
                    self._cursor = row.id - 1
                    return handed
                # MQTT_ERR_NO_CONN is fine: paho keeps the message and sends
                # it once connected again.
                self._inflight[info.mid] = row.id
                self._handed.add(row.id)
                room -= 1
                handed += 1
        return handed

    def drain(self, timeout_s: float, stop: Callable[[], bool] = lambda: False) -> bool:
        """Keep forwarding until the outbox is empty; False if time ran out first."""
        deadline = self.clock() + timeout_s
        while True:
            self.pump()
            if not self._inflight and self.outbox.count() == 0:
                return True
            remaining = deadline - self.clock()
            if remaining <= 0 or stop():
                return False
            self.wait(min(remaining, 0.2))
