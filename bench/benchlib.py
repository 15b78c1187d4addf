"""Shared plumbing for the ingest benchmarks: servers, child processes, sampling.

Everything here talks to 127.0.0.1 only and cleans up after itself: a private
Mosquitto on a free port, a dedicated PostgreSQL database, a dedicated Redis db
and Celery queue. Nothing in here changes the product; it only drives it.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
PYTHON = str(ROOT / ".venv" / "bin" / "python")
CELERY = str(ROOT / ".venv" / "bin" / "celery")
MOSQUITTO_CONF = ROOT / "docker" / "mosquitto.conf"
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


LOCK_FILE = Path(tempfile.gettempdir()) / "coldchain-bench.lock"


@contextlib.contextmanager
def exclusive_run():
    """One benchmark at a time on this machine: they share the database name,
    the Redis db and the queue, and would measure each other's load."""
    import fcntl

    with open(LOCK_FILE, "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SystemExit(
                f"another coldchain benchmark is running (lock {LOCK_FILE}); try again later"
            ) from None
        handle.write(str(os.getpid()))
        handle.flush()
        yield


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


@dataclass
class BenchEnv:
    """The environment the product processes run with: every server is ours alone."""

    db_name: str
    redis_db: int
    queue: str
    mqtt_port: int
    var_dir: Path
    batch_size: int = 500
    max_delay_s: float = 0.05
    log_level: str = "WARNING"

    def __post_init__(self) -> None:
        if not re.fullmatch(r"coldchain_bench\w*", self.db_name):
            raise ValueError("benchmark databases must be named coldchain_bench*")
        if self.redis_db == 0:
            raise ValueError("use a dedicated Redis db number, not 0")

    @property
    def database_url(self) -> str:
        return f"postgres://postgres@127.0.0.1:5432/{self.db_name}"

    @property
    def redis_url(self) -> str:
        return f"redis://{REDIS_HOST}:{REDIS_PORT}/{self.redis_db}"

    def variables(self) -> dict[str, str]:
        return {
            "DJANGO_SETTINGS_MODULE": "coldchain.settings",
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "CELERY_BROKER_URL": self.redis_url,
            "CELERY_QUEUE": self.queue,
            "MQTT_URL": f"mqtt://127.0.0.1:{self.mqtt_port}",
            "MQTT_PROTOCOL": "5",
            "MQTT_CLIENT_ID": f"{self.queue}-bridge",
            "MQTT_SHARE_GROUP": self.queue,
            "MQTT_SESSION_EXPIRY_S": "300",
            "COLDCHAIN_VAR_DIR": str(self.var_dir),
            "SECRET_KEY": "benchmark-only-not-secret",
            "INGEST_BATCH_SIZE": str(self.batch_size),
            "INGEST_BATCH_MAX_DELAY_S": str(self.max_delay_s),
            "LOG_LEVEL": self.log_level,
            "PYTHONWARNINGS": "ignore",
        }

    def child_env(self) -> dict[str, str]:
        return {**os.environ, **self.variables()}

    def apply(self) -> None:
        """Point this process's Django at the benchmark servers (before django.setup)."""
        os.environ.update(self.variables())


def setup_django(env: BenchEnv) -> None:
    env.apply()
    import django

    django.setup()


# --- PostgreSQL and Redis ---------------------------------------------------


