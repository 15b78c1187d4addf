"""Contracts benchmark: evaluation throughput over a fleet, and breach-to-claim latency.

Part ``throughput`` (in this process, PostgreSQL only):

    .venv/bin/python bench/contracts_bench.py --part throughput --shipments 10000 --processes 2

N active shipments under contract (terms from a template with insurance), in
transit, each watched by two loggers. Each logger has ``--minutes`` readings,
one a minute, up to now: signed with the logger's own Ed25519 key, stored as
ingest stores them (the reading row and its ``reading`` ledger entry in one
transaction, the same bulk statements) and sealed under a signed checkpoint,
so ``contract_facts`` accounts real, sealed readings. They are bulk-inserted
rather than sent through ``readings_ingest`` (signature checks, per-device
locks, ordering checks): that path is ``ingest_e2e.py``'s to measure, and it
stores nothing more that ``contract_facts`` reads. Thirty minutes of two
loggers (60 readings a shipment) is past the terms' 10 minute adaptation
period, so the excursion accounting runs on every shipment; ``--breach-fraction``
of them (5 %) end with 12 minutes at 15 °C, outside the product's 0-12 °C band,
so the engine files an insurance claim for them (row, ledger entry, insurance
claim). There are no assessments (scoring is ``analytics_bench.py``'s and the
evaluation's cost): their query runs and finds none, so no breach warnings.
Cost grows with the readings since departure (``contract_facts`` reads them
all each time): vary ``--minutes`` to see by how much.

It times, per shipment: ``contract_evaluate`` (pass 1, records the claims),
``contract_evaluate`` again in ``--processes`` processes (nothing left to
record: the cost of re-evaluating a fleet), ``contract_facts`` alone (the
database gathering and the quorum) and the pure engine ``contract_actions``
alone on the gathered facts.

Part ``breach`` (real processes, as ``ingest_e2e.py``):

    .venv/bin/python bench/contracts_bench.py --part breach --breaches 5 --load-rate 500

Mosquitto, the bridge (``manage.py ingest``), a Celery prefork worker and beat
(sequencer every second, evaluation tick every ``EVALUATION_DEBOUNCE_S``), with
active models trained by ``manage.py train_model``. ``bench/publisher.py``
offers the ingest benchmark's load (full signed readings of ``--load-devices``
devices attached to no shipment) at ``--load-rate`` readings/s for the whole
run. Meanwhile this process plays ``--breaches`` shipments under contract in
real time: their two loggers each publish a signed reading every ``--cadence``
seconds (epoch-aligned), at 5 °C, then from a per-shipment minute on (one
shipment a minute, so the breaches fall on different phases of the 5 minute
assessment grid) at 20 °C, outside the band. The latency of a claim runs from
the publish time of the reading that confirms the breach (found afterwards:
the first reading after which the stored readings give the engine a tolerance
violation) to the moment this process first sees the committed claim row
(polled every 0.2 s), and to the moment it sees the claim's ledger entry
sealed under a checkpoint.

Both parts use their own database (dropped at the end unless ``--keep``), the
benchmark Redis db and queue, and the benchmark lock (see bench/README.md).
Results: docs/benchmarks.md, section "Contracts".
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import pickle
import random
import resource
import shutil
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchlib
from benchlib import PYTHON, ROOT, BenchEnv, Children, percentile
from ingest_e2e import make_devices, reading, sign_all, wait_for_log

TEMPLATE_TERMS = {
    "payment": {"amount": "10000", "currency": "EUR", "late_penalty_per_hour": "100"},
    "insurance": {"policy": "POL-BENCH", "insured_value": "200000", "deductible": "5000"},
    "dispute_window_h": 48,
}
NORMAL_C = 5.0
BREACH_C = 15.0  # the product's band is 0-12 °C
LIVE_BREACH_C = 20.0
BREACH_MINUTES = 12
LOGGERS = 2
CHUNK = 5000  # readings per bulk transaction


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--part", choices=["throughput", "breach", "both"], default="both")
    parser.add_argument("--shipments", type=int, default=10_000, help="fleet size")
    parser.add_argument("--minutes", type=int, default=30, help="readings per logger (1/min)")
    parser.add_argument("--breach-fraction", type=float, default=0.05)
    parser.add_argument("--processes", type=int, default=2, help="parallel re-evaluation")
    parser.add_argument("--breaches", type=int, default=5, help="live breaching shipments")
    parser.add_argument("--cadence", type=int, default=60, help="live loggers' period, s")
    parser.add_argument("--lead-minutes", type=int, default=2, help="normal readings first")
    parser.add_argument("--load-rate", type=float, default=500.0, help="background readings/s")
    parser.add_argument("--load-devices", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2, help="Celery prefork concurrency")
    parser.add_argument(
        "--max-delay", type=float, default=0.05, help="bridge batch max delay, s (product: 0.05)"
    )
    parser.add_argument("--timeout", type=float, default=900.0, help="breach part, s")
    parser.add_argument("--db", default="coldchain_bench_contracts")
    parser.add_argument("--redis-db", type=int, default=9)
    parser.add_argument("--queue", default="coldchain-bench")
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--keep", action="store_true", help="keep database and work dir")
    parser.add_argument(
        "--no-lock",
        action="store_true",
        help="run beside another benchmark (needs its own --db, --redis-db and --queue; "
        "each then measures the other's load too)",
    )
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    if args.minutes < 2 * BREACH_MINUTES:
        parser.error(f"--minutes must be at least {2 * BREACH_MINUTES}")
    return args


def machine_context() -> dict:
    return {"load_average": os.getloadavg(), "cpus": os.cpu_count()}


def latency_figures(seconds: list[float]) -> dict:
    ordered = sorted(seconds)
    return {
        "count": len(ordered),
        "p50_ms": 1000 * percentile(ordered, 0.50),
        "p95_ms": 1000 * percentile(ordered, 0.95),
        "p99_ms": 1000 * percentile(ordered, 0.99),
        "max_ms": 1000 * ordered[-1] if ordered else float("nan"),
    }


def rate_figures(latencies: list[float], wall_s: float) -> dict:
    return {"shipments_per_s": len(latencies) / wall_s, "wall_s": wall_s} | latency_figures(
        latencies
    )


# --- the fleet ----------------------------------------------------------------


def make_parties_and_template(prefix: str):
    from coldchain.models import ContractTemplate, Party, Product

    parties = {
        kind: Party.objects.create(slug=f"{prefix}-{kind}", name=f"{prefix} {kind}", kind=kind)
        for kind in ("shipper", "carrier", "receiver", "insurer", "bank")
    }
    product = Product.objects.create(
        code=f"{prefix}-vaccine",
        name="Vaccine, 2 to 8 °C",
        temp_min_c=2.0,
        temp_max_c=8.0,
        excursion_min_c=0.0,
        excursion_max_c=12.0,
        max_single_excursion_min=30.0,
        max_cumulative_excursion_min=60.0,
        mkt_limit_c=8.0,
    )
    template = ContractTemplate.objects.create(name=prefix, version=1, terms=TEMPLATE_TERMS)
    return parties, product, template


def make_fleet(prefix: str, count: int, *, departure: datetime, hours: float = 24.0):
    """``count`` shipments under contract and in transit since ``departure``, two
    loggers each; (shipments, {shipment id: [(device id, key)]})."""
    from coldchain.contracts import contract_activate
    from coldchain.models import DeviceAttachment, Shipment
    from coldchain.shipment_states import shipment_depart

    parties, product, template = make_parties_and_template(prefix)
    keys = make_devices(prefix, count * LOGGERS)
    device_ids = list(keys)
    shipments = Shipment.objects.bulk_create(
        [
            Shipment(
                reference=f"{prefix.upper()}-{i:05d}",
                product=product,
                **{f"{kind}": party for kind, party in parties.items()},
                origin="Rotterdam",
                destination="Milan",
                departure_at=departure,
                deadline_at=departure + timedelta(hours=hours),
            )
            for i in range(count)
        ]
    )
    loggers = {
        shipment.id: [
            (device_ids[LOGGERS * i + n], keys[device_ids[LOGGERS * i + n]]) for n in range(LOGGERS)
        ]
        for i, shipment in enumerate(shipments)
    }
    DeviceAttachment.objects.bulk_create(
        [
            DeviceAttachment(shipment_id=shipment_id, device_id=device_id, attached_from=departure)
            for shipment_id, devices in loggers.items()
            for device_id, _ in devices
        ]
    )
    for shipment in shipments:
        contract_activate(shipment, template=template)
        shipment_depart(shipment, at=departure)
    return shipments, loggers


def store_sealed_readings(plan: list[tuple[str, object, int, datetime, float]]) -> None:
    """Sign and store readings as ingest does (reading row + ledger entry in one
    transaction, the same bulk statements), then seal them all.
    ``plan``: (device id, key, seq, ts, temp_c)."""
    from django.db import transaction
    from django.utils import timezone

    from devices.ingest import READING_COLUMNS, READING_ENTRY_KIND
    from devices.models import DeviceKey, Reading
    from devices.wire import sign_reading
    from ledger.bulk import insert_returning_ids
    from ledger.services import entries_append, log_seal

    key_ids = dict(DeviceKey.objects.values_list("device_id", "id"))
    rng = random.Random(7)
    for first in range(0, len(plan), CHUNK):
        rows, tokens = [], []
        now = timezone.now()
        for device_id, key, seq, ts, temp in plan[first : first + CHUNK]:
            payload = reading(device_id, seq, ts, rng) | {"temp_c": temp}
            token = sign_reading(key, payload)
            tokens.append(token)
            rows.append(
                (
                    device_id,
                    seq,
                    ts,
                    now,
                    temp,
                    *(payload[name] for name in READING_COLUMNS[5:13]),
                    token,
                    key_ids[device_id],
                    now,
                )
            )
        with transaction.atomic():
            entry_ids = entries_append(items=[(token, READING_ENTRY_KIND) for token in tokens])
            insert_returning_ids(
                Reading,
                READING_COLUMNS,
                [(*row, entry) for row, entry in zip(rows, entry_ids, strict=True)],
            )
    log_seal()


def fleet_readings(loggers: dict, breaching: set[int], *, departure: datetime, minutes: int):
    rng = random.Random(3)
    plan = []
    for shipment_id, devices in loggers.items():
        for device_id, key in devices:
            for minute in range(minutes):
                hot = shipment_id in breaching and minute >= minutes - BREACH_MINUTES
                temp = BREACH_C if hot else round(NORMAL_C + rng.uniform(-0.3, 0.3), 2)
                plan.append(
                    (device_id, key, minute + 1, departure + timedelta(minutes=minute), temp)
                )
    return plan


# --- part 1: throughput ---------------------------------------------------------


def _evaluate_all(shipment_ids: list[int]) -> tuple[list[float], int]:
    from django.db import connection

    from coldchain.contracts import contract_evaluate
    from coldchain.models import Shipment

    latencies, recorded = [], 0
    for shipment in Shipment.objects.filter(pk__in=shipment_ids).order_by("pk").iterator():
        started = time.perf_counter()
        recorded += len(contract_evaluate(shipment))
        latencies.append(time.perf_counter() - started)
    connection.close()
    return latencies, recorded


def _peak_rss_mb(who: int = resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024


FACT_STEPS = ("sealed_readings", "cargo_summary", "_assessments", "departed_at")


@contextlib.contextmanager
def timed_steps(module, names: tuple[str, ...]):
    """Wall seconds spent in each of ``module``'s functions ``names`` while inside."""
    spent = dict.fromkeys(names, 0.0)
    originals = {name: getattr(module, name) for name in names}

    def timed(name, function):
        def wrapper(*args, **kwargs):
            begin = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                spent[name] += time.perf_counter() - begin

        return wrapper

    for name, function in originals.items():
        setattr(module, name, timed(name, function))
    try:
        yield spent
    finally:
        for name, function in originals.items():
            setattr(module, name, function)


