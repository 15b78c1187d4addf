"""The README's first command: the whole platform on the embedded default."""

import os
import re
import signal
import sqlite3
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.support.brokers import free_port
from tests.support.processes import wait_until

ROOT = Path(__file__).resolve().parents[2]
SERVER_VARIABLES = ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "MQTT_URL", "MQTT_PROTOCOL")


def count(database: Path, table: str) -> int:
    if not database.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5) as connection:
            return connection.execute(f"select count(*) from {table}").fetchone()[0]
    except sqlite3.OperationalError:
        return 0  # not migrated yet


@pytest.mark.servers
def test_demo_runs_every_process_on_sqlite_and_stops_them_all_on_ctrl_c(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in SERVER_VARIABLES}
    web_port = free_port()
    env.update(COLDCHAIN_VAR_DIR=str(tmp_path), EMBEDDED_MQTT_PORT=str(free_port()))
    env.pop("LEDGER_WITNESSES", None)
    log = (tmp_path / "demo.log").open("wb")
    demo = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "demo",
            "--trucks",
            "2",
            "--port",
            str(web_port),
            "--witness-port",
            str(free_port()),
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        database = tmp_path / "coldchain.sqlite3"
        flowing = wait_until(lambda: count(database, "devices_reading") >= 20, 120, interval=1)
        assert flowing, (tmp_path / "demo.log").read_text()
        # The sequencer sealed them and the demo witness cosigned a checkpoint.
        witnessed = wait_until(lambda: count(database, "ledger_cosignature") >= 1, 60, interval=1)
        assert witnessed, (tmp_path / "demo.log").read_text()
        with urllib.request.urlopen(f"http://127.0.0.1:{web_port}/admin/login/") as response:
            assert response.status == 200
    finally:
        demo.send_signal(signal.SIGINT)
        code = demo.wait(timeout=90)
    output = (tmp_path / "demo.log").read_text()
    assert code == 0, output
    for name in ("broker", "witness", "web", "worker", "beat", "bridge", "simulator"):
        assert re.search(rf"^{name} *\| started", output, re.M), output
        assert re.search(rf"^{name} *\| stopped", output, re.M), output
    assert "exited with status" not in output
