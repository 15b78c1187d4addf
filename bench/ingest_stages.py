"""Cost per reading of each ingest stage, measured one at a time on real servers.

    .venv/bin/python bench/ingest_stages.py [--batch-sizes 200,500,1000] [--devices 100]

Stages: JWS parse (split + base64 + header), payload decode and validation,
Ed25519 verify, the bridge's and the worker's inbox batch (de)serialisation,
``readings_ingest`` on pre-built batches (with and without verification, its
time split by step), the out-of-order path, Celery enqueue per batch, and MQTT
pass-through (publisher -> private Mosquitto -> subscriber) with a bare paho
subscriber and with the product's IngestBridge whose enqueue does nothing.
Uses its own database (coldchain_bench_stages), Redis db 9 and Mosquitto.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import pickle
import random
import shutil
import signal
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchlib
from benchlib import PYTHON, ROOT, BenchEnv, Children

ACC: dict[str, float] = defaultdict(float)


def timed(name: str, fn):
    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            ACC[name] += time.perf_counter() - started

    wrapper.__wrapped__ = fn
    return wrapper


def per_call_us(fn, items, repeat: int = 3) -> float:
    """Best of ``repeat`` passes over ``items``, µs per item."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        for item in items:
            fn(item)
        best = min(best, time.perf_counter() - started)
    return 1e6 * best / len(items)


# --- pure stages ----------------------------------------------------------------


def pure_stages(payloads: list[bytes], public_keys: dict, topics: list[str]) -> dict:
    from devices.inbox import batch_decode, batch_encode
    from devices.wire import decode_payload, parse_compact, verify_signature

    signed = [parse_compact(p) for p in payloads]
    keyed = [(s, public_keys[s.kid]) for s in signed]
    messages = incoming(payloads, topics)
    encoded = batch_encode(messages)
    return {
        "parse_compact": per_call_us(parse_compact, payloads),
        "decode_payload": per_call_us(decode_payload, [s.payload for s in signed]),
        "parse_total": per_call_us(lambda p: decode_payload(parse_compact(p).payload), payloads),
        "ed25519_verify": per_call_us(lambda sk: verify_signature(sk[0], sk[1]), keyed),
        "bridge_batch_encode": per_call_us(batch_encode, [messages]) / len(messages),
        "worker_batch_decode": per_call_us(batch_decode, [encoded]) / len(messages),
    }


def incoming(payloads: list[bytes], topics: list[str]) -> list:
    """The messages as the bridge receives them."""
    from datetime import UTC, datetime

    from devices.ingest import SOURCE_MQTT, IncomingMessage

    now = datetime.now(tz=UTC)
    return [
        IncomingMessage(payload=p, received_at=now, source=SOURCE_MQTT, topic=t)
        for p, t in zip(payloads, topics, strict=True)
    ]


# --- readings_ingest -----------------------------------------------------------


def instrument() -> None:
    """Time the steps of readings_ingest by wrapping what it calls (this process only)."""
    from django.db.models.query import QuerySet

    import devices.ingest as ingest

    for name in (
        "parse_compact",
        "verify_signature",
        "decode_payload",
        "_existing_readings",
        "_store",
        "_ordering_problem",
        # the ingest path's bulk writes, by whichever name it uses
        "entries_append",
        "insert_returning_ids",
        "update_by_key",
    ):
        if hasattr(ingest, name):
            setattr(ingest, name, timed(name, getattr(ingest, name)))
    original_create, original_update = QuerySet.bulk_create, QuerySet.bulk_update

    def bulk_create(self, objs, *args, **kwargs):
        return timed(f"bulk_create {self.model.__name__}", original_create)(
            self, objs, *args, **kwargs
        )

    def bulk_update(self, objs, *args, **kwargs):
        return timed(f"bulk_update {self.model.__name__}", original_update)(
            self, objs, *args, **kwargs
        )

    QuerySet.bulk_create, QuerySet.bulk_update = bulk_create, bulk_update


