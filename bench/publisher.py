"""Benchmark publisher: sends pre-signed readings at QoS 1 and records publish times.

Run by the benchmarks as a separate process, never by hand:

    publisher.py --messages FILE --port P --times-out FILE [--rate R] [--inflight N]

FILE is a pickle ``{"topics": [...], "payloads": [...]}``. The process
connects, prints ``ready``, waits for a line on stdin, publishes every message
once (at most ``--inflight`` QoS 1 messages without a PUBACK, so nothing
queues in the client and the recorded time is the send time), waits for every
PUBACK, writes one float64 wall-clock time per message to --times-out and
prints a JSON summary.

``--client paho`` (default) publishes with paho-mqtt (its own semaphore bounds
the window; paho's ``max_inflight_messages_set`` and ``max_queued_messages_set(0)``
too). ``--client raw`` speaks MQTT 5 QoS 1 on a plain socket with pre-encoded
packets and costs a few µs per message instead of ~80: on a 2-core box the
load generator then takes little CPU from the system under test, the way
publishers on other machines would.
"""

from __future__ import annotations

import argparse
import json
import pickle
import select
import socket
import sys
import threading
import time
from array import array

import paho.mqtt.client as mqtt


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--times-out", required=True)
    parser.add_argument("--rate", type=float, default=0.0, help="messages/s, 0 = unpaced")
    parser.add_argument("--inflight", type=int, default=1000)
    parser.add_argument("--client-id", default="coldchain-bench-publisher")
    parser.add_argument("--ack-timeout", type=float, default=300.0)
    parser.add_argument("--client", choices=["paho", "raw"], default="paho")
    args = parser.parse_args()

    with open(args.messages, "rb") as source:
        data = pickle.load(source)
    topics, payloads = data["topics"], data["payloads"]
    if args.client == "raw":
        return publish_raw(args, topics, payloads)
    return publish_paho(args, topics, payloads)


def summary(total, acked, failed, started, last_sent, all_acked, waited, cpu_s) -> str:
    return json.dumps(
        {
            "published": total,
            "acked": acked,
            "failed_acks": failed,
            "first_publish": started,
            "last_publish": last_sent,
            "all_acked": all_acked,
            "publish_rate": total / max(last_sent - started, 1e-9),
            "waited_for_inflight_s": waited,
            "cpu_s": cpu_s,
        }
    )


def publish_paho(args, topics: list[str], payloads: list[bytes]) -> int:
    total = len(payloads)

    slots = threading.BoundedSemaphore(args.inflight)
    acked = [0]
    failed = [0]
    connected = threading.Event()

    def on_connect(client, userdata, flags, reason_code, properties):
        if not reason_code.is_failure:
            connected.set()

    def on_publish(client, userdata, mid, reason_code, properties):
        acked[0] += 1
        if reason_code.is_failure:
            failed[0] += 1
        slots.release()

    client = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2, client_id=args.client_id, protocol=mqtt.MQTTv5
    )
    client.max_inflight_messages_set(args.inflight)
    client.max_queued_messages_set(0)
    client.on_connect = on_connect
    client.on_publish = on_publish
    client.connect("127.0.0.1", args.port, keepalive=60)
    client.loop_start()
    try:
        if not connected.wait(10):
            print(json.dumps({"error": "could not connect"}), flush=True)
            return 2
        print("ready", flush=True)
        sys.stdin.readline()

        times = array("d", bytes(8 * total))
        cpu_started = time.process_time()
        started = time.time()
        waited_for_slot = 0.0
        for index in range(total):
            if args.rate > 0:
                delay = started + index / args.rate - time.time()
                if delay > 0.0005:
                    time.sleep(delay)
            if not slots.acquire(blocking=False):
                before = time.perf_counter()
                if not slots.acquire(timeout=args.ack_timeout):
                    print(json.dumps({"error": f"no PUBACK for {args.ack_timeout} s"}), flush=True)
                    return 3
                waited_for_slot += time.perf_counter() - before
            times[index] = time.time()
            info = client.publish(topics[index], payloads[index], qos=1)
            if info.rc != mqtt.MQTT_ERR_SUCCESS:
                print(json.dumps({"error": f"publish rc {info.rc} at {index}"}), flush=True)
                return 4
        last_sent = time.time()
        deadline = time.monotonic() + args.ack_timeout
        while acked[0] < total and time.monotonic() < deadline:
            time.sleep(0.005)
        all_acked = time.time()
        with open(args.times_out, "wb") as sink:
            times.tofile(sink)
        print(
            summary(
                total,
                acked[0],
                failed[0],
                started,
                last_sent,
                all_acked,
                waited_for_slot,
                time.process_time() - cpu_started,
            ),
            flush=True,
        )
        return 0 if acked[0] == total and failed[0] == 0 else 5
    finally:
        client.disconnect()
        client.loop_stop()


