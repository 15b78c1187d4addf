"""The dashboard's shipment page as a browser loads it: server time and bytes sent.

    .venv/bin/python bench/page_bench.py                      # small: 100 shipments, 300k readings
    .venv/bin/python bench/page_bench.py --shipments 1000 --readings 10000000   # the full scale

1. Fills ``coldchain_bench_api`` as ``api_bench.py`` does (same code, same
   ``--keep``/``--reuse``), adds one long shipment of the same carrier with
   ``--long-readings`` readings (a 30-day trip, one reading a minute on each
   of its three loggers by default), then seals the readings of the
   ``--pages`` measured shipments and of the long one: a ledger entry and log
   index per reading and one checkpoint over them, so the page's excursion
   accounting works on real sealed rows, then vacuums the readings table (the
   sealing UPDATE left dead row versions that ingest never makes).
2. Collects the static files (whitenoise writes their gzip copies) and starts
   gunicorn as the API benchmark does.
3. Logs in through the login form (CSRF cookie and token, session cookie) as
   staff and as a carrier's user; both see the measured shipments.
4. For each user and shipment, ``--repeats`` times one after another: the page
   ``/shipments/<ref>/``, its live fragment, its excursion panel (loaded by
   htmx after the page) and its chart JSON, with a browser's
   ``Accept-Encoding``; then the long shipment alone, ``5 * --repeats`` times.
   Prints p50/p95 of the wall time of a request, the median first request of
   a shipment (the cache is emptied at the start, so the staff's first
   excursion panel of each shipment counts its figures; the carrier then finds
   them cached) and the bytes the server sent (body as sent, its
   Content-Encoding, uncompressed), with the size gzip would make of it.
   The static assets the page loads are fetched once, with and without gzip
   accepted.
5. Times the page's parts in-process (the selectors its view calls, and inside
   the excursion accounting the readings query against the rest) on one
   shipment of the fill and on the long one: what its server time is made of.
"""

from __future__ import annotations

import argparse
import gzip
import http.client
import json
import os
import re
import statistics
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from api_bench import (
    ASSESSMENTS_PER_SHIPMENT,
    DEVICES_PER_SHIPMENT,
    JWS_BYTES,
    add_database_arguments,
    bench_env,
    prepare_database,
    run_sql,
    start_web,
)
from benchlib import (
    PYTHON,
    ROOT,
    BenchEnv,
    Children,
    drop_database,
    exclusive_run,
    percentile,
    temp_dir,
)

PASSWORD = "bench-page-password"
BROWSER_ENCODINGS = "gzip, deflate, br"
STATIC_ASSETS = [
    "/static/frontend/dashboard.css",
    "/static/vendor/htmx/htmx.min.js",
    "/static/frontend/htmx-errors.js",
    "/static/vendor/uplot/uPlot.min.css",
    "/static/vendor/uplot/uPlot.iife.min.js",
    "/static/frontend/shipment-chart.js",
]
PAGE_PARTS = {
    "page": "/shipments/{ref}/",
    "live": "/shipments/{ref}/live",
    "excursions": "/shipments/{ref}/excursions",
    "series": "/shipments/{ref}/series.json",
}


def long_shipment_id(shipments: int) -> int:
    return shipments + 1


def reference_of(shipment_id: int) -> str:
    return f"SHP-{shipment_id:06d}"


