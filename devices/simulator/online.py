"""Online mode: simulate in (accelerated) real time and publish signed readings over MQTT.

Each reporting instant: advance every truck, sign every message, commit the
batch to the outbox together with the new seq state, then let the publisher
forward what the window allows. Nothing is sent that is not stored first.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from devices.simulator.fleet import Fleet, FleetConfig
from devices.simulator.outbox import Outbox
from devices.simulator.probes import sign_emitted, timestamp
from devices.simulator.publisher import Publisher
from devices.simulator.records import FAULT_COLUMNS, TRUTH_COLUMNS, CsvLog, fault_row, truth_row
from devices.wire import topic_for

log = logging.getLogger(__name__)

SIM_TIME_KEY = "sim_time"  # last simulated instant written to the outbox
PROGRESS_EVERY_S = 10.0


@dataclass
class OnlineOptions:
    speedup: float = 1.0
    duration_s: float | None = None  # simulated time to run; None: until stopped
    readings: int | None = None  # reporting instants to run; None: until stopped
    catch_up: bool = False  # never let simulated time pass the wall clock
    drain_timeout_s: float = 10.0
    truth_dir: Path | None = None


@dataclass
class RunStats:
    start: float
    instants: int = 0
    messages: int = 0
    acknowledged: int = 0
    left_in_outbox: int = 0
    outages: int = 0  # connections lost while running
    retried: int = 0  # PUBACKs that did not take the message (refused, no subscriber)
    last_seqs: dict[str, int] = field(default_factory=dict)


def resume_start(outbox: Outbox, requested: float, interval_s: float) -> float:
    """Where the simulated clock starts: never at or before an instant already sent.

    The platform rejects a reading whose seq grows while its ts does not, so
    after a restart the clock continues from the last instant in the outbox
    state even if that ran ahead of the wall clock (``--speedup``). The trips
    stay on the plan from ``requested`` (``OnlineSimulator(first_instant=)``).
    """
    last = outbox.get_meta(SIM_TIME_KEY)
    if last is None:
        return requested
    return max(requested, float(last) + interval_s)


def aligned_now(interval_s: float, now: float | None = None) -> float:
    """The current wall-clock time rounded down to the reporting grid."""
    now = time.time() if now is None else now
    return math.floor(now / interval_s) * interval_s


class OnlineSimulator:
    def __init__(
        self,
        config: FleetConfig,
        *,
        keys: dict[str, Ed25519PrivateKey],
        outbox: Outbox,
        publisher: Publisher,
        options: OnlineOptions,
        stop: threading.Event | None = None,
        hard_stop: threading.Event | None = None,
        wall_clock: Callable[[], float] = time.time,
        first_instant: float | None = None,
    ) -> None:
        """``first_instant``: produce nothing before it (a resumed run, see
        ``resume_start``); the trips still follow the plan from ``config.start``."""
        self.fleet = Fleet(config, last_seqs=outbox.last_seqs())
        if first_instant is not None:
            self.fleet.skip_to(first_instant)
        self.first = self.fleet.time_of(self.fleet.k)
        missing = {info.device for info in self.fleet.device_infos} - set(keys)
        if missing:
            raise ValueError(f"no private key for {', '.join(sorted(missing))}")
        self.config = config
        self.keys = keys
        self.outbox = outbox
        self.publisher = publisher
        self.options = options
        self.stop = stop or threading.Event()
        self.hard_stop = hard_stop or threading.Event()
        self.wall_clock = wall_clock
        # Forged messages come from someone who does not have the device's
        # key: any other Ed25519 key will do.
        self.attacker_key = Ed25519PrivateKey.generate()
        self.truth_log: CsvLog | None = None
        self.fault_log: CsvLog | None = None
        if options.truth_dir is not None:
            self.truth_log = CsvLog(options.truth_dir / "truth.csv", TRUTH_COLUMNS)
            self.fault_log = CsvLog(options.truth_dir / "faults.csv", FAULT_COLUMNS)

    def _due(self, t: float, wall_start: float) -> float:
        """Wall-clock time at which simulated instant ``t`` is produced."""
        due = wall_start + (t - self.first) / self.options.speedup
        if self.options.catch_up:
            due = max(due, t)
        return due

    def _finished(self, instants: int, t: float) -> bool:
        options = self.options
        if options.readings is not None and instants >= options.readings:
            return True
        return options.duration_s is not None and t - self.first >= options.duration_s

    def run(self) -> RunStats:
        stats = RunStats(start=self.first)
        publisher = self.publisher
        wall_start = self.wall_clock()
        publisher.start()
        last_t = self.first
        next_report = wall_start + PROGRESS_EVERY_S
        try:
            while not self.stop.is_set():
                t = self.fleet.time_of(self.fleet.k)
                if self._finished(stats.instants, t):
                    break
                due = self._due(t, wall_start)
                while not self.stop.is_set():
                    now = self.wall_clock()
                    if now >= due:
                        break
                    publisher.pump()
                    publisher.wait(min(due - now, 0.25))
                if self.stop.is_set():
                    break
                last_t = self._produce(stats)
                publisher.pump()
                if self.wall_clock() >= next_report:
                    next_report = self.wall_clock() + PROGRESS_EVERY_S
                    self._report(stats, last_t)
        finally:
            self._shutdown(stats, last_t)
        return stats

    def _produce(self, stats: RunStats) -> float:
        t, truths, messages = self.fleet.tick()
        rows = []
        for message in messages:
            message.jws = sign_emitted(message, self.keys, self.attacker_key)
            rows.append((message.device, message.seq, topic_for(message.device), message.jws))
        seqs = {device.device: device.seq for unit in self.fleet.units for device in unit.devices}
        self.outbox.enqueue(rows, seqs, {SIM_TIME_KEY: repr(t)})
        stats.instants += 1
        stats.messages += len(rows)
        stats.last_seqs = seqs
        if self.truth_log is not None:
            at = timestamp(t)
            self.truth_log.write(truth_row(truth, at) for truth in truths)
        if self.fault_log is not None:
            self.fault_log.write(fault_row(f) for f in self.fleet.finished_labels(t))
        return t

    def _report(self, stats: RunStats, t: float) -> None:
        log.info(
            "simulated %s: %d messages queued, %d acknowledged, %d in flight, %s",
            timestamp(t),
            stats.messages,
            self.publisher.acknowledged,
            self.publisher.inflight,
            "connected" if self.publisher.connected else "DISCONNECTED, queueing in the outbox",
        )

    def _shutdown(self, stats: RunStats, last_t: float) -> None:
        publisher = self.publisher
        try:
            if not self.hard_stop.is_set():
                drained = publisher.drain(self.options.drain_timeout_s, self.hard_stop.is_set)
                if not drained:
                    log.warning(
                        "broker did not acknowledge everything within %.0f s; "
                        "the rest stays in the outbox for the next run",
                        self.options.drain_timeout_s,
                    )
            else:
                publisher.pump()
        finally:
            publisher.stop()
            stats.acknowledged = publisher.acknowledged
            stats.outages = publisher.disconnects
            stats.retried = publisher.retried
            stats.left_in_outbox = self.outbox.count()
            end = last_t + self.config.interval_s
            if self.fault_log is not None:
                labels = [f for unit in self.fleet.units for f in self.fleet.labels(unit, end)]
                self.fault_log.write(fault_row(f) for f in labels)
                self.fault_log.close()
            if self.truth_log is not None:
                self.truth_log.close()
