"""A private Mosquitto for tests: own port, own config, stoppable and restartable.

Built from the project's docker/mosquitto.conf so tests exercise the
production settings (persistence, queue and inflight limits), with the
listener moved to a free loopback port and the persistence file moved to a
temporary directory. Only the process started here is ever signalled: the
machine's shared broker on port 1883 is never touched.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

PROJECT_CONFIG = Path(__file__).resolve().parents[2] / "docker" / "mosquitto.conf"
SHARED_PORT = 1883

FALLBACK_CONFIG = """\
allow_anonymous true
persistence false
max_inflight_messages 1000
max_queued_messages 1000000
"""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def private_config(source: Path | None, port: int, data_dir: Path) -> str:
    """The project's config with every listener replaced by one on ``port``."""
    text = source.read_text() if source is not None and source.exists() else FALLBACK_CONFIG
    lines = []
    for line in text.splitlines():
        stripped = line.strip()
        if re.match(r"^(listener|port|bind_address|socket_domain)\b", stripped):
            continue  # the production listeners: replaced below
        if stripped.startswith(("persistence_location", "user ")):
            continue
        lines.append(line)
    if os.geteuid() == 0:
        # Started as root, mosquitto switches to the "mosquitto" user, which
        # cannot write the persistence file into our temporary directory.
        lines.append("user root")
    lines.append(f"listener {port} 127.0.0.1")
    lines.append(f"persistence_location {data_dir}/")
    return "\n".join(lines) + "\n"


class MosquittoBroker:
    """One mosquitto process on a port of its own; ``stop``/``start`` keep the port."""

    def __init__(self, work_dir: Path, *, port: int | None = None, config: Path | None = None):
        executable = shutil.which("mosquitto") or (
            "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None
        )
        if executable is None:
            raise RuntimeError("mosquitto is not installed (apt-get install mosquitto)")
        self.executable = executable
        self.port = port or free_port()
        if self.port == SHARED_PORT:
            raise ValueError("port 1883 belongs to the machine's shared broker")
        self.work_dir = work_dir
        data_dir = work_dir / "data"
        data_dir.mkdir(parents=True, exist_ok=True)
        self.config_path = work_dir / "mosquitto.conf"
        self.config_path.write_text(
            private_config(PROJECT_CONFIG if config is None else config, self.port, data_dir)
        )
        self.log_path = work_dir / "mosquitto.log"
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self, timeout: float = 10.0) -> None:
        if self.running:
            return
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [self.executable, "-c", str(self.config_path)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"mosquitto exited at start:\n{self.log_path.read_text()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"mosquitto did not listen on {self.port} within {timeout} s")

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM our process only; Mosquitto saves its persistence file on the way out."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def restart(self, down_for: float = 0.0) -> None:
        self.stop()
        time.sleep(down_for)
        self.start()

    def __enter__(self) -> MosquittoBroker:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
