"""REST API latency: p50/p95 of the main list and detail endpoints under concurrent clients.

    .venv/bin/python bench/api_bench.py                       # small: 100 shipments, 300k readings
    .venv/bin/python bench/api_bench.py --shipments 1000 --readings 10000000   # the full scale

1. Creates the database ``coldchain_bench_api`` and fills it in SQL: parties,
   one product, ``--shipments`` active shipments with three devices each,
   ``--readings`` readings spread evenly over the devices (one a minute,
   430-byte signature placeholders: the API serves them, nothing verifies
   them here), ten assessments per shipment and an alert on every fifth.
2. Starts gunicorn (``--workers`` sync workers) on a free port.
3. For each endpoint, ``--clients`` threads send requests back to back for
   ``--seconds`` (after a two-second warm-up) as staff, or as a carrier's
   user for the party-scoped rows; every answer must be a 200.
4. Prints requests/s, p50 and p95 per endpoint (``--json FILE`` keeps them).

The database is dropped at the end unless ``--keep``; ``--reuse`` measures
again the database a ``--keep`` run left, without filling it anew.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from benchlib import (
    PYTHON,
    BenchEnv,
    Children,
    drop_database,
    exclusive_run,
    free_port,
    migrate,
    percentile,
    recreate_database,
    setup_django,
    temp_dir,
    wait_port,
)

DEVICES_PER_SHIPMENT = 3
ASSESSMENTS_PER_SHIPMENT = 10
JWS_BYTES = 430


def populate(shipments: int, readings: int) -> dict:
    """Fill the database in bulk; returns the names the requests use."""
    from django.contrib.auth.models import User
    from rest_framework.authtoken.models import Token

    from coldchain.models import Membership

    devices = shipments * DEVICES_PER_SHIPMENT
    per_device = max(1, readings // devices)
    run_sql(SQL_POPULATE, {"shipments": shipments, "per_device": per_device})
    staff = User.objects.create_user("bench-staff", is_staff=True)
    carrier = User.objects.create_user("bench-carrier")
    Membership.objects.create(user=carrier, party_id=PARTY_ID["carrier"] + 1, role="operator")
    return {
        "staff_token": Token.objects.create(user=staff).key,
        "carrier_token": Token.objects.create(user=carrier).key,
        "per_device": per_device,
    }


def run_sql(script: str, params: dict) -> None:
    """Run a script of statements separated by ``;`` at line ends, then ANALYZE."""
    from django.db import connection

    with connection.cursor() as cursor:
        for statement in script.split(";\n"):
            if statement.strip():
                cursor.execute(statement, params)
        cursor.execute("ANALYZE")


def existing_names() -> dict:
    from rest_framework.authtoken.models import Token

    tokens = Token.objects.select_related("user")
    return {f"{t.user.username.removeprefix('bench-')}_token": t.key for t in tokens}


# One party of each kind per ten shipments; party ids are 1-based per kind block.
PARTY_ID = {"shipper": 0, "carrier": 1000, "receiver": 2000, "insurer": 3000, "bank": 4000}

SQL_POPULATE = f"""
INSERT INTO coldchain_party (id, slug, name, kind, created_at)
SELECT base + n, kind || '-' || n, initcap(kind) || ' ' || n, kind, now()
FROM (VALUES ('shipper', 0), ('carrier', 1000), ('receiver', 2000), ('insurer', 3000),
             ('bank', 4000)) AS kinds(kind, base),
     generate_series(1, greatest(1, %(shipments)s / 10)) AS n;

INSERT INTO coldchain_product (id, code, name, temp_min_c, temp_max_c, excursion_min_c,
    excursion_max_c, max_single_excursion_min, max_cumulative_excursion_min, mkt_limit_c)
VALUES (1, 'vaccine', 'Vaccine, 2 to 8 C', 2, 8, 0, 12, 30, 60, 8);

INSERT INTO coldchain_shipment (id, reference, product_id, shipper_id, carrier_id, receiver_id,
    insurer_id, bank_id, vehicle, origin, destination, departure_at, deadline_at, status,
    created_at)