def gather_and_decide(shipment_ids: list[int]) -> dict:
    """``contract_facts`` alone per shipment (time split by the steps it calls),
    then the pure engine alone on those facts."""
    from coldchain import contract_facts as facts_module
    from coldchain import engine
    from coldchain.contracts import _log_size
    from coldchain.models import Shipment

    gathered, latencies = [], []
    started = time.perf_counter()
    shipments = Shipment.objects.filter(pk__in=shipment_ids).select_related("contract")
    with timed_steps(facts_module, FACT_STEPS) as spent:
        for shipment in shipments.order_by("pk").iterator():
            begin = time.perf_counter()
            terms = shipment.contract.terms
            facts = facts_module.contract_facts(
                shipment, terms, now=datetime.now(UTC), log_size=_log_size()
            )
            latencies.append(time.perf_counter() - begin)
            gathered.append((terms, facts, shipment.status))
    facts_wall = time.perf_counter() - started
    engine_latencies = []
    started = time.perf_counter()
    for terms, facts, status in gathered:
        begin = time.perf_counter()
        engine.contract_actions(terms, facts, status, set())
        engine_latencies.append(time.perf_counter() - begin)
    engine_wall = time.perf_counter() - started
    return {
        "contract_facts": rate_figures(latencies, facts_wall),
        "contract_facts_ms_per_shipment": {
            name: 1000 * seconds / len(latencies) for name, seconds in spent.items()
        }
        | {"total": 1000 * sum(latencies) / len(latencies)},
        "engine": rate_figures(engine_latencies, engine_wall),
    }