def recreate_database(name: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(name: str) -> None:
    import psycopg

    # Django keeps a connection open in this process; close it first.
    with contextlib.suppress(Exception):
        from django.db import connections

        connections.close_all()
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def migrate(env: BenchEnv) -> None:
    subprocess.run(
        [PYTHON, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env.child_env(), check=True
    )


def redis_client(env: BenchEnv):
    import redis

    return redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=env.redis_db)


def flush_redis(env: BenchEnv) -> None:
    client = redis_client(env)
    try:
        client.flushdb()
    finally:
        client.close()


# --- child processes --------------------------------------------------------


class Children:
    """Child processes, each in its own process group; stopped in reverse order."""

    def __init__(self) -> None:
        self.procs: list[tuple[str, subprocess.Popen, float]] = []

    def start(
        self, name: str, cmd: list[str], *, env: dict, log: Path, stop_timeout: float = 20.0
    ) -> subprocess.Popen:
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                cmd,
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.procs.append((name, proc, stop_timeout))
        return proc

    def stop(self, proc: subprocess.Popen, timeout: float = 20.0) -> int | None:
        """SIGTERM the child's own process group, SIGKILL it after ``timeout``."""
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)
        # The group may outlive its leader (e.g. prefork children).
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        return proc.returncode

    def stop_all(self) -> None:
        while self.procs:
            _, proc, timeout = self.procs.pop()
            self.stop(proc, timeout)


def mosquitto_config(port: int, data_dir: Path) -> str:
    """docker/mosquitto.conf on a private loopback port with a private store."""
    lines = []
    for line in MOSQUITTO_CONF.read_text().splitlines():
        if line.startswith("listener "):
            line = f"listener {port} 127.0.0.1"
        elif line.startswith("persistence_location "):
            line = f"persistence_location {data_dir}/"
        lines.append(line)
    return "\n".join(lines) + "\n"


def start_mosquitto(children: Children, port: int, work_dir: Path) -> subprocess.Popen:
    data_dir = work_dir / "mosquitto-data"
    data_dir.mkdir(exist_ok=True)
    conf = work_dir / "mosquitto.conf"
    conf.write_text(mosquitto_config(port, data_dir))
    proc = children.start(
        "mosquitto",
        ["mosquitto", "-c", str(conf)],
        env=dict(os.environ),
        log=work_dir / "mosquitto.log",
    )
    wait_port(port)
    return proc


def temp_dir(prefix: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=prefix))


# --- resource sampling -----------------------------------------------------


@dataclass
class _Track:
    peak_rss: int = 0
    first_cpu: float | None = None
    last_cpu: float = 0.0

    @property
    def cpu(self) -> float:
        return self.last_cpu - (self.first_cpu or 0.0)


@dataclass
class Snapshot:
    at: float
    cpu: dict[str, float]
    system_busy: float
    system_total: float