def run_batches(batches: list[list], *, verify: bool = True) -> dict:
    """Keep each batch in the inbox (the bridge's step) and run ingest_batch_task's
    body on it, in this process; µs per reading by step."""
    import devices.ingest as ingest
    from devices.inbox import inbox_batch_add
    from devices.tasks import ingest_batch_task

    keep = timed("bridge: inbox_batch_add", inbox_batch_add)
    real_verify = ingest.verify_signature
    if not verify:
        ingest.verify_signature = timed("verify_signature", lambda message, key: None)
    try:
        ACC.clear()
        count, accepted = sum(map(len, batches)), 0
        wall, cpu = time.perf_counter(), time.process_time()
        for batch in batches:
            accepted += ingest_batch_task.run(keep(messages=batch))["accepted"]
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    finally:
        ingest.verify_signature = real_verify
    if accepted != count:
        raise RuntimeError(f"only {accepted} of {count} accepted")
    steps = {name: 1e6 * seconds / count for name, seconds in ACC.items()}
    store = steps.get("_store", 0.0)
    steps["_store other (lock, existing query, commit)"] = store - sum(
        steps.get(k, 0.0)
        for k in (
            "_existing_readings",
            "bulk_create Reading",
            "bulk_update Device",
            "bulk_create Rejection",
            "_ordering_problem",
            "entries_append",
            "insert_returning_ids",
            "update_by_key",
        )
    )
    return {
        "us_per_reading_wall": 1e6 * wall / count,
        "us_per_reading_cpu_this_process": 1e6 * cpu / count,
        "readings_per_s_one_process": count / wall,
        "steps_us_per_reading": steps,
    }


def build_batches(keys: dict, per_device: int, batch_size: int, seq_start: str, rng):
    import ingest_e2e

    total = per_device * len(keys)
    topics, payloads, _ = ingest_e2e.sign_all(keys, total, seq_start, rng)
    items = incoming(payloads, topics)
    return [items[i : i + batch_size] for i in range(0, len(items), batch_size)]