def run_throughput(args: argparse.Namespace, env: BenchEnv) -> dict:
    from django.db import connections
    from django.db.models import Count

    from coldchain.models import ContractAction, Shipment
    from devices.models import Reading

    departure = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=args.minutes)
    started = time.perf_counter()
    shipments, loggers = make_fleet("fleet", args.shipments, departure=departure)
    setup_s = time.perf_counter() - started
    breaching = {s.id for s in shipments[: round(args.shipments * args.breach_fraction)]}
    started = time.perf_counter()
    store_sealed_readings(
        fleet_readings(loggers, breaching, departure=departure, minutes=args.minutes)
    )
    readings_s = time.perf_counter() - started
    readings = Reading.objects.count()
    print(
        f"# fleet: {args.shipments} shipments under contract in {setup_s:.0f} s "
        f"(contract_activate + shipment_depart each); {readings} signed readings "
        f"({args.minutes} min x {LOGGERS} loggers each, {len(breaching)} shipments ending "
        f"{BREACH_MINUTES} min at {BREACH_C} °C) stored and sealed in {readings_s:.0f} s",
        flush=True,
    )
    ids = [s.id for s in shipments]
    context_before = machine_context()

    started = time.perf_counter()
    latencies, recorded = _evaluate_all(ids)
    sequential = rate_figures(latencies, time.perf_counter() - started) | {"recorded": recorded}
    sequential["peak_rss_mb"] = _peak_rss_mb()
    print(f"# pass 1 done: {sequential['shipments_per_s']:.0f} shipments/s", flush=True)

    connections.close_all()
    slices = [ids[i :: args.processes] for i in range(args.processes)]
    started = time.perf_counter()
    # The pool's processes stop on SIGTERM as usual, not through this script's handler.
    with multiprocessing.get_context("fork").Pool(
        args.processes, initializer=signal.signal, initargs=(signal.SIGTERM, signal.SIG_DFL)
    ) as pool:
        results = pool.map(_evaluate_all, slices)
    parallel_wall = time.perf_counter() - started
    parallel = rate_figures([x for lat, _ in results for x in lat], parallel_wall) | {
        "recorded": sum(n for _, n in results),
        "processes": args.processes,
        "peak_rss_mb_per_process": _peak_rss_mb(resource.RUSAGE_CHILDREN),
    }
    print(f"# pass 2 done: {parallel['shipments_per_s']:.0f} shipments/s", flush=True)
    split = gather_and_decide(ids)
    actions = dict(ContractAction.objects.values_list("kind").annotate(n=Count("id")))
    return {
        "config": {
            "shipments": args.shipments,
            "minutes": args.minutes,
            "loggers": LOGGERS,
            "readings": readings,
            "breaching_shipments": len(breaching),
            "processes": args.processes,
        },
        "setup_s": {"fleet": setup_s, "readings": readings_s},
        "machine_before": context_before,
        "machine_after": machine_context(),
        "evaluate_sequential": sequential,
        "evaluate_parallel": parallel,
        **split,
        "actions_by_kind": actions,
        "still_active": Shipment.objects.filter(status="in_transit").count(),
    }