SELECT n, 'SHP-' || lpad(n::text, 6, '0'), 1,
    1 + (n %% greatest(1, %(shipments)s / 10)), 1001 + (n %% greatest(1, %(shipments)s / 10)),
    2001 + (n %% greatest(1, %(shipments)s / 10)), 3001 + (n %% greatest(1, %(shipments)s / 10)),
    4001 + (n %% greatest(1, %(shipments)s / 10)),
    'truck-' || n, 'Rotterdam', 'Milan', now() - interval '30 days', now() + interval '2 days',
    'in_transit', now()
FROM generate_series(1, %(shipments)s) AS n;

INSERT INTO devices_device (id, public_key, kind, vehicle, status, registered_at,
    revocation_reason)
SELECT 'dev-' || lpad(d::text, 7, '0'), decode(md5(d::text) || md5(d::text), 'hex'),
    'independent_logger', 'truck-' || (1 + (d - 1) / {DEVICES_PER_SHIPMENT}), 'active', now(), ''
FROM generate_series(1, %(shipments)s * {DEVICES_PER_SHIPMENT}) AS d;

INSERT INTO devices_devicekey (id, device_id, number, public_key, fingerprint, valid_from,
    requested_by_previous_key)
SELECT d, 'dev-' || lpad(d::text, 7, '0'), 1, decode(md5(d::text) || md5(d::text), 'hex'),
    md5(d::text) || md5(d::text), now() - interval '60 days', false
FROM generate_series(1, %(shipments)s * {DEVICES_PER_SHIPMENT}) AS d;

INSERT INTO coldchain_deviceattachment (shipment_id, device_id, attached_from)
SELECT 1 + (d - 1) / {DEVICES_PER_SHIPMENT}, 'dev-' || lpad(d::text, 7, '0'),
    now() - interval '30 days'
FROM generate_series(1, %(shipments)s * {DEVICES_PER_SHIPMENT}) AS d;

-- Readings one a minute from departure, in seq order per device; the JWS is a
-- placeholder of a real reading's size.
INSERT INTO devices_reading (device_id, seq, ts, received_at, stored_at, temp_c, ambient_c,
    door_open, jws, signing_key_id)
SELECT 'dev-' || lpad(d::text, 7, '0'), s,
    now() - interval '30 days' + s * interval '1 minute',
    now() - interval '30 days' + s * interval '1 minute', now(),
    5 + 2 * sin(s / 60.0 + d), 20, false, convert_to(repeat('x', {JWS_BYTES}), 'UTF8'), d
FROM generate_series(1, %(shipments)s * {DEVICES_PER_SHIPMENT}) AS d,
     generate_series(1, %(per_device)s) AS s;

INSERT INTO ledger_entry (id, data, leaf_hash, kind, created_at)
VALUES (1, 'breach model', decode(md5('1') || md5('1'), 'hex'), 'model_registered', now()),
       (2, 'soon model', decode(md5('2') || md5('2'), 'hex'), 'model_registered', now());

INSERT INTO analytics_modelversion (id, task, version, artifact_path, artifact_sha256,
    training_data_sha256, features, params, metrics, code_version, xgboost_version, created_at,
    active, registration_entry_id)
VALUES (1, 'breach', 1, 'a.ubj', repeat('0', 64), repeat('0', 64), '[]', '{{}}', '{{}}',
        'bench', 'bench', now(), true, 1),
       (2, 'breach_soon', 1, 'b.ubj', repeat('0', 64), repeat('0', 64), '[]', '{{}}', '{{}}',
        'bench', 'bench', now(), true, 2);

INSERT INTO coldchain_assessment (shipment_id, evaluated_at, breach_model_id,
    breach_soon_model_id, input_sha256, breach_prob, breach_soon_prob, sensor_fault_prob, flag,
    validated_c, flagged_devices, top_factors, reading_indices, created_at)
