"""The README's first command: the whole platform on the embedded default.

One demo runs for the module (it trains the default models first, which takes
a while on a busy host); the tests watch it in order and the last one stops it.
"""

import csv
import http.cookiejar
import io
import os
import re
import signal
import sqlite3
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.support.brokers import free_port
from tests.support.processes import wait_until

ROOT = Path(__file__).resolve().parents[2]
SERVER_VARIABLES = ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "MQTT_URL", "MQTT_PROTOCOL")
PROCESSES = ("broker", "witness", "web", "worker", "beat", "bridge", "trips", "simulator")

pytestmark = pytest.mark.servers


class Demo:
    def __init__(self, var_dir: Path) -> None:
        self.var_dir = var_dir
        self.database = var_dir / "coldchain.sqlite3"
        self.log_path = var_dir / "demo.log"
        self.web_port = free_port()
        env = {k: v for k, v in os.environ.items() if k not in SERVER_VARIABLES}
        env.update(COLDCHAIN_VAR_DIR=str(var_dir), EMBEDDED_MQTT_PORT=str(free_port()))
        env.pop("LEDGER_WITNESSES", None)
        self.process = subprocess.Popen(
            [
                sys.executable,
                "manage.py",
                "demo",
                "--trucks",
                "2",
                "--port",
                str(self.web_port),
                "--witness-port",
                str(free_port()),
            ],
            cwd=ROOT,
            env=env,
            stdout=self.log_path.open("wb"),
            stderr=subprocess.STDOUT,
        )
        self.code: int | None = None

    def log(self) -> str:
        return self.log_path.read_text()

    def query(self, sql: str) -> list[tuple]:
        if not self.database.exists():
            return []
        try:
            with sqlite3.connect(f"file:{self.database}?mode=ro", uri=True, timeout=5) as db:
                return db.execute(sql).fetchall()
        except sqlite3.OperationalError:
            return []  # not migrated yet, or busy

    def count(self, table: str) -> int:
        rows = self.query(f"select count(*) from {table}")
        return rows[0][0] if rows else 0

    def stop(self) -> int:
        if self.code is None:
            self.process.send_signal(signal.SIGINT)
            self.code = self.process.wait(timeout=90)
        return self.code


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    running = Demo(tmp_path_factory.mktemp("demo"))
    try:
        # Training the default models comes first.
        flowing = wait_until(lambda: running.count("devices_reading") >= 20, 300, interval=1)
        assert flowing, running.log()
        yield running
    finally:
        running.stop()


def instant(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def truth_rows(path: Path) -> list[dict]:
    """The simulator's ground truth so far, in whole lines (it is written in blocks)."""
    text = path.read_text() if path.exists() else ""
    return list(csv.DictReader(io.StringIO(text[: text.rfind("\n") + 1])))


def test_the_readings_are_sealed_and_the_demo_witness_cosigns_a_checkpoint(demo):
    witnessed = wait_until(lambda: demo.count("ledger_cosignature") >= 1, 60, interval=1)
    assert witnessed, demo.log()


def test_each_truck_carries_shipments_under_contract_that_collect_its_readings(demo):
    trucks = {row[0] for row in demo.query("select vehicle from coldchain_shipment")}
    assert trucks == {"truck-001", "truck-002"}
    assert demo.count("coldchain_contract") == demo.count("coldchain_shipment")
    attached = """
        select count(*) from devices_reading r join coldchain_deviceattachment a
          on a.device_id = r.device_id and r.ts >= a.attached_from and r.ts < a.attached_until
    """
    collecting = wait_until(lambda: demo.query(attached)[0][0] >= 20, 60, interval=1)
    assert collecting, demo.log()


def test_the_shipments_load_what_the_simulated_trucks_carry(demo):
    shipments = {
        reference: (code, instant(start), instant(end))
        for reference, code, start, end in demo.query(
            """select s.reference, p.code, min(a.attached_from), max(a.attached_until)
               from coldchain_shipment s join coldchain_product p on p.id = s.product_id
               join coldchain_deviceattachment a on a.shipment_id = s.id group by s.reference"""
        )
    }
    truth = demo.var_dir / "simulator-truth" / "truth.csv"
    assert wait_until(lambda: len(truth_rows(truth)) >= 10, 60, interval=1), demo.log()
    for row in truth_rows(truth):
        reference = f"{row['truck']}-trip-{int(row['trip']):04d}"
        code, start, end = shipments[reference]
        assert code == row["product"], row
        assert start <= instant(row["t"].replace("Z", "+00:00")) < end, row


def test_the_platform_assesses_the_shipments(demo):
    assessed = wait_until(lambda: demo.count("coldchain_assessment") >= 1, 180, interval=2)
    assert assessed, demo.log()


def test_a_carrier_signs_in_with_the_printed_password_and_sees_its_trucks_shipments(demo):
    password = re.search(r"^ +carrier-north +(\S+) +manager of Northern Reefers", demo.log(), re.M)
    assert password, demo.log()
    base = f"http://127.0.0.1:{demo.web_port}"
    browser = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )
    with browser.open(f"{base}/login/") as response:
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', response.read().decode())
    form = {"username": "carrier-north", "password": password[1], "csrfmiddlewaretoken": token[1]}
    request = urllib.request.Request(
        f"{base}/login/",
        data=urllib.parse.urlencode(form).encode(),
        headers={"Referer": f"{base}/login/"},
    )
    with browser.open(request) as response:
        assert response.status == 200
        assert response.url == f"{base}/"
        page = response.read().decode()
    assert "truck-001-trip-" in page
    assert "truck-002-trip-" not in page, "the other carrier's trucks are not its business"
    with browser.open(f"{base}/shipments/truck-001-trip-0000/") as response:
        assert response.status == 200
        assert "truck-001-trip-0000" in response.read().decode()
    with pytest.raises(urllib.error.HTTPError) as refused:
        browser.open(f"{base}/shipments/truck-002-trip-0000/")
    assert refused.value.code == 404


def test_ctrl_c_stops_every_process(demo):
    code = demo.stop()
    output = demo.log()
    assert code == 0, output
    for name in PROCESSES:
        assert re.search(rf"^{name} *\| started", output, re.M), output
        assert re.search(rf"^{name} *\| stopped", output, re.M), output
    assert "exited with status" not in output