def report_throughput(figures: dict) -> None:
    c = figures["config"]
    print()
    print(
        f"== contracts throughput: {c['shipments']} shipments in transit, {c['loggers']} "
        f"loggers x {c['minutes']} min each ({c['readings']} sealed readings), "
        f"{c['breaching_shipments']} out of band"
    )
    rows = (
        ("contract_evaluate, 1 process (records)", figures["evaluate_sequential"]),
        (f"contract_evaluate, {c['processes']} processes (again)", figures["evaluate_parallel"]),
        ("contract_facts alone, 1 process", figures["contract_facts"]),
        ("contract_actions engine alone", figures["engine"]),
    )
    for label, r in rows:
        print(
            f"{label:42s} {r['shipments_per_s']:10,.1f} shipments/s  p50 {r['p50_ms']:8.2f} ms"
            f"  p95 {r['p95_ms']:8.2f} ms  p99 {r['p99_ms']:8.2f} ms  max {r['max_ms']:8.1f} ms"
        )
    steps = ", ".join(
        f"{name} {ms:.1f}" for name, ms in figures["contract_facts_ms_per_shipment"].items()
    )
    print(
        f"contract_facts, ms per shipment: {steps} (sealed_readings: one query for the "
        "readings; cargo_summary: quorum and excursions in pandas)"
    )
    seq, par = figures["evaluate_sequential"], figures["evaluate_parallel"]
    print(
        f"recorded: {seq['recorded']} action(s) in pass 1, {par['recorded']} in pass 2; "
        f"actions by kind {figures['actions_by_kind']}"
    )
    print(
        f"peak RSS: {seq['peak_rss_mb']:.0f} MB (bench process), "
        f"{par['peak_rss_mb_per_process']:.0f} MB (largest pass-2 process)"
    )
    print(
        f"machine: load average {figures['machine_before']['load_average']} before, "
        f"{figures['machine_after']['load_average']} after ({os.cpu_count()} CPUs)"
    )