def ingest_stages(batch_sizes: list[int], device_counts: list[int], readings: int, rng) -> dict:
    import ingest_e2e

    results: dict = {}
    for devices in device_counts:
        for batch_size in batch_sizes:
            label = f"devices={devices} batch={batch_size}"
            per_device = max(1, readings // devices)
            for variant, verify, seq_start in (
                ("verify", True, "aligned"),
                ("no-verify", False, "aligned"),
                ("verify, seq spread", True, "spread"),
            ):
                prefix = f"s{len(results)}"
                keys = ingest_e2e.make_devices(prefix, devices)
                batches = build_batches(keys, per_device, batch_size, seq_start, rng)
                run_batches(batches[:1], verify=verify)  # connections, key cache
                results[f"{label} {variant}"] = run_batches(batches[1:], verify=verify)
                print(
                    f"# {label} {variant}: "
                    f"{results[f'{label} {variant}']['us_per_reading_wall']:.1f} µs/reading",
                    flush=True,
                )
    return results


def late_batches(batch_size: int, devices: int, rng) -> dict:
    """Two workers can commit batch k+1 before batch k: the cost of batch k then."""
    import ingest_e2e

    keys = ingest_e2e.make_devices("late", devices)
    per_device = max(2, 20 * batch_size // devices)
    batches = build_batches(keys, per_device, batch_size, "aligned", rng)
    in_order, late = [], []
    for first, second in zip(batches[0::2], batches[1::2], strict=False):
        in_order.append(second)
        late.append(first)
    run_batches(in_order)
    return run_batches(late)


def enqueue_cost(env: BenchEnv, batch_sizes: list[int], payloads, topics) -> dict:
    """The bridge's hand-off per batch: keep it in the inbox, queue its id."""
    from devices.inbox import inbox_batch_submit
    from devices.tasks import enqueue_ingest

    out = {}
    for batch_size in batch_sizes:
        messages = incoming(payloads[:batch_size], topics[:batch_size])
        inbox_batch_submit(messages=messages, enqueue=enqueue_ingest)  # connections
        rounds = 50
        started, cpu = time.perf_counter(), time.process_time()
        for _ in range(rounds):
            inbox_batch_submit(messages=messages, enqueue=enqueue_ingest)
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
        out[f"batch={batch_size}"] = {
            "ms_per_batch": 1e3 * wall / rounds,
            "us_per_reading": 1e6 * wall / rounds / batch_size,
            "cpu_us_per_reading": 1e6 * cpu / rounds / batch_size,
            "task_message_bytes": queued_message_size(env),
        }
        benchlib.flush_redis(env)
    return out


def queued_message_size(env: BenchEnv) -> int:
    client = benchlib.redis_client(env)
    try:
        return len(client.lindex(env.queue, 0))
    finally:
        client.close()


# --- what the DB step could cost -----------------------------------------------------

READING_COLUMNS = (
    ("device_id", "text"),
    ("seq", "bigint"),
    ("ts", "timestamptz"),
    ("received_at", "timestamptz"),
    ("stored_at", "timestamptz"),
    ("temp_c", "float8"),
    ("ambient_c", "float8"),
    ("humidity_pct", "float8"),
    ("door_open", "boolean"),
    ("lat", "float8"),
    ("lon", "float8"),
    ("reefer_on", "boolean"),
    ("setpoint_c", "float8"),
    ("battery_pct", "float8"),
    ("jws", "bytea"),
)


def reading_rows(prefix: str, devices: int, batch_size: int, batches: int, rng) -> list:
    """Batches of unsaved Reading objects exactly as devices.ingest builds them."""
    import ingest_e2e

    from devices.ingest import _Candidate, _reading_row
    from devices.wire import decode_payload, parse_compact

    keys = ingest_e2e.make_devices(prefix, devices)
    built = build_batches(keys, max(1, batch_size * batches // devices), batch_size, "aligned", rng)
    out = []
    for batch in built[:batches]:
        rows = []
        for index, message in enumerate(batch):
            signed = parse_compact(message.payload)
            rows.append(
                _reading_row(_Candidate(index, message, signed, decode_payload(signed.payload)))
            )
        out.append(rows)
    return out


def _orm_ingest() -> bool:
    """True while devices.ingest builds Reading objects for bulk_create (before 82b8e19)."""
    import devices.ingest as ingest

    return not hasattr(ingest, "insert_returning_ids")


def db_alternatives(batch_size: int, devices: int, rng) -> dict:
    """The two heavy statements of _store, as Django issues them and as plain SQL.

    Django: Reading bulk_create (RETURNING id) and Device bulk_update (CASE WHEN
    per row and field). Plain: one INSERT ... SELECT FROM unnest(arrays)
    RETURNING id and one UPDATE ... FROM unnest(arrays), server-side binding.
    Each figure is µs per reading, or per device row for the updates.
    """
    import psycopg
    from django.db import connection, transaction
    from django.db.models.sql import InsertQuery
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from devices.models import Device, Reading

    rounds = 10
    out: dict = {}
    # 1. Reading inserts.
    django_rows = reading_rows(f"altd{devices}x{batch_size}", devices, batch_size, rounds, rng)
    started = time.perf_counter()
    for rows in django_rows:
        with transaction.atomic():
            Reading.objects.bulk_create(rows, batch_size=1000)
    out["reading_bulk_create_django"] = (
        1e6 * (time.perf_counter() - started) / (rounds * batch_size)
    )

    compile_rows = reading_rows(f"altc{devices}x{batch_size}", devices, batch_size, rounds, rng)
    fields = [f for f in Reading._meta.concrete_fields if f.name != "id"]
    compile_s = execute_s = 0.0
    for rows in compile_rows:
        started = time.perf_counter()
        now = timezone.now()
        for row in rows:
            row.stored_at = now
        query = InsertQuery(Reading)
        query.insert_values(fields, rows, raw=False)
        compiler = query.get_compiler("default")
        compiler.returning_fields = [Reading._meta.pk]
        [(sql, params)] = compiler.as_sql()
        compile_s += time.perf_counter() - started
        started = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, params)
            cursor.fetchall()
        execute_s += time.perf_counter() - started
    out["reading_insert_django_compile_only"] = 1e6 * compile_s / (rounds * batch_size)
    out["reading_insert_execute_django_sql_client_binding"] = (
        1e6 * execute_s / (rounds * batch_size)
    )

    unnest_rows = reading_rows(f"altu{devices}x{batch_size}", devices, batch_size, rounds, rng)
    columns = ", ".join(name for name, _ in READING_COLUMNS)
    arrays = ", ".join(f"%s::{kind}[]" for _, kind in READING_COLUMNS)
    insert_sql = (
        f"INSERT INTO devices_reading ({columns}) SELECT * FROM unnest({arrays}) RETURNING id"
    )
    raw = connection.connection  # the psycopg connection Django opened
    started = time.perf_counter()
    for rows in unnest_rows:
        now = timezone.now()
        values = [
            [getattr(row, name) if name != "stored_at" else now for row in rows]
            for name, _ in READING_COLUMNS
        ]
        with transaction.atomic(), psycopg.Cursor(raw) as cursor:
            cursor.execute(insert_sql, values)
            ids = cursor.fetchall()
        assert len(ids) == len(rows)
    out["reading_insert_unnest_server_binding"] = (
        1e6 * (time.perf_counter() - started) / (rounds * batch_size)
    )

    # 2. Device updates: every device of a batch, as _store does.
    device_ids = sorted({row.device_id for row in django_rows[0]})
    touched = list(Device.objects.filter(pk__in=device_ids).order_by("pk"))
    now = timezone.now()
    for device in touched:
        device.last_seq, device.last_reading_ts, device.last_seen = 10**6, now, now
    started = time.perf_counter()
    with CaptureQueriesContext(connection) as captured:
        for _ in range(rounds):
            with transaction.atomic():
                Device.objects.bulk_update(touched, ["last_seq", "last_reading_ts", "last_seen"])
    django_s = time.perf_counter() - started
    update_sql = next(q["sql"] for q in captured.captured_queries if q["sql"].startswith("UPDATE"))
    started = time.perf_counter()
    for _ in range(rounds):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(update_sql)
    server_s = time.perf_counter() - started
    update_unnest = (
        "UPDATE devices_device AS d SET last_seq = v.s, last_reading_ts = v.t, last_seen = v.l "
        "FROM unnest(%s::text[], %s::bigint[], %s::timestamptz[], %s::timestamptz[]) "
        "AS v(id, s, t, l) WHERE d.id = v.id"
    )
    started = time.perf_counter()
    for _ in range(rounds):
        with transaction.atomic(), psycopg.Cursor(raw) as cursor:
            cursor.execute(
                update_unnest,
                [
                    [d.id for d in touched],
                    [d.last_seq for d in touched],
                    [d.last_reading_ts for d in touched],
                    [d.last_seen for d in touched],
                ],
            )
    unnest_s = time.perf_counter() - started
    n = rounds * len(touched)
    out["devices_per_batch"] = len(touched)
    out["device_bulk_update_django_us_per_device"] = 1e6 * django_s / n
    out["device_bulk_update_same_sql_text_us_per_device"] = 1e6 * server_s / n
    out["device_update_unnest_us_per_device"] = 1e6 * unnest_s / n
    out["device_bulk_update_django_us_per_reading"] = 1e6 * django_s / (rounds * batch_size)
    out["device_update_unnest_us_per_reading"] = 1e6 * unnest_s / (rounds * batch_size)
    return out


def connect_cost(rounds: int = 30) -> dict:
    """A fresh Django connection to PostgreSQL and its first query.

    Celery's Django fixup closes the connection before and after every task
    (unless DB_REUSE_MAX is set), so each ingest batch pays this once or twice.
    """
    from django.db import connection

    connection.ensure_connection()
    started, cpu = time.perf_counter(), time.process_time()
    for _ in range(rounds):
        connection.close()
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    return {
        "ms_per_connect_wall": 1e3 * wall / rounds,
        "ms_per_connect_cpu_client": 1e3 * cpu / rounds,
    }


def seal_cost() -> dict:
    """ledger.seal over every entry the ingest stages left pending: µs per entry."""
    from ledger.models import PendingEntry
    from ledger.services import log_seal

    pending = PendingEntry.objects.count()
    started, cpu = time.perf_counter(), time.process_time()
    report = log_seal(batch_size=50_000)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    return {
        "entries": pending,
        "sealed": report.sealed,
        "us_per_entry_wall": 1e6 * wall / max(report.sealed, 1),
        "us_per_entry_cpu_this_process": 1e6 * cpu / max(report.sealed, 1),
    }


# --- MQTT pass-through ------------------------------------------------------------


def subscriber_main(mode: str, port: int, expected: int, batch_size: int) -> int:
    """Child process: receive ``expected`` messages, print timing as JSON."""
    import paho.mqtt.client as mqtt

    first = last = 0.0
    received = 0
    cpu_started = time.process_time()
    if mode == "raw":
        client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id="bench-raw-sub", protocol=mqtt.MQTTv5
        )

        def on_message(client, userdata, message):
            nonlocal first, last, received
            last = time.time()
            first = first or last
            received += 1

        def on_connect(client, userdata, flags, reason_code, properties):
            client.subscribe("coldchain/v1/readings/+", qos=1)

        client.on_message, client.on_connect = on_message, on_connect
        client.connect("127.0.0.1", port)
        deadline = time.monotonic() + 300
        subscribed = False
        while received < expected and time.monotonic() < deadline:
            client.loop(0.01)
            if not subscribed and client.is_connected():
                subscribed = True
                cpu_started = time.process_time()
                print("subscribed", flush=True)
        client.disconnect()
    else:
        import django

        django.setup()
        from devices.bridge import IngestBridge
        from devices.mqtt import MqttConfig

        bridge = IngestBridge(
            config=MqttConfig.from_url(f"mqtt://127.0.0.1:{port}", "5"),
            client_id="bench-bridge-sub",
            share_group="bench-stages",
            session_expiry_s=0,
            batch_size=batch_size,
            max_delay_s=0.05,
            submit=lambda messages: None,
        )
        bridge.connect()
        deadline = time.monotonic() + 300
        subscribed = False
        while time.monotonic() < deadline:
            bridge.run_once()
            if not subscribed and bridge.connected:
                subscribed = True
                cpu_started = time.process_time()
                print("subscribed", flush=True)
            if bridge.messages_received and not first:
                first = bridge.first_pending_at
            if bridge.messages_received >= expected and not bridge.pending:
                last = bridge.last_message_at
                break
        received = bridge.messages_received
        bridge.stop()
        bridge.shutdown()
    cpu_s = time.process_time() - cpu_started
    print(
        json.dumps({"received": received, "first": first, "last": last, "cpu_s": cpu_s}),
        flush=True,
    )
    return 0


def mqtt_passthrough(
    env: BenchEnv, children: Children, work: Path, topics, payloads, batch_size: int
) -> dict:
    import psutil

    messages = work / "mqtt-messages.pickle"
    with open(messages, "wb") as sink:
        pickle.dump({"topics": topics, "payloads": payloads}, sink, protocol=5)
    results = {}
    # raw = bare paho subscriber; bridge = devices.bridge.IngestBridge, no-op enqueue.
    for mode, client in (("raw", "raw"), ("bridge", "raw"), ("raw", "paho"), ("bridge", "paho")):
        port = benchlib.free_port()
        mode_dir = work / f"mqtt-{mode}-{client}"
        mode_dir.mkdir()
        mosquitto = benchlib.start_mosquitto(children, port, mode_dir)
        subscriber = subprocess.Popen(
            [
                PYTHON,
                __file__,
                "--_subscriber",
                mode,
                "--_port",
                str(port),
                "--_expected",
                str(len(payloads)),
                "--_batch",
                str(batch_size),
            ],
            cwd=ROOT,
            env={**env.child_env(), "MQTT_URL": f"mqtt://127.0.0.1:{port}"},
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        children.procs.append((f"sub-{mode}", subscriber, 10))
        if subscriber.stdout.readline().strip() != "subscribed":
            raise RuntimeError(f"{mode} subscriber did not start")
        time.sleep(0.5)
        publisher = subprocess.Popen(
            [
                PYTHON,
                str(ROOT / "bench" / "publisher.py"),
                "--messages",
                str(messages),
                "--port",
                str(port),
                "--times-out",
                str(mode_dir / "times.f64"),
                "--client",
                client,
            ],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        children.procs.append((f"pub-{mode}", publisher, 10))
        publisher.stdout.readline()
        procs = {
            "publisher": psutil.Process(publisher.pid),
            "mosquitto": psutil.Process(mosquitto.pid),
            "subscriber": psutil.Process(subscriber.pid),
        }
        cpu_before = {k: sum(p.cpu_times()[:2]) for k, p in procs.items()}
        cpu_after = {}
        publisher.stdin.write("go\n")
        publisher.stdin.flush()
        pub_summary = json.loads(publisher.stdout.readline())
        sub_line = subscriber.stdout.readline()
        for k, p in procs.items():
            with contextlib.suppress(psutil.Error):
                cpu_after[k] = sum(p.cpu_times()[:2])
        sub_summary = json.loads(sub_line)
        for proc in (publisher, subscriber):
            proc.wait(30)
        children.stop(mosquitto, 10)
        n = len(payloads)
        span = sub_summary["last"] - pub_summary["first_publish"]
        results[f"{mode} subscriber, {client} publisher"] = {
            "messages": n,
            "received": sub_summary["received"],
            "msgs_per_s": n / span,
            "publisher_msgs_per_s": pub_summary["publish_rate"],
            "cpu_us_per_msg": {
                "publisher": 1e6 * pub_summary["cpu_s"] / n,
                "mosquitto": 1e6 * (cpu_after["mosquitto"] - cpu_before["mosquitto"]) / n,
                "subscriber": 1e6 * sub_summary["cpu_s"] / n,
            },
        }
        rate = results[f"{mode} subscriber, {client} publisher"]["msgs_per_s"]
        print(f"# mqtt {mode} subscriber, {client} publisher: {rate:,.0f} msg/s", flush=True)
    return results


# --- main -------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch-sizes", default="200,500,1000")
    parser.add_argument("--devices", default="100,1000", help="comma-separated device counts")
    parser.add_argument("--readings", type=int, default=10_000, help="per ingest measurement")
    parser.add_argument("--mqtt-messages", type=int, default=100_000)
    parser.add_argument(
        "--parts",
        default="pure,enqueue,connect,ingest,late,seal,mqtt",
        help="which measurements to run, comma-separated",
    )
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--_subscriber", choices=["raw", "bridge"], help=argparse.SUPPRESS)
    parser.add_argument("--_port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--_expected", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--_batch", type=int, default=500, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args._subscriber:
        return subscriber_main(args._subscriber, args._port, args._expected, args._batch)

    with benchlib.exclusive_run():
        return measure(args)


def measure(args: argparse.Namespace) -> int:
    batch_sizes = [int(x) for x in args.batch_sizes.split(",")]
    device_counts = [int(x) for x in args.devices.split(",")]
    work = benchlib.temp_dir("coldchain-stages-")
    env = BenchEnv(
        db_name="coldchain_bench_stages",
        redis_db=9,
        queue="coldchain-bench-stages",
        mqtt_port=0,
        var_dir=work / "var",
    )
    children = Children()
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    rng = random.Random(7)
    figures: dict = {}
    try:
        benchlib.recreate_database(env.db_name)
        benchlib.flush_redis(env)
        benchlib.migrate(env)
        benchlib.setup_django(env)
        import ingest_e2e

        from devices.keys import raw_public_key

        keys = ingest_e2e.make_devices("pure", 100)
        public = {k: raw_public_key(v) for k, v in keys.items()}
        started = time.perf_counter()
        topics, payloads, _ = ingest_e2e.sign_all(keys, 20_000, "aligned", rng)
        figures["sign_us_device_side"] = 1e6 * (time.perf_counter() - started) / len(payloads)
        figures["mean_jws_bytes"] = sum(map(len, payloads)) / len(payloads)
        parts = set(args.parts.split(","))
        if "pure" in parts:
            figures["pure_us_per_reading"] = pure_stages(payloads, public, topics)
            print("# pure stages:", json.dumps(figures["pure_us_per_reading"]), flush=True)
        if "enqueue" in parts:
            figures["celery_enqueue"] = enqueue_cost(env, batch_sizes, payloads, topics)
            print("# enqueue:", json.dumps(figures["celery_enqueue"]), flush=True)
        if "db" in parts and not _orm_ingest():
            print("# db: skipped, devices.ingest no longer writes through the ORM", flush=True)
        elif "db" in parts:
            figures["db_alternatives"] = {
                f"devices={d} batch={b}": db_alternatives(b, d, rng)
                for d in device_counts
                for b in batch_sizes
            }
            print("# db:", json.dumps(figures["db_alternatives"]), flush=True)
        instrument()
        if "ingest" in parts:
            figures["readings_ingest"] = ingest_stages(
                batch_sizes, device_counts, args.readings, rng
            )
        if "late" in parts:
            figures["late_batch_500x100"] = late_batches(500, 100, rng)
            print(
                f"# late batches: {figures['late_batch_500x100']['us_per_reading_wall']:.1f} "
                "µs/reading",
                flush=True,
            )
        if "connect" in parts:
            figures["db_connect"] = connect_cost()
            print("# connect:", json.dumps(figures["db_connect"]), flush=True)
        if "seal" in parts:
            figures["ledger_seal"] = seal_cost()
            print("# seal:", json.dumps(figures["ledger_seal"]), flush=True)
        if "mqtt" in parts:
            mqtt_topics, mqtt_payloads, _ = ingest_e2e.sign_all(
                keys, args.mqtt_messages, "aligned", rng
            )
            figures["mqtt_passthrough"] = mqtt_passthrough(
                env, children, work, mqtt_topics, mqtt_payloads, 500
            )
    except KeyboardInterrupt:
        print("# interrupted, cleaning up", file=sys.stderr)
        return 1
    finally:
        children.stop_all()
        with contextlib.suppress(Exception):
            benchlib.drop_database(env.db_name)
        with contextlib.suppress(Exception):
            benchlib.flush_redis(env)
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(figures, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "coldchain.settings")
    sys.exit(main())