SELECT n, now() - a * interval '1 hour', 1, 2, repeat('0', 64), 0.1, 0.1, 0.01,
    CASE WHEN n %% 5 = 0 AND a = 1 THEN 'breach' ELSE 'ok' END, 5, '[]', '[]', '[]', now()
FROM generate_series(1, %(shipments)s) AS n, generate_series(1, {ASSESSMENTS_PER_SHIPMENT}) AS a;

INSERT INTO coldchain_alert (shipment_id, kind, status, opened_at, opened_by_id,
    last_assessment_id)
SELECT shipment_id, 'breach', 'open', evaluated_at, id, id
FROM coldchain_assessment WHERE flag = 'breach';

SELECT setval(pg_get_serial_sequence('coldchain_party', 'id'), 10000);
SELECT setval(pg_get_serial_sequence('coldchain_shipment', 'id'), %(shipments)s + 1);
SELECT setval(pg_get_serial_sequence('devices_devicekey', 'id'),
              %(shipments)s * {DEVICES_PER_SHIPMENT} + 1);
SELECT setval(pg_get_serial_sequence('ledger_entry', 'id'), 3);
SELECT setval(pg_get_serial_sequence('analytics_modelversion', 'id'), 3);
"""


@dataclass
class Endpoint:
    name: str
    who: str  # "staff" or "carrier"
    paths: list[str]  # one picked at random per request


def endpoints(shipments: int, series_range: str) -> list[Endpoint]:
    refs = [f"SHP-{n:06d}" for n in range(1, shipments + 1)]
    devices = [f"dev-{d:07d}" for d in range(1, shipments * DEVICES_PER_SHIPMENT + 1)]
    # The carrier user belongs to carrier party 1001: a tenth of the shipments.
    return [
        Endpoint("shipments list", "staff", ["/api/v1/shipments/"]),
        Endpoint("shipments list (carrier)", "carrier", ["/api/v1/shipments/"]),
        Endpoint("shipment detail", "staff", [f"/api/v1/shipments/{r}/" for r in refs]),
        Endpoint("devices list", "staff", ["/api/v1/devices/"]),
        Endpoint("device detail", "staff", [f"/api/v1/devices/{d}/" for d in devices]),
        Endpoint(
            "readings of a device", "staff", [f"/api/v1/readings/?device={d}" for d in devices]
        ),
        Endpoint("readings list (carrier)", "carrier", ["/api/v1/readings/"]),
        Endpoint("readings list (staff)", "staff", ["/api/v1/readings/"]),
        Endpoint(
            "series, 1 day of a device",
            "staff",
            [f"/api/v1/readings/series/?device={d}&{series_range}&max_points=500" for d in devices],
        ),
        Endpoint("assessments list", "staff", ["/api/v1/assessments/"]),
        Endpoint("alerts list", "staff", ["/api/v1/alerts/"]),
        Endpoint("alerts list (carrier)", "carrier", ["/api/v1/alerts/"]),
    ]


WARM_UP_S = 2.0


def warm_up(port: int, token: str, workers: int) -> None:
    """Every gunicorn worker imports Django lazily on its first request: get that over with."""
    for _ in range(workers * 4):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        connection.request("GET", "/api/v1/parties/", headers={"Authorization": f"Token {token}"})
        connection.getresponse().read()
        connection.close()


def hammer(port: int, endpoint: Endpoint, token: str, clients: int, seconds: float) -> dict:
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()
    warm_until = time.monotonic() + WARM_UP_S
    stop_at = warm_until + seconds
    headers = {"Authorization": f"Token {token}"}

    def client() -> None:
        rng = random.Random()
        mine: list[float] = []
        while (now := time.monotonic()) < stop_at:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            started = time.perf_counter()
            connection.request("GET", rng.choice(endpoint.paths), headers=headers)
            response = connection.getresponse()
            response.read()
            elapsed = time.perf_counter() - started
            connection.close()
            if response.status != 200:
                with lock:
                    failures.append(str(response.status))
            elif now >= warm_until:
                mine.append(elapsed)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    latencies.sort()
    return {
        "endpoint": endpoint.name,
        "who": endpoint.who,
        "requests": len(latencies),
        "per_s": len(latencies) / seconds,
        "p50_ms": 1000 * percentile(latencies, 0.50),
        "p95_ms": 1000 * percentile(latencies, 0.95),
        "failures": len(failures),
    }


def add_database_arguments(parser: argparse.ArgumentParser) -> None:
    """The fill's size and lifetime, shared with the shipment page benchmark."""
    parser.add_argument("--shipments", type=int, default=100)
    parser.add_argument("--readings", type=int, default=300_000)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers")
    parser.add_argument("--keep", action="store_true", help="keep the database")
    parser.add_argument(
        "--reuse", action="store_true", help="measure the database a --keep run left (same sizes)"
    )