# --- part 2: breach to claim under load ----------------------------------------


class LiveLoggers(threading.Thread):
    """The breaching shipments' loggers, publishing in real time, epoch-aligned."""

    def __init__(self, port: int, loggers: dict, breach_at: dict, cadence: int) -> None:
        super().__init__(name="live-loggers", daemon=True)
        import paho.mqtt.client as mqtt

        self.loggers, self.breach_at, self.cadence = loggers, breach_at, cadence
        self.published: dict[tuple[str, int], float] = {}
        self.stop = threading.Event()
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id="coldchain-bench-live", protocol=mqtt.MQTTv5
        )
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        self.first = (int(time.time()) // cadence + 1) * cadence

    def run(self) -> None:
        from devices.wire import sign_reading, topic_for

        rng = random.Random(5)
        tick = 0
        while not self.stop.is_set():
            at = self.first + tick * self.cadence
            if self.stop.wait(max(0.0, at - time.time())):
                break
            ts = datetime.fromtimestamp(at, UTC)
            for shipment_id, devices in self.loggers.items():
                hot = ts >= self.breach_at[shipment_id]
                for device_id, key in devices:
                    payload = reading(device_id, tick + 1, ts, rng) | {
                        "temp_c": LIVE_BREACH_C if hot else NORMAL_C
                    }
                    token = sign_reading(key, payload)
                    self.client.publish(topic_for(device_id), token, qos=1)
                    self.published[(device_id, tick + 1)] = time.time()
            tick += 1

    def close(self) -> None:
        self.stop.set()
        self.join(10)
        self.client.disconnect()
        self.client.loop_stop()


def watch_claims(shipment_ids: list[int], timeout: float) -> dict[int, dict[str, float]]:
    """Poll every 0.2 s: when each shipment's claim is first seen committed, then sealed."""
    from coldchain.models import ContractAction

    seen: dict[int, dict[str, float]] = {}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        now = time.time()
        for shipment_id, index in ContractAction.objects.filter(
            kind="insurance_claim", shipment_id__in=shipment_ids
        ).values_list("shipment_id", "ledger_entry__sealed__index"):
            times = seen.setdefault(shipment_id, {"committed": now})
            if index is not None and "sealed" not in times:
                times["sealed"] = now
        if len(seen) == len(shipment_ids) and all("sealed" in t for t in seen.values()):
            break
        time.sleep(0.2)
    return seen


def confirming_reading(shipment, published: dict):
    """The reading after which the stored readings first show a tolerance violation:
    (its Reading row, its publish time)."""
    from coldchain import engine
    from coldchain.contract_facts import contract_facts
    from devices.models import Reading

    terms = shipment.contract.terms
    devices = list(shipment.attachments.values_list("device_id", flat=True))
    rows = list(Reading.objects.filter(device_id__in=devices).order_by("ts", "device_id"))
    for ts in sorted({row.ts for row in rows}):
        facts = contract_facts(shipment, terms, now=ts, log_size=2**62)
        if engine.tolerance_violations(terms, facts["excursions"]):
            at_ts = [row for row in rows if row.ts == ts]
            last = max(at_ts, key=lambda row: published.get((row.device_id, row.seq), 0.0))
            return last, published.get((last.device_id, last.seq))
    return None, None


def checkpoint_time(index: int | None):
    from ledger.models import Checkpoint

    if index is None:
        return None
    checkpoint = Checkpoint.objects.filter(size__gt=index).order_by("size").first()
    return None if checkpoint is None else checkpoint.created_at.timestamp()


def breach_breakdown(shipment, published: dict, seen: dict) -> dict:
    from coldchain.models import ContractAction

    confirm, publish_time = confirming_reading(shipment, published)
    claim = (
        ContractAction.objects.filter(shipment=shipment, kind="insurance_claim")
        .select_related("ledger_entry__sealed")
        .first()
    )
    row = {"shipment": shipment.reference, "claimed": claim is not None}
    if confirm is None or publish_time is None or claim is None:
        return row
    trigger = shipment.assessments.filter(created_at__lte=claim.at).order_by("-created_at").first()
    times = seen.get(shipment.id, {})
    row |= {
        "confirming_reading_ts": confirm.ts.isoformat(),
        "to_stored_s": confirm.stored_at.timestamp() - publish_time,
        "to_reading_sealed_s": (checkpoint_time(confirm.ledger_entry.sealed.index) or 0)
        - publish_time,
        "to_trigger_assessment_s": None
        if trigger is None
        else trigger.created_at.timestamp() - publish_time,
        "trigger_instant": None if trigger is None else trigger.evaluated_at.isoformat(),
        "to_claim_evaluation_s": claim.at.timestamp() - publish_time,
        "to_claim_committed_s": times["committed"] - publish_time if times else None,
        "to_claim_sealed_s": times["sealed"] - publish_time if "sealed" in times else None,
        "assessments": shipment.assessments.count(),
    }
    return row


def start_platform(env: BenchEnv, children: Children, work: Path, workers: int) -> None:
    worker_log, bridge_log = work / "worker.log", work / "bridge.log"
    worker = children.start(
        "worker",
        [
            benchlib.CELERY, "-A", "coldchain", "worker", "-Q", env.queue, "-c", str(workers),
            "-P", "prefork", "-l", "info", "-n", f"{env.queue}@%h",
            "--without-gossip", "--without-mingle", "--without-heartbeat",
        ],
        env=env.child_env(),
        log=worker_log,
        stop_timeout=60,
    )  # fmt: skip
    children.start(
        "beat",
        [benchlib.CELERY, "-A", "coldchain", "beat", "-l", "info", "--schedule",
         str(work / "celerybeat-schedule")],
        env=env.child_env(),
        log=work / "beat.log",
    )  # fmt: skip
    bridge = children.start(
        "bridge",
        [PYTHON, "manage.py", "ingest"],
        env={**env.child_env(), "LOG_LEVEL": "INFO"},
        log=bridge_log,
        stop_timeout=30,
    )
    wait_for_log(worker_log, "ready.", worker, 60)
    wait_for_log(bridge_log, "subscribed to", bridge, 60)
    time.sleep(0.5)  # the SUBACK


def start_load(args, env: BenchEnv, children: Children, work: Path, seconds: float):
    """The ingest benchmark's publisher at ``--load-rate`` for ``seconds``; (process, count)."""
    total = int(args.load_rate * seconds)
    keys = make_devices("bench", args.load_devices)
    topics, payloads, _ = sign_all(keys, total, "aligned", random.Random(args.seed))
    messages = work / "messages.pickle"
    with open(messages, "wb") as sink:
        pickle.dump({"topics": topics, "payloads": payloads}, sink, protocol=5)
    publisher = subprocess.Popen(
        [
            PYTHON, str(ROOT / "bench" / "publisher.py"), "--messages", str(messages),
            "--port", str(env.mqtt_port), "--times-out", str(work / "publish-times.f64"),
            "--rate", str(args.load_rate), "--inflight", "1000", "--client", "paho",
        ],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )  # fmt: skip
    children.procs.append(("publisher", publisher, 10))
    if publisher.stdout.readline().strip() != "ready":
        raise RuntimeError("the load publisher did not start")
    return publisher, total


def run_breach(args: argparse.Namespace, env: BenchEnv, children: Children, work: Path) -> dict:
    from coldchain.models import Assessment, Shipment
    from devices.models import Reading

    started = time.perf_counter()
    subprocess.run(
        [PYTHON, "manage.py", "train_model"],
        cwd=ROOT,
        env=env.child_env(),
        check=True,
        capture_output=True,
    )
    print(f"# models trained and active in {time.perf_counter() - started:.0f} s", flush=True)
    benchlib.start_mosquitto(children, env.mqtt_port, work)
    # Departed well before the first reading: the adaptation period is over.
    departure = datetime.now(UTC) - timedelta(minutes=30)
    shipments, loggers = make_fleet("live", args.breaches, departure=departure)
    seconds = 60 * (args.lead_minutes + args.breaches + 7)
    publisher, load_total = (
        start_load(args, env, children, work, seconds) if args.load_rate else (None, 0)
    )
    start_platform(env, children, work, args.workers)
    live = LiveLoggers(env.mqtt_port, loggers, {}, args.cadence)
    first = datetime.fromtimestamp(live.first, UTC)
    live.breach_at = {
        shipment.id: first + timedelta(minutes=args.lead_minutes + i)
        for i, shipment in enumerate(shipments)
    }
    context_before = machine_context()
    if publisher is not None:
        publisher.stdin.write("go\n")
        publisher.stdin.flush()
    load_started = time.time()
    live.start()
    print(
        f"# load: {load_total} readings at {args.load_rate:.0f}/s from {args.load_devices} "
        f"devices; {args.breaches} live shipments breaching from {first:%H:%M:%S} + "
        f"{args.lead_minutes} min, one a minute",
        flush=True,
    )
    seen = watch_claims([s.id for s in shipments], args.timeout)
    context_after = machine_context()
    live.close()
    (work / "live-published.json").write_text(
        json.dumps([[device, seq, at] for (device, seq), at in live.published.items()])
    )
    load_stored = Reading.objects.filter(device__id__startswith="bench-").count()
    load_elapsed = time.time() - load_started
    children.stop_all()
    worker_out = (work / "worker.log").read_text(errors="replace")
    expired = {
        task: worker_out.count(f"Discarding revoked task: {task}[")
        for task in ("coldchain.evaluate_dirty_shipments", "ledger.seal")
    }
    rows = [
        breach_breakdown(
            Shipment.objects.select_related("contract").get(pk=s.id), live.published, seen
        )
        for s in shipments
    ]
    return {
        "config": {
            "breaches": args.breaches,
            "cadence_s": args.cadence,
            "load_rate": args.load_rate,
            "load_devices": args.load_devices,
            "workers": args.workers,
            "bridge_max_delay_s": args.max_delay,
        },
        "machine_before": context_before,
        "machine_after": context_after,
        "load": {"offered": load_total, "stored": load_stored, "elapsed_s": load_elapsed},
        "assessments": Assessment.objects.count(),
        "beat_ticks_expired_in_queue": expired,
        "worker_error_lines": worker_out.count("ERROR") + worker_out.count("Traceback"),
        "breaches": rows,
    }


def report_breach(figures: dict) -> None:
    c = figures["config"]
    rows = figures["breaches"]
    print()
    print(
        f"== breach to claim: {c['breaches']} shipments, loggers every {c['cadence_s']} s, "
        f"load {c['load_rate']:.0f} readings/s offered ({c['load_devices']} devices), "
        f"{c['workers']} worker processes, bridge batches up to {c['bridge_max_delay_s']} s"
    )
    load = figures["load"]
    print(
        f"load: {load['stored']} of {load['offered']} readings stored in "
        f"{load['elapsed_s']:.0f} s ({load['stored'] / load['elapsed_s']:.0f}/s); "
        f"{figures['assessments']} assessments stored; beat ticks that expired in the "
        f"queue {figures['beat_ticks_expired_in_queue']}; worker error lines "
        f"{figures['worker_error_lines']}"
    )
    stages = (
        ("to_stored_s", "reading stored"),
        ("to_reading_sealed_s", "reading sealed (checkpoint)"),
        ("to_trigger_assessment_s", "assessment that triggered"),
        ("to_claim_evaluation_s", "claim's contract evaluation"),
        ("to_claim_committed_s", "claim committed (seen)"),
        ("to_claim_sealed_s", "claim sealed (seen)"),
    )
    print("from the confirming reading's publish to, seconds:")
    for name, label in stages:
        values = sorted(r[name] for r in rows if r.get(name) is not None)
        if values:
            print(
                f"  {label:30s} p50 {percentile(values, 0.5):7.1f}  "
                f"p99 {percentile(values, 0.99):7.1f}  max {values[-1]:7.1f}  (n={len(values)})"
            )
    for r in rows:
        detail = {k: (round(v, 1) if isinstance(v, float) else v) for k, v in r.items()}
        print(f"  {detail}")
    print(
        f"machine: load average {figures['machine_before']['load_average']} before, "
        f"{figures['machine_after']['load_average']} after ({os.cpu_count()} CPUs)"
    )


# --- main -------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    work = benchlib.temp_dir("coldchain-bench-contracts-")
    env = BenchEnv(
        db_name=args.db,
        redis_db=args.redis_db,
        queue=args.queue,
        mqtt_port=benchlib.free_port(),
        var_dir=work / "var",
        max_delay_s=args.max_delay,
    )
    children = Children()

    def terminate(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, terminate)
    parts = ["throughput", "breach"] if args.part == "both" else [args.part]
    figures: dict = {}
    lock = contextlib.nullcontext() if args.no_lock else benchlib.exclusive_run()
    try:
        lock.__enter__()
    except SystemExit:
        shutil.rmtree(work, ignore_errors=True)
        raise
    try:
        benchlib.setup_django(env)
        from django.db import connections

        for part in parts:
            connections.close_all()
            benchlib.recreate_database(env.db_name)
            benchlib.flush_redis(env)
            benchlib.migrate(env)
            if part == "throughput":
                figures[part] = run_throughput(args, env)
                report_throughput(figures[part])
            else:
                figures[part] = run_breach(args, env, children, work)
                report_breach(figures[part])
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
    if args.json and figures:
        Path(args.json).write_text(json.dumps(figures, indent=1, default=str))
    return 0 if len(figures) == len(parts) else 1


if __name__ == "__main__":
    sys.exit(main())
