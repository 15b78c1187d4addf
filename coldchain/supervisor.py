"""Run several processes as one: start together, stop together, prefix their output."""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
import time
from dataclasses import dataclass

STOP_GRACE_S = 10.0


@dataclass(frozen=True)
class ProcessSpec:
    name: str
    argv: list[str]
    env: dict[str, str] | None = None
    # Processes that must be up before the next one starts (e.g. the broker).
    settle_s: float = 0.0


class Supervisor:
    def __init__(self, specs: list[ProcessSpec], out=sys.stdout) -> None:
        self.specs = specs
        self.out = out
        self.processes: dict[str, subprocess.Popen] = {}
        self.selector = selectors.DefaultSelector()
        self.stopping = False
        width = max(len(spec.name) for spec in specs)
        self.labels = {spec.name: spec.name.ljust(width) for spec in specs}

    def start(self) -> None:
        for spec in self.specs:
            process = subprocess.Popen(
                spec.argv,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                env={**os.environ, **(spec.env or {})},
                # Own process group: Ctrl-C reaches us once and we stop the
                # children in order instead of all of them at the same instant.
                start_new_session=True,
            )
            os.set_blocking(process.stdout.fileno(), False)
            self.selector.register(process.stdout, selectors.EVENT_READ, self.labels[spec.name])
            self.processes[spec.name] = process
            self._write(
                self.labels[spec.name], f"started (pid {process.pid}): {' '.join(spec.argv)}"
            )
            if spec.settle_s:
                self.pump(spec.settle_s)

    def _write(self, label: str, line: str) -> None:
        self.out.write(f"{label} | {line}\n")
        self.out.flush()

    def pump(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while (remaining := deadline - time.monotonic()) > 0:
            for key, _ in self.selector.select(timeout=min(remaining, 0.5)):
                chunk = key.fileobj.read()
                if not chunk:
                    self.selector.unregister(key.fileobj)
                    continue
                for line in chunk.decode("utf-8", "replace").splitlines():
                    self._write(key.data, line)

    def exited(self) -> list[tuple[str, int]]:
        return [(n, p.returncode) for n, p in self.processes.items() if p.poll() is not None]

    def run(self) -> int:
        """Run until Ctrl-C/SIGTERM or until a process exits; then stop all."""
        previous = {
            signum: signal.signal(signum, lambda *_: self.request_stop())
            for signum in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            self.start()
            while not self.stopping:
                self.pump(0.5)
                ended = self.exited()
                if ended:
                    for name, code in ended:
                        self._write(
                            self.labels[name], f"exited with status {code}; stopping everything"
                        )
                    self.stop()
                    return 1
            self.stop()
            return 0
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def request_stop(self) -> None:
        self.stopping = True

    def stop(self) -> None:
        # Reverse order: the simulator stops first, the broker last, so nothing
        # published during shutdown is left without a consumer.
        for spec in reversed(self.specs):
            process = self.processes.get(spec.name)
            if process is None or process.poll() is not None:
                continue
            process.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + STOP_GRACE_S
            while process.poll() is None and time.monotonic() < deadline:
                self.pump(0.2)
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
            self._write(self.labels[spec.name], f"stopped (status {process.returncode})")
        self.pump(0.2)