def bench_env(work: Path) -> BenchEnv:
    env = BenchEnv(
        db_name="coldchain_bench_api",
        redis_db=9,
        queue="coldchain-bench",
        mqtt_port=free_port(),
        var_dir=work / "var",
    )
    env.var_dir.mkdir()
    return env


def prepare_database(env: BenchEnv, args: argparse.Namespace) -> dict:
    """Fill the database anew (or take the one ``--reuse`` names) and set Django up on it."""
    if args.reuse:
        setup_django(env)
        return existing_names()
    recreate_database(env.db_name)
    migrate(env)
    setup_django(env)
    started = time.monotonic()
    names = populate(args.shipments, args.readings)
    print(
        f"populated {args.shipments} shipments, "
        f"{args.shipments * DEVICES_PER_SHIPMENT * names['per_device']:,} readings "
        f"in {time.monotonic() - started:.0f} s"
    )
    return names


def start_web(children: Children, env: BenchEnv, work: Path, workers: int) -> int:
    """gunicorn with ``workers`` sync workers on a free port; returns the port."""
    port = free_port()
    children.start(
        "web",
        [
            str(Path(PYTHON).parent / "gunicorn"),
            "coldchain.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--timeout",
            "120",
        ],
        env=env.child_env() | {"API_THROTTLE_AUTH": "1000/second"},
        log=work / "gunicorn.log",
    )
    wait_port(port, 30)
    return port


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_database_arguments(parser)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--only", help="run the endpoints whose name contains this")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    work = temp_dir("coldchain-api-bench-")
    env = bench_env(work)
    children = Children()
    with exclusive_run():
        try:
            names = prepare_database(env, args)
            port = start_web(children, env, work, args.workers)
            warm_up(port, names["staff_token"], args.workers)
            results = []
            for endpoint in endpoints(args.shipments, series_window()):
                if args.only and args.only not in endpoint.name:
                    continue
                token = names[f"{endpoint.who}_token"]
                result = hammer(port, endpoint, token, args.clients, args.seconds)
                results.append(result)
                print(
                    f"{result['endpoint']:<28} {result['per_s']:7.1f} req/s  "
                    f"p50 {result['p50_ms']:8.1f} ms  p95 {result['p95_ms']:8.1f} ms"
                    + (f"  FAILURES {result['failures']}" if result["failures"] else "")
                )
            if args.json:
                settings = {**vars(args), "json": str(args.json)}
                args.json.write_text(json.dumps({"args": settings, "results": results}, indent=2))
        finally:
            children.stop_all()
            if not (args.keep or args.reuse):
                drop_database(env.db_name)


def series_window() -> str:
    """The last day of readings (readings run one a minute from 30 days ago)."""
    from django.db.models import Max

    from devices.models import Reading

    last = Reading.objects.filter(device_id="dev-0000001").aggregate(Max("ts"))["ts__max"]
    start = last - timedelta(days=1)
    instant = "%Y-%m-%dT%H:%M:%SZ"
    return f"from={start.strftime(instant)}&to={last.strftime(instant)}"


if __name__ == "__main__":
    main()
