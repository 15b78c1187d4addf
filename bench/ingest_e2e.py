"""End-to-end sustained ingest benchmark on real servers.

publisher (own process) -> Mosquitto (own, private port) -> bridge
(``manage.py ingest``) -> Redis (own db, own Celery queue) -> Celery prefork
worker (``celery -A coldchain worker -Q <queue> -c W``) -> PostgreSQL (own
database). Readings are signed before timing starts. Prints readings/s stored,
publish-to-stored latency, peak RSS and CPU per process, and checks that every
reading was stored exactly once.

    .venv/bin/python bench/ingest_e2e.py --readings 200000 --devices 100 --workers 2

See bench/README.md and docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import pickle
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from array import array
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchlib
from benchlib import (
    PYTHON,
    ROOT,
    BenchEnv,
    Children,
    Sampler,
    cpu_between,
    cpu_in_window,
    percentile,
)

WARM_DEVICES = 10
WARM_PER_DEVICE = 50
CPU_GROUPS = (
    "publisher",
    "mosquitto",
    "bridge",
    "worker-main",
    "worker-children",
    "beat",
    "redis",
    "postgres-ours",
    "postgres-other",
    "bench-main",
    "untracked",
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--readings", type=int, default=200_000, help="N readings to publish")
    parser.add_argument("--devices", type=int, default=100, help="M devices, round robin")
    parser.add_argument("--rate", type=float, default=0.0, help="offered readings/s, 0 = unpaced")
    parser.add_argument("--workers", type=int, default=2, help="Celery prefork concurrency")
    parser.add_argument("--batch-size", type=int, default=500, help="bridge batch size")
    parser.add_argument("--max-delay", type=float, default=0.05, help="bridge batch max delay, s")
    parser.add_argument("--inflight", type=int, default=1000, help="publisher QoS 1 window")
    parser.add_argument(
        "--publisher",
        choices=["paho", "raw"],
        default="paho",
        help="paho: paho-mqtt client (~80 µs CPU/msg); raw: pre-encoded MQTT 5 on a socket "
        "(a few µs/msg, stands in for publishers on other machines)",
    )
    parser.add_argument(
        "--seq-start",
        choices=["aligned", "spread"],
        default="aligned",
        help="aligned: every device starts at seq 1; spread: each at a random seq "
        "(real fleets: devices were switched on at different times)",
    )
    parser.add_argument(
        "--quiet-pct",
        type=float,
        default=15.0,
        help="wait until the machine is at most this %% busy before the run (shared machines)",
    )
    parser.add_argument("--quiet-timeout", type=float, default=120.0)
    parser.add_argument("--db", default="coldchain_bench")
    parser.add_argument("--redis-db", type=int, default=9)
    parser.add_argument("--queue", default="coldchain-bench")
    parser.add_argument("--timeout", type=float, default=600.0, help="whole measured run, s")
    parser.add_argument("--stall-timeout", type=float, default=30.0, help="no progress, s")
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--keep", action="store_true", help="keep database and work dir")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    if args.readings < args.devices or args.devices < 1:
        parser.error("need at least one reading per device")
    return args


# --- preparation -------------------------------------------------------------


def make_devices(prefix: str, count: int):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from django.utils import timezone

    from devices.keys import fingerprint, raw_public_key
    from devices.models import Device, DeviceKey

    keys = {f"{prefix}-{i:05d}": Ed25519PrivateKey.generate() for i in range(count)}
    devices = Device.objects.bulk_create(
        [
            Device(
                id=device_id,
                public_key=raw_public_key(key),
                kind="independent_logger",
                vehicle=f"{prefix}-truck-{i // 4:04d}",
            )
            for i, (device_id, key) in enumerate(keys.items())
        ]
    )
    # Ingest verifies against the key history: each device's key is its key #1.
    DeviceKey.objects.bulk_create(
        [
            DeviceKey(
                device=device,
                number=1,
                public_key=device.public_key,
                fingerprint=fingerprint(device.public_key),
                valid_from=timezone.now(),
            )
            for device in devices
        ]
    )
    return keys


def reading(device_id: str, seq: int, ts: datetime, rng: random.Random) -> dict:
    """A full reefer reading: every optional channel, as a real logger sends."""
    return {
        "v": 1,
        "device": device_id,
        "seq": seq,
        "ts": ts.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "temp_c": round(rng.uniform(2.0, 8.0), 2),
        "ambient_c": round(rng.uniform(10.0, 30.0), 2),
        "humidity_pct": round(rng.uniform(40.0, 90.0), 1),
        "door_open": False,
        "lat": round(rng.uniform(45.0, 50.0), 5),
        "lon": round(rng.uniform(5.0, 10.0), 5),
        "reefer_on": True,
        "setpoint_c": 5.0,
        "battery_pct": round(rng.uniform(60.0, 100.0), 1),
    }


def sign_all(keys: dict, total: int, seq_start: str, rng: random.Random):
    """Message i goes to device i % M with that device's next seq; returns the plan."""
    from devices.wire import sign_reading, topic_for

    ids = list(keys)
    per_device = math.ceil(total / len(ids))
    base = datetime.now(UTC) - timedelta(seconds=per_device + 600)
    first_seq = {
        device_id: (1 if seq_start == "aligned" else rng.randint(1, 10_000_000))
        for device_id in ids
    }
    topics, payloads, index_of = [], [], {}
    for index in range(total):
        device_id = ids[index % len(ids)]
        step = index // len(ids)
        seq = first_seq[device_id] + step
        token = sign_reading(
            keys[device_id], reading(device_id, seq, base + timedelta(seconds=step), rng)
        )
        topics.append(topic_for(device_id))
        payloads.append(token)
        index_of[(device_id, seq)] = index
    return topics, payloads, index_of