# --- raw MQTT 5 --------------------------------------------------------------------


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value % 128, value // 128
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _string(text: str | bytes) -> bytes:
    data = text.encode() if isinstance(text, str) else text
    return len(data).to_bytes(2, "big") + data


def _read_packet(sock: socket.socket, buffer: bytearray, deadline: float) -> tuple[int, bytes]:
    while True:
        parsed = _take_packet(buffer)
        if parsed:
            return parsed
        if time.monotonic() > deadline:
            raise TimeoutError("no packet from the broker")
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("broker closed the connection")
        buffer += chunk


def _take_packet(buffer: bytearray) -> tuple[int, bytes] | None:
    """Remove and return one complete packet (type byte, body) from ``buffer``."""
    if len(buffer) < 2:
        return None
    length, shift, pos = 0, 0, 1
    while True:
        if pos >= len(buffer):
            return None
        byte = buffer[pos]
        length |= (byte & 0x7F) << shift
        pos += 1
        if not byte & 0x80:
            break
        shift += 7
    if len(buffer) < pos + length:
        return None
    kind, body = buffer[0], bytes(buffer[pos : pos + length])
    del buffer[: pos + length]
    return kind, body


def publish_raw(args, topics: list[str], payloads: list[bytes]) -> int:
    total = len(payloads)
    inflight = min(args.inflight, 65_000)  # 16-bit packet ids, never two alike in flight
    sock = socket.create_connection(("127.0.0.1", args.port), timeout=10)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    # CONNECT: MQTT 5, clean start, no keepalive (the run is short), no properties.
    body = _string("MQTT") + bytes([5, 0x02]) + (0).to_bytes(2, "big") + b"\x00"
    body += _string(args.client_id)
    sock.sendall(b"\x10" + _varint(len(body)) + body)
    buffer = bytearray()
    kind, body = _read_packet(sock, buffer, time.monotonic() + 10)
    if kind != 0x20 or body[1] != 0:
        print(json.dumps({"error": f"CONNACK {kind:#x} {body[:2].hex()}"}), flush=True)
        return 2
    sock.setblocking(False)
    encoded_topics = {topic: _string(topic) for topic in set(topics)}
    print("ready", flush=True)
    sys.stdin.readline()

    times = array("d", bytes(8 * total))
    cpu_started = time.process_time()
    acked = failed = sent = 0
    waited = 0.0
    started = last_sent = time.time()
    deadline = time.monotonic() + args.ack_timeout
    outgoing = b""
    while acked < total:
        if time.monotonic() > deadline:
            print(json.dumps({"error": f"no PUBACK for {args.ack_timeout} s"}), flush=True)
            return 3
        limit = min(total, acked + inflight, sent + 64)
        if args.rate > 0:
            limit = min(limit, int((time.time() - started) * args.rate) + 1)
        if limit > sent and not outgoing:
            now = time.time()
            packets = []
            for index in range(sent, limit):
                times[index] = now
                variable = encoded_topics[topics[index]] + (index % 65535 + 1).to_bytes(2, "big")
                rest = variable + b"\x00" + payloads[index]
                packets.append(b"\x32" + _varint(len(rest)) + rest)
            outgoing = b"".join(packets)
            sent = limit
        window_open = sent < total and acked + inflight > sent
        if outgoing or (window_open and args.rate <= 0):
            timeout = 0.0
        elif window_open:
            timeout = max(0.0, started + sent / args.rate - time.time())
        else:
            timeout = 0.5  # window full (or all sent): wait for PUBACKs
        before = time.perf_counter()
        readable, writable, _ = select.select([sock], [sock] if outgoing else [], [], timeout)
        if not window_open and sent < total:
            waited += time.perf_counter() - before
        if writable:
            written = sock.send(outgoing)
            outgoing = outgoing[written:]
            if sent == total and not outgoing:
                last_sent = time.time()
        if readable:
            chunk = sock.recv(262144)
            if not chunk:
                print(json.dumps({"error": "broker closed the connection"}), flush=True)
                return 4
            buffer += chunk
            while (packet := _take_packet(buffer)) is not None:
                kind, body = packet
                if kind & 0xF0 == 0x40:
                    acked += 1
                    deadline = time.monotonic() + args.ack_timeout
                    if len(body) > 2 and body[2] >= 0x80:
                        failed += 1
                elif kind & 0xF0 == 0xE0:
                    print(json.dumps({"error": f"DISCONNECT {body.hex()}"}), flush=True)
                    return 4
    all_acked = time.time()
    sock.setblocking(True)
    sock.sendall(b"\xe0\x00")
    sock.close()
    with open(args.times_out, "wb") as sink:
        times.tofile(sink)
    cpu_s = time.process_time() - cpu_started
    print(summary(total, acked, failed, started, last_sent, all_acked, waited, cpu_s), flush=True)
    return 0 if failed == 0 else 5


if __name__ == "__main__":
    sys.exit(main())