def measured_references(shipments: int, pages: int) -> list[str]:
    """Shipments of carrier party 1001 (the carrier user's), so staff and carrier see the same."""
    step = max(1, shipments // 10)
    return [reference_of(n) for n in range(step, shipments + 1, step)][:pages]


# One more shipment after the fill's, of the measured shipments' carrier (1001),
# its three loggers reporting evenly over 30 days up to now, with assessments.
SQL_LONG_SHIPMENT = f"""
INSERT INTO coldchain_shipment (id, reference, product_id, shipper_id, carrier_id, receiver_id,
    insurer_id, bank_id, vehicle, origin, destination, departure_at, deadline_at, status,
    created_at)
VALUES (%(id)s, %(reference)s, 1, 1, 1001, 2001, 3001, 4001, 'truck-long', 'Rotterdam', 'Milan',
    now() - interval '30 days', now() + interval '2 days', 'in_transit', now());

INSERT INTO devices_device (id, public_key, kind, vehicle, status, registered_at,
    revocation_reason)
SELECT 'dev-' || lpad(d::text, 7, '0'), decode(md5(d::text) || md5(d::text), 'hex'),
    'independent_logger', 'truck-long', 'active', now(), ''
FROM generate_series((%(id)s - 1) * {DEVICES_PER_SHIPMENT} + 1,
                     %(id)s * {DEVICES_PER_SHIPMENT}) AS d;

INSERT INTO devices_devicekey (id, device_id, number, public_key, fingerprint, valid_from,
    requested_by_previous_key)
SELECT d, 'dev-' || lpad(d::text, 7, '0'), 1, decode(md5(d::text) || md5(d::text), 'hex'),
    md5(d::text) || md5(d::text), now() - interval '60 days', false
FROM generate_series((%(id)s - 1) * {DEVICES_PER_SHIPMENT} + 1,
                     %(id)s * {DEVICES_PER_SHIPMENT}) AS d;

INSERT INTO coldchain_deviceattachment (shipment_id, device_id, attached_from)
SELECT %(id)s, 'dev-' || lpad(d::text, 7, '0'), now() - interval '30 days'
FROM generate_series((%(id)s - 1) * {DEVICES_PER_SHIPMENT} + 1,
                     %(id)s * {DEVICES_PER_SHIPMENT}) AS d;

INSERT INTO devices_reading (device_id, seq, ts, received_at, stored_at, temp_c, ambient_c,
    door_open, jws, signing_key_id)
SELECT 'dev-' || lpad(d::text, 7, '0'), s,
    now() - interval '30 days' + s * (interval '30 days' / %(per_device)s),
    now() - interval '30 days' + s * (interval '30 days' / %(per_device)s), now(),
    5 + 2 * sin(s / 60.0 + d), 20, false, convert_to(repeat('x', {JWS_BYTES}), 'UTF8'), d
FROM generate_series((%(id)s - 1) * {DEVICES_PER_SHIPMENT} + 1,
                     %(id)s * {DEVICES_PER_SHIPMENT}) AS d,
     generate_series(0, %(per_device)s - 1) AS s;

INSERT INTO coldchain_assessment (shipment_id, evaluated_at, breach_model_id,
    breach_soon_model_id, input_sha256, breach_prob, breach_soon_prob, sensor_fault_prob, flag,
    validated_c, flagged_devices, top_factors, reading_indices, created_at)
SELECT %(id)s, now() - a * interval '1 hour', 1, 2, repeat('0', 64), 0.1, 0.1, 0.01, 'ok', 5,
    '[]', '[]', '[]', now()
FROM generate_series(1, {ASSESSMENTS_PER_SHIPMENT}) AS a;

SELECT setval(pg_get_serial_sequence('coldchain_shipment', 'id'), %(id)s + 1);
SELECT setval(pg_get_serial_sequence('devices_devicekey', 'id'),
              %(id)s * {DEVICES_PER_SHIPMENT} + 1)
"""


def add_long_shipment(shipments: int, readings: int) -> str:
    """The long shipment's reference, added once (a --reuse run finds it)."""
    from coldchain.models import Shipment

    shipment_id = long_shipment_id(shipments)
    reference = reference_of(shipment_id)
    if not Shipment.objects.filter(reference=reference).exists():
        per_device = max(1, readings // DEVICES_PER_SHIPMENT)
        run_sql(
            SQL_LONG_SHIPMENT,
            {"id": shipment_id, "reference": reference, "per_device": per_device},
        )
    return reference


# Every reading of the measured shipments' devices becomes a sealed log entry
# (ids from 1001, log indices from 0) under one checkpoint over all of them.
SQL_SEAL = f"""
CREATE TEMP TABLE bench_sealing AS
SELECT r.id AS reading_id, 1000 + row_number() OVER (ORDER BY r.id) AS entry_id
FROM devices_reading r
WHERE r.device_id IN (
    SELECT 'dev-' || lpad(d::text, 7, '0')
    FROM unnest(%(shipment_ids)s::int[]) AS s,
         generate_series((s - 1) * {DEVICES_PER_SHIPMENT} + 1, s * {DEVICES_PER_SHIPMENT}) AS d);

INSERT INTO ledger_entry (id, data, leaf_hash, kind, created_at)
SELECT entry_id, convert_to('bench reading', 'UTF8'),
    decode(md5(entry_id::text) || md5(entry_id::text), 'hex'), 'reading', now()
FROM bench_sealing;

UPDATE devices_reading r SET ledger_entry_id = s.entry_id
FROM bench_sealing s WHERE r.id = s.reading_id;

INSERT INTO ledger_logindex (log_index, entry_id)
SELECT entry_id - 1001, entry_id FROM bench_sealing;

INSERT INTO ledger_checkpoint (size, root_hash, note, created_at)
SELECT count(*), decode(repeat('00', 32), 'hex'), 'bench checkpoint', now() FROM bench_sealing;

SELECT setval(pg_get_serial_sequence('ledger_entry', 'id'),
              (SELECT coalesce(max(id), 1) FROM ledger_entry));
DROP TABLE bench_sealing;

-- Ingest stores a reading with its ledger entry; the UPDATE above left a second,
-- dead version of every sealed row. Vacuumed as autovacuum would, so the
-- (device, time) index answers alone as it does on a live database.
VACUUM (ANALYZE) devices_reading
"""


def seal_measured(references: list[str]) -> int:
    """Seal the measured shipments' readings once (a --reuse run finds them sealed)."""
    from ledger.models import Checkpoint

    if not Checkpoint.objects.exists():
        ids = [int(reference.removeprefix("SHP-")) for reference in references]
        run_sql(SQL_SEAL, {"shipment_ids": ids})
    return Checkpoint.objects.get().size


def set_passwords() -> None:
    from django.contrib.auth.models import User

    for user in User.objects.filter(username__in=["bench-staff", "bench-carrier"]):
        user.set_password(PASSWORD)
        user.save(update_fields=["password"])


def collect_static(env: BenchEnv) -> None:
    subprocess.run(
        [PYTHON, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=ROOT,
        env=env.child_env(),
        check=True,
    )


@dataclass
class Answer:
    status: int
    seconds: float
    sent: bytes  # the body as it crossed the wire
    encoding: str  # its Content-Encoding ("" when none)
    headers: http.client.HTTPMessage


def fetch(port: int, path: str, *, headers: dict, method: str = "GET", body: str = "") -> Answer:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    started = time.perf_counter()
    connection.request(method, path, body=body or None, headers=headers)
    response = connection.getresponse()
    sent = response.read()  # http.client does not decompress: these are the bytes sent
    seconds = time.perf_counter() - started
    connection.close()
    return Answer(
        response.status, seconds, sent, response.getheader("Content-Encoding", ""), response.msg
    )


def cookie(answer: Answer, name: str) -> str:
    for header in answer.headers.get_all("Set-Cookie") or []:
        if header.startswith(f"{name}="):
            return header.split(";", 1)[0].split("=", 1)[1]
    raise RuntimeError(f"no {name} cookie in the answer")


def log_in(port: int, username: str) -> str:
    """The session cookie of a login through the form, as a browser does it."""
    form = fetch(port, "/login/", headers={})
    csrf = cookie(form, "csrftoken")
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', form.sent).group(1).decode()
    posted = fetch(
        port,
        "/login/",
        method="POST",
        body=urlencode({"username": username, "password": PASSWORD, "csrfmiddlewaretoken": token}),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": f"csrftoken={csrf}",
        },
    )
    if posted.status != 302:
        raise RuntimeError(f"login of {username} answered {posted.status}")
    return f"csrftoken={csrf}; sessionid={cookie(posted, 'sessionid')}"


def measure_parts(port: int, session: str, references: list[str], repeats: int) -> list[dict]:
    headers = {"Cookie": session, "Accept-Encoding": BROWSER_ENCODINGS}
    rows = []
    for part, template in PAGE_PARTS.items():
        times, firsts, sizes, plain, gzipped, encodings = [], [], [], [], [], set()
        for reference in references:
            for repeat in range(repeats):
                answer = fetch(port, template.format(ref=reference), headers=headers)
                if answer.status != 200:
                    raise RuntimeError(f"{template.format(ref=reference)}: {answer.status}")
                body = gzip.decompress(answer.sent) if answer.encoding == "gzip" else answer.sent
                times.append(answer.seconds)
                if repeat == 0:
                    firsts.append(answer.seconds)
                sizes.append(len(answer.sent))
                plain.append(len(body))
                gzipped.append(len(gzip.compress(body, 6)))
                encodings.add(answer.encoding or "none")
        times.sort()
        rows.append(
            {
                "part": part,
                "requests": len(times),
                "p50_ms": 1000 * percentile(times, 0.50),
                "p95_ms": 1000 * percentile(times, 0.95),
                "first_ms": 1000 * statistics.median(firsts),
                "sent_bytes": statistics.median(sizes),
                "plain_bytes": statistics.median(plain),
                "encoding": ",".join(sorted(encodings)),
                "gzip_would_be": statistics.median(gzipped),
            }
        )
    return rows


def measure_static(port: int) -> list[dict]:
    rows = []
    for path in STATIC_ASSETS:
        plain = fetch(port, path, headers={})
        packed = fetch(port, path, headers={"Accept-Encoding": BROWSER_ENCODINGS})
        if plain.status != 200 or packed.status != 200:
            raise RuntimeError(f"{path}: {plain.status}/{packed.status}")
        rows.append(
            {
                "asset": path,
                "bytes": len(plain.sent),
                "sent_bytes": len(packed.sent),
                "encoding": packed.encoding or "none",
                "ms": 1000 * packed.seconds,
            }
        )
    return rows


def timed(function, *args, repeats: int = 3) -> float:
    """Median seconds of ``function(*args)``."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function(*args)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def page_breakdown(reference: str) -> dict[str, float]:
    """Seconds of each selector the page's view calls, as staff, in this process."""
    from datetime import UTC, datetime

    from django.contrib.auth.models import User
    from django.test import Client

    from coldchain.alerts import alerts_actor
    from coldchain.contract_facts import sealed_readings
    from coldchain.report_data import cargo_accounting
    from frontend.selectors.contracts import contract_timeline, evidence_visible, excursion_panel
    from frontend.selectors.series import shipment_series
    from frontend.selectors.shipments import (
        latest_assessment,
        latest_readings,
        shipment_alerts,
        shipment_for,
    )
    from ledger.models import Checkpoint

    staff = User.objects.get(username="bench-staff")
    shipment = shipment_for(staff, reference)
    sealed_size = Checkpoint.objects.get().size
    client = Client()
    client.force_login(staff)
    return {
        "whole page (test client)": timed(client.get, f"/shipments/{reference}/"),
        "excursions fragment (test client)": timed(
            client.get, f"/shipments/{reference}/excursions"
        ),
        "latest_readings": timed(latest_readings, shipment),
        "latest_assessment": timed(latest_assessment, shipment),
        "shipment_alerts": timed(lambda: list(shipment_alerts(shipment))),
        "alerts_actor": timed(alerts_actor, staff),
        "excursion_panel (cached after the first)": timed(excursion_panel, shipment),
        "  cargo_accounting": timed(cargo_accounting, shipment),
        "    sealed_readings (queries + frame)": timed(
            lambda: sealed_readings(shipment, until=datetime.now(UTC), log_size=sealed_size)
        ),
        "contract_timeline": timed(contract_timeline, shipment, staff),
        "evidence_visible": timed(evidence_visible, shipment, staff),
        "series.json: shipment_series": timed(shipment_series, shipment),
    }


def readings_per_shipment(reference: str) -> int:
    from devices.models import Reading

    number = int(reference.removeprefix("SHP-"))
    first = (number - 1) * DEVICES_PER_SHIPMENT + 1
    devices = [f"dev-{d:07d}" for d in range(first, first + DEVICES_PER_SHIPMENT)]
    return Reading.objects.filter(device_id__in=devices).count()


def print_report(results: dict) -> None:
    print(f"\nreadings per measured shipment: {results['readings_per_shipment']:,}")
    print(f"readings of the long shipment: {results['long_readings']:,}")
    print(f"load average before/after: {results['load_before']} / {results['load_after']}")
    print(
        "\n| user | part | requests | p50 | p95 | first request | bytes sent | encoding "
        "| uncompressed | gzip would send |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---|---:|---:|")
    for who, rows in results["parts"].items():
        for row in rows:
            print(
                f"| {who} | {row['part']} | {row['requests']} | {row['p50_ms']:.0f} ms | "
                f"{row['p95_ms']:.0f} ms | {row['first_ms']:.0f} ms | "
                f"{row['sent_bytes']:,.0f} | {row['encoding']} | "
                f"{row['plain_bytes']:,.0f} | {row['gzip_would_be']:,.0f} |"
            )
    print("\n| static asset | bytes | bytes sent (gzip accepted) | encoding | time |")
    print("|---|---:|---:|---|---:|")
    for row in results["static"]:
        print(
            f"| {row['asset']} | {row['bytes']:,} | {row['sent_bytes']:,} | {row['encoding']} | "
            f"{row['ms']:.1f} ms |"
        )
    print("\n| in-process, one shipment as staff, median of 3 | of the fill | long |")
    print("|---|---:|---:|")
    for name, seconds in results["breakdown"].items():
        long_seconds = results["long_breakdown"][name]
        print(f"| {name} | {1000 * seconds:.0f} ms | {1000 * long_seconds:.0f} ms |")


def forget_cached_panels() -> None:
    """Start from an empty cache (the benchmark's own Redis db): every figure
    below includes the first, uncached view of each shipment."""
    from django.core.cache import cache

    cache.clear()


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_database_arguments(parser)
    parser.add_argument("--pages", type=int, default=5, help="shipments measured")
    parser.add_argument("--repeats", type=int, default=5, help="requests per shipment and part")
    parser.add_argument(
        "--long-readings",
        type=int,
        default=129_600,
        help="readings of the long shipment (default: 30 days, one a minute per logger)",
    )
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    work = temp_dir("coldchain-page-bench-")
    env = bench_env(work)
    children = Children()
    with exclusive_run():
        try:
            prepare_database(env, args)
            references = measured_references(args.shipments, args.pages)
            long_reference = add_long_shipment(args.shipments, args.long_readings)
            started = time.monotonic()
            sealed = seal_measured([*references, long_reference])
            print(f"sealed {sealed:,} readings in {time.monotonic() - started:.0f} s")
            set_passwords()
            forget_cached_panels()
            collect_static(env)
            port = start_web(children, env, work, args.workers)
            results = {
                "references": references,
                "long_reference": long_reference,
                "readings_per_shipment": readings_per_shipment(references[0]),
                "long_readings": readings_per_shipment(long_reference),
                "load_before": load_average(),
                "parts": {},
            }
            for who in ("staff", "carrier"):
                session = log_in(port, f"bench-{who}")
                measure_parts(port, session, references[:1], 1)  # each worker's first import
                results["parts"][who] = measure_parts(port, session, references, args.repeats)
                results["parts"][f"{who}, long"] = measure_parts(
                    port, session, [long_reference], 5 * args.repeats
                )
            results["static"] = measure_static(port)
            results["breakdown"] = page_breakdown(references[0])
            results["long_breakdown"] = page_breakdown(long_reference)
            results["load_after"] = load_average()
            print_report(results)
            if args.json:
                settings = {**vars(args), "json": str(args.json)}
                args.json.write_text(json.dumps({"args": settings, **results}, indent=2))
        finally:
            children.stop_all()
            if not (args.keep or args.reuse):
                drop_database(env.db_name)


if __name__ == "__main__":
    main()