def publish_warmup(port: int, keys: dict, rng: random.Random) -> int:
    """Readings from other devices, to start every process's connections and caches."""
    import paho.mqtt.client as mqtt

    topics, payloads, _ = sign_all(keys, WARM_DEVICES * WARM_PER_DEVICE, "aligned", rng)
    client = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2, client_id="coldchain-bench-warmup", protocol=mqtt.MQTTv5
    )
    client.max_inflight_messages_set(100)
    client.max_queued_messages_set(0)
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        infos = [client.publish(t, p, qos=1) for t, p in zip(topics, payloads, strict=True)]
        for info in infos:
            info.wait_for_publish(30)
    finally:
        client.disconnect()
        client.loop_stop()
    return len(payloads)


def wait_for_log(path: Path, needle: str, proc: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if needle in path.read_text(errors="replace"):
            return
        if proc.poll() is not None:
            raise RuntimeError(
                f"{path.name}: process exited ({proc.returncode}):\n"
                + path.read_text(errors="replace")[-3000:]
            )
        time.sleep(0.1)
    raise TimeoutError(f"{path.name}: no {needle!r} after {timeout} s")


def count_stored(prefix: str) -> int:
    """Exact count of one fleet's stored readings (a scan: used sparingly)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM devices_reading WHERE device_id LIKE %s", [prefix + "%"]
        )
        return cursor.fetchone()[0]


def max_reading_id() -> int:
    """Progress probe that costs PostgreSQL nothing: the newest visible id."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(max(id), 0) FROM devices_reading")
        return cursor.fetchone()[0]


def ledger_figures(seal_wait_s: float = 30.0) -> dict:
    """Readings' ledger entries, appended with each reading and sealed by beat and
    the backlog seals; and, once all are sealed (at most ``seal_wait_s``), how long
    each reading waited from the bridge receiving it to the first signed
    checkpoint that covers it."""
    from django.db import connection

    from ledger.models import Checkpoint, Entry

    deadline = time.monotonic() + seal_wait_s
    while time.monotonic() < deadline and Entry.objects.filter(sealed__isnull=True).exists():
        time.sleep(0.2)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT percentile_cont(ARRAY[0.5, 0.99]) WITHIN GROUP (ORDER BY wait), max(wait),"
            " percentile_cont(ARRAY[0.5, 0.99]) WITHIN GROUP (ORDER BY sealing), max(sealing)"
            " FROM (SELECT extract(epoch FROM c.created_at - r.received_at) AS wait,"
            "  extract(epoch FROM c.created_at - r.stored_at) AS sealing"
            "  FROM devices_reading r JOIN ledger_logindex li ON li.entry_id = r.ledger_entry_id"
            "  CROSS JOIN LATERAL (SELECT created_at FROM ledger_checkpoint"
            "   WHERE size > li.log_index ORDER BY size LIMIT 1) c"
            "  WHERE r.device_id LIKE %s) AS waits",
            ["bench-%"],
        )
        (p50, p99), longest, (sealing_p50, sealing_p99), sealing_max = cursor.fetchone()
    return {
        "entries": Entry.objects.count(),
        "sealed": Entry.objects.filter(sealed__isnull=False).count(),
        "checkpoints": Checkpoint.objects.count(),
        "to_checkpoint_s": {"p50": p50, "p99": p99, "max": longest},
        "stored_to_checkpoint_s": {"p50": sealing_p50, "p99": sealing_p99, "max": sealing_max},
    }


