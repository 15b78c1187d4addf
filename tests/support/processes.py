"""Platform processes for end-to-end tests: Celery worker, MQTT bridge, simulator.

Each runs as a real subprocess against the test database (committed data,
so tests using them need ``transactional_db``), a Celery queue of its own on
the real Redis and the broker the test chooses.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import psutil
import redis
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def wait_until(condition: Callable[[], bool], timeout: float, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()


def test_database_url() -> str:
    """The URL of the database pytest-django created, for the subprocesses."""
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    return f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


class PlatformEnv:
    """Environment shared by one test's processes; cleans its Redis keys afterwards."""

    def __init__(self, *, mqtt_url: str, var_dir: Path, visibility_timeout_s: int = 600) -> None:
        self.name = f"t{uuid.uuid4().hex[:10]}"
        self.broker_url = settings.CELERY_BROKER_URL
        self.variables = {
            "DATABASE_URL": test_database_url(),
            "CELERY_BROKER_URL": self.broker_url,
            "CELERY_QUEUE": self.name,
            "CELERY_VISIBILITY_TIMEOUT": str(visibility_timeout_s),
            "CELERY_RESTORE_INTERVAL_S": "1",
            "INGEST_REQUEUE_AFTER_S": "3",
            "INGEST_REQUEUE_INTERVAL_S": "1",
            "MQTT_URL": mqtt_url,
            "MQTT_PROTOCOL": "5",
            "MQTT_SHARE_GROUP": self.name,
            "MQTT_SESSION_EXPIRY_S": "300",
            "COLDCHAIN_VAR_DIR": str(var_dir),
            # Every process that signs platform entries must use the log's one key.
            "LEDGER_SIGNING_KEY_PATH": str(settings.LEDGER_SIGNING_KEY_PATH),
            "PYTHONUNBUFFERED": "1",
        }
        self.processes: list[subprocess.Popen] = []
        self.log_dir = var_dir / "logs"
        self.log_dir.mkdir(parents=True, exist_ok=True)

    def start(self, name: str, argv: list[str], **extra_env: str) -> subprocess.Popen:
        log = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 - lives as long as the process
        process = subprocess.Popen(
            argv,
            cwd=ROOT,
            env={**os.environ, **self.variables, **extra_env},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.processes.append(process)
        return process

    def worker(self, concurrency: int = 2) -> subprocess.Popen:
        """A Celery worker on this test's queue, returned once it consumes."""
        argv = [
            str(BIN / "celery"), "-A", "coldchain", "worker", "-Q", self.name,
            "-c", str(concurrency), "-l", "info", "-n", f"{self.name}-{uuid.uuid4().hex[:4]}@%h",
        ]  # fmt: skip
        return self._start_and_wait("worker", argv, ready_marker=" ready.")

    def beat(self) -> subprocess.Popen:
        """Celery beat: the sequencer and the sweep that requeues stalled ingest batches."""
        argv = [
            str(BIN / "celery"), "-A", "coldchain", "beat", "-l", "info",
            "--schedule", str(self.log_dir.parent / "celerybeat-schedule"),
        ]  # fmt: skip
        return self._start_and_wait("beat", argv, ready_marker="beat: Starting")

    def bridge(self, client_id: str | None = None, **options: str) -> subprocess.Popen:
        """An MQTT bridge, returned once it has subscribed (earlier messages would be lost)."""
        argv = [
            sys.executable,
            "manage.py",
            "ingest",
            "--client-id",
            client_id or f"{self.name}-bridge",
        ]
        for option, value in options.items():
            argv += [f"--{option.replace('_', '-')}", value]
        return self._start_and_wait("bridge", argv, ready_marker="subscribed to")

    def _start_and_wait(self, name: str, argv: list[str], ready_marker: str) -> subprocess.Popen:
        seen_before = self.log(name).count(ready_marker)
        process = self.start(name, argv)
        if not wait_until(lambda: self.log(name).count(ready_marker) > seen_before, timeout=30):
            raise RuntimeError(f"{name} did not start:\n{self.log(name)}")
        return process

    def manage(self, name: str, *args: str) -> subprocess.Popen:
        return self.start(name, [sys.executable, "manage.py", *args])

    def log(self, name: str) -> str:
        path = self.log_dir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    @classmethod
    def kill(cls, process: subprocess.Popen, signum: int = signal.SIGKILL) -> None:
        """Signal the process and all its children (a Celery worker's pool)."""
        if cls._signal_group(process, signum):
            cls._reap(process)

    @staticmethod
    def _signal_group(process: subprocess.Popen, signum: int) -> bool:
        try:
            os.killpg(process.pid, signum)
        except ProcessLookupError:
            return False
        return True

    @staticmethod
    def _reap(process: subprocess.Popen) -> None:
        """Wait for a signalled process; SIGKILL its group if it takes too long."""
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    @staticmethod
    def pool_children(process: subprocess.Popen) -> list[psutil.Process]:
        return psutil.Process(process.pid).children(recursive=True)

    def forget_queued_tasks(self) -> None:
        """Drop this test's Celery messages from Redis, queued and unacknowledged
        alike: what a Redis restart without persistence does."""
        client = redis.Redis.from_url(self.broker_url)
        client.delete(self.name)
        for tag, raw in client.hgetall("unacked").items():
            _message, _exchange, routing_key = json.loads(raw)
            if routing_key == self.name:
                client.hdel("unacked", tag)
                client.zrem("unacked_index", tag)

    def close(self) -> None:
        # All told to stop at once: each takes a while to shut down gracefully.
        stopping = [
            process
            for process in self.processes
            if process.poll() is None and self._signal_group(process, signal.SIGTERM)
        ]
        for process in stopping:
            self._reap(process)
        client = redis.Redis.from_url(self.broker_url)
        names = [key for key in client.scan_iter(f"*{self.name}*")]
        if names:
            client.delete(*names)