@dataclass
class Sampler:
    """Peak RSS and CPU seconds per process group, sampled every ``interval`` s.

    ``groups`` maps a name to a function returning that group's processes now.
    CPU of a process is counted from the first time it is seen, so servers that
    were running before (PostgreSQL, Redis) count only what they did since.
    """

    groups: dict
    interval: float = 0.2
    tracks: dict[str, dict[int, _Track]] = field(default_factory=dict)
    queue_samples: list[tuple[float, int]] = field(default_factory=list)
    queue_probe: object = None
    series: list[tuple[float, dict[str, float]]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self.sample()
        self._thread = threading.Thread(target=self._run, name="sampler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(5)
        self.sample()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def sample(self) -> None:
        with self._lock:
            for name, find in self.groups.items():
                tracks = self.tracks.setdefault(name, {})
                try:
                    processes = find()
                except psutil.Error:
                    processes = []
                for proc in processes:
                    try:
                        with proc.oneshot():
                            rss = proc.memory_info().rss
                            times = proc.cpu_times()
                    except psutil.Error:
                        continue
                    cpu = times.user + times.system
                    track = tracks.setdefault(proc.pid, _Track())
                    if track.first_cpu is None:
                        track.first_cpu = cpu
                    track.last_cpu = cpu
                    track.peak_rss = max(track.peak_rss, rss)
            totals = {
                name: sum(t.cpu for t in tracks.values()) for name, tracks in self.tracks.items()
            }
            totals["machine"] = machine_busy_s()
            self.series.append((time.time(), totals))
            if self.queue_probe is not None:
                with contextlib.suppress(Exception):
                    self.queue_samples.append((time.time(), self.queue_probe()))

    def snapshot(self) -> Snapshot:
        self.sample()
        with self._lock:
            cpu = {
                name: sum(t.cpu for t in tracks.values()) for name, tracks in self.tracks.items()
            }
        times = psutil.cpu_times()
        total = sum(times)
        idle = times.idle + getattr(times, "iowait", 0.0)
        return Snapshot(time.time(), cpu, total - idle, total)

    def peaks(self) -> dict[str, dict]:
        with self._lock:
            return {
                name: {
                    "processes": len(tracks),
                    "peak_rss_max_mb": max((t.peak_rss for t in tracks.values()), default=0)
                    / 2**20,
                    "peak_rss_sum_mb": sum(t.peak_rss for t in tracks.values()) / 2**20,
                }
                for name, tracks in self.tracks.items()
            }


def machine_busy_s() -> float:
    """CPU seconds all cores spent busy since boot (not idle, not waiting for I/O)."""
    times = psutil.cpu_times()
    return sum(times) - times.idle - getattr(times, "iowait", 0.0)


def wait_quiet(max_busy_pct: float, seconds: float, timeout: float) -> float:
    """Wait (bounded) until the machine is this idle for ``seconds``; returns last busy %.

    Other people's test suites on a shared machine would otherwise be measured
    as ours.
    """
    deadline = time.monotonic() + timeout
    busy = 100.0
    while time.monotonic() < deadline:
        busy = psutil.cpu_percent(interval=seconds)
        if busy <= max_busy_pct:
            break
    return busy


def cpu_in_window(series: list, start: float, end: float) -> tuple[float, dict[str, float]]:
    """CPU seconds per group between the samples nearest to ``start`` and ``end``."""
    if not series:
        return 0.0, {}
    first = min(series, key=lambda item: abs(item[0] - start))
    last = min(series, key=lambda item: abs(item[0] - end))
    wall = last[0] - first[0]
    return wall, {name: last[1].get(name, 0.0) - first[1].get(name, 0.0) for name in last[1]}


def cpu_between(start: Snapshot, end: Snapshot) -> dict:
    wall = end.at - start.at
    groups = {name: end.cpu.get(name, 0.0) - start.cpu.get(name, 0.0) for name in end.cpu}
    return {
        "wall_s": wall,
        "cpu_s": groups,
        "system_busy_s": end.system_busy - start.system_busy,
        "system_total_s": end.system_total - start.system_total,
    }


def process_finder(proc: subprocess.Popen | psutil.Process, *, children: bool = False):
    """Processes of one child: itself, or (children=True) its descendants."""
    handle = proc if isinstance(proc, psutil.Process) else psutil.Process(proc.pid)

    def find() -> list[psutil.Process]:
        if children:
            return handle.children(recursive=True)
        return [handle] if handle.is_running() else []

    return find


def postgres_finders(db_name: str):
    """(our database's backends, every other PostgreSQL process): read only."""
    postmaster = None
    for proc in psutil.process_iter(["name", "ppid"]):
        if proc.info["name"] == "postgres":
            with contextlib.suppress(psutil.Error):
                if psutil.Process(proc.info["ppid"]).name() != "postgres":
                    postmaster = proc
                    break
    if postmaster is None:
        return (lambda: []), (lambda: [])
    marker = f" {db_name} "

    def split() -> tuple[list, list]:
        ours, others = [], [postmaster]
        for child in postmaster.children():
            try:
                cmdline = " ".join(child.cmdline())
            except psutil.Error:
                continue
            (ours if marker in cmdline else others).append(child)
        return ours, others

    return (lambda: split()[0]), (lambda: split()[1])


def named_process_finder(name: str):
    def find() -> list[psutil.Process]:
        return [p for p in psutil.process_iter(["name"]) if p.info["name"] == name]

    found = find()
    return lambda: found


def percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(fraction * (len(sorted_values) - 1))))
    return sorted_values[index]