def product_commit() -> str:
    """The commit measured, and whether the ingest path differs from it (read only)."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "devices", "ledger", "coldchain"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        return "unknown"
    return head + (" + uncommitted changes in devices/ledger/coldchain" if dirty else "")


HOT_PATH = (
    "devices/ingest.py", "devices/tasks.py", "devices/bridge.py", "devices/wire.py",
    "ledger/services.py", "ledger/bulk.py", "ledger/tasks.py", "coldchain/settings.py",
)  # fmt: skip


def hot_path_digest() -> str:
    """Short SHA-256 over the ingest path's source as run: ties figures to exact code
    even when the working tree moves during a run."""
    import hashlib

    digest = hashlib.sha256()
    for name in HOT_PATH:
        path = ROOT / name
        digest.update(name.encode() + b"\0" + (path.read_bytes() if path.exists() else b""))
    return digest.hexdigest()[:12]


def pg_sessions() -> int:
    """Connections ever opened to the benchmark database (PostgreSQL >= 14)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT sessions FROM pg_stat_database WHERE datname = current_database()")
        return cursor.fetchone()[0]


def wait_stored(prefix: str, expected: int, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    stored = count_stored(prefix)
    while stored < expected and time.monotonic() < deadline:
        time.sleep(0.2)
        stored = count_stored(prefix)
    return stored


# --- the run -------------------------------------------------------------------


def run(args: argparse.Namespace, env: BenchEnv, children: Children, work: Path) -> dict:
    rng = random.Random(args.seed)
    print(
        f"# work dir {work}, database {env.db_name}, redis db {env.redis_db}, "
        f"queue {env.queue}, mosquitto 127.0.0.1:{env.mqtt_port}",
        flush=True,
    )
    benchlib.recreate_database(env.db_name)
    benchlib.flush_redis(env)
    benchlib.migrate(env)
    benchlib.setup_django(env)
    from django.db import connection

    from devices.models import Reading, Rejection

    mosquitto = benchlib.start_mosquitto(children, env.mqtt_port, work)

    started = time.perf_counter()
    keys = make_devices("bench", args.devices)
    warm_keys = make_devices("warm", WARM_DEVICES)
    topics, payloads, index_of = sign_all(keys, args.readings, args.seq_start, rng)
    signing_s = time.perf_counter() - started
    messages_file = work / "messages.pickle"
    with open(messages_file, "wb") as sink:
        pickle.dump({"topics": topics, "payloads": payloads}, sink, protocol=5)
    mean_size = sum(map(len, payloads)) / len(payloads)
    print(
        f"# signed {len(payloads)} readings for {args.devices} devices in {signing_s:.1f} s "
        f"(device-side cost, not timed); mean JWS {mean_size:.0f} B",
        flush=True,
    )
    del topics, payloads

    worker_log, bridge_log = work / "worker.log", work / "bridge.log"
    worker = children.start(
        "worker",
        [
            benchlib.CELERY,
            "-A",
            "coldchain",
            "worker",
            "-Q",
            env.queue,
            "-c",
            str(args.workers),
            "-P",
            "prefork",
            "-l",
            "info",
            "-n",
            f"{env.queue}@%h",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        env=env.child_env(),
        log=worker_log,
        stop_timeout=60,
    )
    beat_argv = [benchlib.CELERY, "-A", "coldchain", "beat", "-l", "info"]
    beat = children.start(
        "beat",
        [*beat_argv, "--schedule", str(work / "celerybeat-schedule")],
        env=env.child_env(),
        log=work / "beat.log",
    )
    bridge = children.start(
        "bridge",
        [
            PYTHON,
            "manage.py",
            "ingest",
            "--batch-size",
            str(args.batch_size),
            "--max-delay",
            str(args.max_delay),
        ],
        env={**env.child_env(), "LOG_LEVEL": "INFO"},
        log=bridge_log,
        stop_timeout=30,
    )
    wait_for_log(worker_log, "ready.", worker, 60)
    wait_for_log(bridge_log, "subscribed to", bridge, 60)
    time.sleep(0.5)  # the SUBACK

    warm_n = publish_warmup(env.mqtt_port, warm_keys, rng)
    if wait_stored("warm-", warm_n, 60) < warm_n:
        raise RuntimeError("warm-up readings were not all stored; see " + str(work))
    print(f"# warm-up: {warm_n} readings stored end to end", flush=True)

    times_file = work / "publish-times.f64"
    publisher = subprocess.Popen(
        [
            PYTHON,
            str(ROOT / "bench" / "publisher.py"),
            "--messages",
            str(messages_file),
            "--port",
            str(env.mqtt_port),
            "--times-out",
            str(times_file),
            "--rate",
            str(args.rate),
            "--inflight",
            str(args.inflight),
            "--client",
            args.publisher,
        ],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    children.procs.append(("publisher", publisher, 10))
    ready = publisher.stdout.readline().strip()
    if ready != "ready":
        raise RuntimeError(f"publisher did not start: {ready!r}")

    ours, others = benchlib.postgres_finders(env.db_name)
    redis_conn = benchlib.redis_client(env)
    sampler = Sampler(
        groups={
            "publisher": benchlib.process_finder(publisher),
            "mosquitto": benchlib.process_finder(mosquitto),
            "bridge": benchlib.process_finder(bridge),
            "worker-main": benchlib.process_finder(worker),
            "worker-children": benchlib.process_finder(worker, children=True),
            "beat": benchlib.process_finder(beat),
            "redis": benchlib.named_process_finder("redis-server"),
            "postgres-ours": ours,
            "postgres-other": others,
            "bench-main": benchlib.process_finder(benchlib.psutil.Process(os.getpid())),
        },
        queue_probe=lambda: redis_conn.llen(env.queue),
    )
    sampler.start()
    publisher_summary: dict = {}

    def read_summary() -> None:
        line = publisher.stdout.readline()
        with contextlib.suppress(ValueError):
            publisher_summary.update(json.loads(line))

    reader = threading.Thread(target=read_summary, daemon=True)
    reader.start()

    sessions_before = pg_sessions()
    busy_before = benchlib.wait_quiet(args.quiet_pct, 2.0, args.quiet_timeout)
    print(f"# machine {busy_before:.0f} % busy just before the run", flush=True)
    before = sampler.snapshot()
    publisher.stdin.write("go\n")
    publisher.stdin.flush()
    deadline = time.monotonic() + args.timeout
    # Ids come from one sequence and nothing rolls back, so max(id) tracks
    # progress; the exact (scanning) count runs only once it says "done".
    base_id = max_reading_id()
    stored, last_progress, last_seen = 0, time.monotonic(), -1
    while time.monotonic() < deadline:
        time.sleep(0.1)
        newest = max_reading_id()
        if newest != last_seen:
            last_seen, last_progress = newest, time.monotonic()
        elif time.monotonic() - last_progress > args.stall_timeout:
            print(f"# no progress for {args.stall_timeout} s, stopping", flush=True)
            break
        if newest - base_id >= args.readings:
            stored = count_stored("bench-")
            if stored >= args.readings:
                break
    after = sampler.snapshot()
    publisher.wait(60)
    reader.join(10)
    time.sleep(1.0)  # let anything still in flight land before the exactly-once check
    sampler.stop()
    redis_conn.close()

    sessions_opened = pg_sessions() - sessions_before
    children.stop(bridge, 30)
    children.stop(worker, 60)
    children.stop(mosquitto, 10)
    bridge_out = bridge_log.read_text(errors="replace")
    worker_out = worker_log.read_text(errors="replace")

    publish_times = array("d")
    with open(times_file, "rb") as source:
        publish_times.fromfile(source, args.readings)

    rows = list(
        Reading.objects.filter(device__id__startswith="bench-").values_list(
            "device_id", "seq", "received_at", "stored_at"
        )
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), count(DISTINCT (device_id, seq)) FROM devices_reading "
            "WHERE device_id LIKE %s",
            ["bench-%"],
        )
        total_rows, distinct_rows = cursor.fetchone()
        # Readings stored after a higher seq of their device: each of those went
        # through devices.ingest._ordering_problem's two extra queries.
        cursor.execute(
            "SELECT count(*) FROM (SELECT stored_at, min(stored_at) OVER (PARTITION BY device_id "
            "ORDER BY seq DESC ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS higher "
            "FROM devices_reading WHERE device_id LIKE %s) AS t WHERE stored_at > higher",
            ["bench-%"],
        )
        stored_out_of_order = cursor.fetchone()[0]
    ledger = ledger_figures()
    rejections: dict[str, int] = {}
    for reason in Rejection.objects.values_list("reason", flat=True):
        rejections[reason] = rejections.get(reason, 0) + 1

    figures = analyse(
        args=args,
        rows=rows,
        index_of=index_of,
        publish_times=publish_times,
        total_rows=total_rows,
        distinct_rows=distinct_rows,
        stored_out_of_order=stored_out_of_order,
        rejections=rejections,
        publisher_summary=publisher_summary,
        sampler=sampler,
        before=before,
        after=after,
        bridge_out=bridge_out,
        worker_out=worker_out,
        signing_s=signing_s,
        mean_size=mean_size,
        busy_before=busy_before,
        sessions_opened=sessions_opened,
    )
    figures["ledger"] = ledger
    figures["product_commit"] = product_commit()
    figures["hot_path_sha256"] = hot_path_digest()
    return figures


# --- figures -------------------------------------------------------------------


def analyse(
    *,
    args,
    rows,
    index_of,
    publish_times,
    total_rows,
    distinct_rows,
    stored_out_of_order,
    rejections,
    publisher_summary,
    sampler,
    before,
    after,
    bridge_out,
    worker_out,
    signing_s,
    mean_size,
    busy_before,
    sessions_opened,
) -> dict:
    n = args.readings
    stored_at, latency, mqtt_leg, platform_leg = [], [], [], []
    unexpected = 0
    for device_id, seq, received_at, stored in rows:
        index = index_of.get((device_id, seq))
        if index is None:
            unexpected += 1
            continue
        published = publish_times[index]
        s, r = stored.timestamp(), received_at.timestamp()
        stored_at.append(s)
        latency.append(s - published)
        mqtt_leg.append(r - published)
        platform_leg.append(s - r)
    stored_at.sort()
    for values in (latency, mqtt_leg, platform_leg):
        values.sort()
    present = len(stored_at)
    first_publish = publisher_summary.get("first_publish", before.at)

    figures: dict = {
        "config": {
            "readings": n,
            "devices": args.devices,
            "workers": args.workers,
            "batch_size": args.batch_size,
            "max_delay_s": args.max_delay,
            "rate": args.rate,
            "inflight": args.inflight,
            "publisher": args.publisher,
            "seq_start": args.seq_start,
        },
        "mean_jws_bytes": round(mean_size, 1),
        "presign_s": round(signing_s, 2),
        "machine_busy_pct_before_run": busy_before,
        "publisher": publisher_summary,
    }
    if present >= 2:
        span = stored_at[-1] - stored_at[0]
        p05, p95 = percentile(stored_at, 0.05), percentile(stored_at, 0.95)
        figures["throughput"] = {
            "first_publish_to_last_stored_s": stored_at[-1] - first_publish,
            "first_to_last_stored_s": span,
            "stored_per_s_first_to_last": (present - 1) / span if span else float("nan"),
            "stored_per_s_p05_p95": 0.9 * present / (p95 - p05) if p95 > p05 else float("nan"),
            "stored_per_s_from_first_publish": present / (stored_at[-1] - first_publish),
            "offered_per_s": publisher_summary.get("publish_rate"),
        }
        per_second: dict[int, int] = {}
        for moment in stored_at:
            second = int(moment - stored_at[0])
            per_second[second] = per_second.get(second, 0) + 1
        figures["stored_per_second"] = [per_second.get(s, 0) for s in range(max(per_second) + 1)]

        def dist(values):
            return {
                "p50_ms": 1000 * percentile(values, 0.50),
                "p99_ms": 1000 * percentile(values, 0.99),
                "max_ms": 1000 * values[-1],
            }

        figures["latency"] = {
            "publish_to_stored": dist(latency),
            "publish_to_bridge_received": dist(mqtt_leg),
            "bridge_received_to_stored": dist(platform_leg),
        }
        wall, window_cpu = cpu_in_window(sampler.series, p05, p95)
        machine = window_cpu.pop("machine", 0.0)
        window_cpu["untracked"] = machine - sum(window_cpu.values())
        figures["cpu_steady_p05_p95"] = {
            "wall_s": wall,
            "machine_busy_pct_of_all_cores": 100 * machine / wall / os.cpu_count() if wall else 0,
            "core_pct": {k: 100 * v / wall for k, v in window_cpu.items()} if wall else {},
        }

    whole = cpu_between(before, after)
    whole["cpu_s"]["untracked"] = whole["system_busy_s"] - sum(whole["cpu_s"].values())
    figures["cpu_whole_run"] = {
        "wall_s": whole["wall_s"],
        "system_busy_pct_of_all_cores": 100 * whole["system_busy_s"] / whole["system_total_s"],
        "cpu_s": whole["cpu_s"],
        "us_per_reading": {k: 1e6 * v / max(present, 1) for k, v in whole["cpu_s"].items()},
    }
    figures["peak_rss_mb"] = sampler.peaks()
    figures["redis_queue_peak"] = max((q for _, q in sampler.queue_samples), default=0)

    batches = None
    for line in bridge_out.splitlines():
        if "stopped after" in line:
            parts = line.split()
            with contextlib.suppress(ValueError, IndexError):
                batches = {"messages": int(parts[3]), "batches": int(parts[6])}
    figures["bridge"] = batches
    figures["stored_after_a_higher_seq"] = stored_out_of_order
    figures["pg_sessions_opened"] = sessions_opened
    figures["worker_errors"] = sum(
        1 for line in worker_out.splitlines() if "ERROR" in line or "Traceback" in line
    )
    expected_keys = set(index_of)
    missing = len(expected_keys) - present
    figures["verification"] = {
        "published": publisher_summary.get("published"),
        "pubacks": publisher_summary.get("acked"),
        "rows": total_rows,
        "distinct_device_seq": distinct_rows,
        "missing": missing,
        "unexpected_rows": unexpected,
        "rejections": rejections,
        "exactly_once": total_rows == distinct_rows == n
        and missing == 0
        and unexpected == 0
        and not rejections,
    }
    return figures


def report(figures: dict) -> None:
    c = figures["config"]
    print()
    print(
        f"== ingest e2e: {c['readings']} readings, {c['devices']} devices, workers "
        f"{c['workers']}, batch {c['batch_size']}, rate "
        f"{c['rate'] or 'unpaced'}, seq {c['seq_start']}, publisher {c['publisher']}"
    )
    pub = figures["publisher"]
    if pub.get("publish_rate"):
        print(
            f"publisher: {pub['publish_rate']:,.0f} msg/s offered, all PUBACKs after "
            f"{pub['all_acked'] - pub['first_publish']:.2f} s, waited for in-flight window "
            f"{pub['waited_for_inflight_s']:.2f} s"
        )
    t = figures.get("throughput")
    if t:
        print(
            f"stored: {t['stored_per_s_p05_p95']:,.0f} readings/s steady (5-95 % of rows), "
            f"{t['stored_per_s_first_to_last']:,.0f}/s first->last stored "
            f"({t['first_to_last_stored_s']:.2f} s), "
            f"{t['stored_per_s_from_first_publish']:,.0f}/s from first publish"
        )
        lat = figures["latency"]
        for name, d in lat.items():
            print(
                f"latency {name:28s} p50 {d['p50_ms']:9.1f} ms  p99 {d['p99_ms']:9.1f} ms  "
                f"max {d['max_ms']:9.1f} ms"
            )
    b = figures.get("bridge")
    if b:
        print(
            f"bridge: {b['messages']} messages in {b['batches']} batches "
            f"(mean {b['messages'] / max(b['batches'], 1):.0f}/batch, incl. warm-up); "
            f"Redis queue peak {figures['redis_queue_peak']} tasks"
        )
    print(
        f"stored after a higher seq of the same device (slow out-of-order path): "
        f"{figures['stored_after_a_higher_seq']}; PostgreSQL connections opened during the "
        f"run: {figures['pg_sessions_opened']}"
    )
    whole = figures["cpu_whole_run"]
    steady = figures.get("cpu_steady_p05_p95", {}).get("core_pct", {})
    steady_busy = figures.get("cpu_steady_p05_p95", {}).get("machine_busy_pct_of_all_cores", 0)
    print(
        f"CPU: machine {whole['system_busy_pct_of_all_cores']:.0f} % busy over "
        f"{whole['wall_s']:.1f} s (first publish -> all stored), {steady_busy:.0f} % steady; "
        f"{figures['machine_busy_pct_before_run']:.0f} % just before"
    )
    print(f"  {'process':16s} {'µs/reading':>10s} {'% core steady':>14s} {'peak RSS MB':>12s}")
    peaks = figures["peak_rss_mb"]
    for name in CPU_GROUPS:
        us = whole["us_per_reading"].get(name, 0.0)
        peak = peaks.get(name, {})
        rss = peak.get("peak_rss_max_mb", 0.0)
        if name == "worker-children" and peak.get("processes", 0) > 1:
            rss_text = f"{rss:.0f} each, {peak['peak_rss_sum_mb']:.0f} sum"
        elif name.startswith("postgres") or name == "redis":
            rss_text = f"({rss:.0f})"
        else:
            rss_text = f"{rss:.0f}"
        print(f"  {name:16s} {us:10.1f} {steady.get(name, 0.0):14.0f} {rss_text:>12s}")
    total_us = sum(whole["us_per_reading"].values())
    print(f"  {'all of the above':16s} {total_us:10.1f}")
    ledger = figures.get("ledger") or {}
    if ledger:
        print(
            f"ledger: {ledger['entries']} entries (incl. warm-up), {ledger['sealed']} sealed "
            f"in {ledger['checkpoints']} checkpoints by the end"
        )
        for label, name in (
            ("bridge received", "to_checkpoint_s"),
            ("stored", "stored_to_checkpoint_s"),
        ):
            wait = ledger[name]
            print(
                f"ledger: {label} -> signed checkpoint p50 {wait['p50']:.2f} s, "
                f"p99 {wait['p99']:.2f} s, max {wait['max']:.2f} s"
            )
    print(
        f"product commit: {figures.get('product_commit')}; ingest path source sha256 "
        f"{figures.get('hot_path_sha256')}"
    )
    v = figures["verification"]
    verdict = "OK" if v["exactly_once"] else "FAILED"
    print(
        f"exactly once: {verdict}: published {v['published']}, PUBACKs {v['pubacks']}, rows "
        f"{v['rows']}, distinct (device, seq) {v['distinct_device_seq']}, missing "
        f"{v['missing']}, unexpected {v['unexpected_rows']}, rejections {v['rejections'] or 0}, "
        f"worker error lines {figures['worker_errors']}"
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    work = benchlib.temp_dir("coldchain-bench-")
    env = BenchEnv(
        db_name=args.db,
        redis_db=args.redis_db,
        queue=args.queue,
        mqtt_port=benchlib.free_port(),
        var_dir=work / "var",
        batch_size=args.batch_size,
        max_delay_s=args.max_delay,
    )
    children = Children()

    def terminate(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, terminate)
    figures = None
    lock = benchlib.exclusive_run()
    try:
        lock.__enter__()
    except SystemExit:
        shutil.rmtree(work, ignore_errors=True)
        raise
    try:
        figures = run(args, env, children, work)
    except KeyboardInterrupt:
        print("# interrupted, cleaning up", file=sys.stderr)
    finally:
        children.stop_all()
        if not args.keep:
            with contextlib.suppress(Exception):
                benchlib.drop_database(env.db_name)
            shutil.rmtree(work, ignore_errors=True)
        with contextlib.suppress(Exception):
            benchlib.flush_redis(env)
        lock.__exit__(None, None, None)
    if figures is None:
        return 1
    report(figures)
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1, default=str))
    return 0 if figures["verification"]["exactly_once"] else 2


if __name__ == "__main__":
    sys.exit(main())
