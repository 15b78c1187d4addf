"""What each device reports: measurement noise, probe faults and injected messages.

The reefer controller's probe sits in the return air, so it follows the air
temperature; the independent logger sits between the pallets, so it follows
the cargo. In normal operation they agree within a few tenths of a degree;
each can fail on its own, which is what the platform's quorum must detect.
"""

from __future__ import annotations

import random
from collections import deque
from datetime import UTC, datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from devices.simulator.faults import Fault
from devices.simulator.scenario import Truth
from devices.wire import WIRE_VERSION, format_timestamp, sign_reading

REEFER_CONTROLLER = "reefer_controller"
INDEPENDENT_LOGGER = "independent_logger"
HISTORY = 64  # genuine messages kept per device for replays
REPLAY_LAG = (5, 60)  # an attacker replays a message from this many readings ago


def timestamp(epoch_s: float) -> str:
    return format_timestamp(datetime.fromtimestamp(epoch_s, UTC))


def _clamp(value: float, low: float, high: float) -> float:
    return low if value < low else high if value > high else value


def _num(value: float, digits: int = 2) -> float:
    # Adding 0.0 turns -0.0 into 0.0 so that files do not show "-0.0".
    return round(value, digits) + 0.0


class Emitted:
    """One message a device sends: a genuine reading or an injected one.

    ``t`` is the true instant (the join key with the ground truth); the
    payload's ``ts`` is what the device's clock said. ``jws`` is filled in by
    whoever signs; a replay carries its ``original`` and so its bytes.
    """

    __slots__ = (
        "device",
        "faults",
        "injected",
        "jws",
        "kind",
        "original",
        "payload",
        "seq",
        "t",
        "truck",
        "ts",
    )

    def __init__(
        self,
        *,
        device: str,
        kind: str,
        truck: str,
        seq: int,
        t: float,
        ts: str,
        payload: dict,
        faults: str,
        injected: str = "",
        original: Emitted | None = None,
    ) -> None:
        self.device = device
        self.kind = kind
        self.truck = truck
        self.seq = seq
        self.t = t
        self.ts = ts
        self.payload = payload
        self.faults = faults
        self.injected = injected
        self.original = original
        self.jws: bytes | None = None


class DeviceSim:
    """One device: its own noise, calibration, clock, sequence and faults."""

    def __init__(
        self,
        *,
        device: str,
        kind: str,
        truck: str,
        seed: int,
        last_seq: int = 0,
        probe_faults_applied: bool = True,
    ) -> None:
        """``probe_faults_applied`` false makes the twin of this device (``emit``)."""
        self.device = device
        self.kind = kind
        self.truck = truck
        self.seq = last_seq
        self.faults: list[Fault] = []
        self.probe_faults_applied = probe_faults_applied
        self.rng = random.Random(f"noise:{seed}:{device}")
        # The twin's readings at dropout instants draw their noise here: the
        # device's own stream must stay in step with the run in which they
        # were never sent.
        self.dropout_rng = random.Random(f"dropout-twin:{seed}:{device}")
        rng = random.Random(f"calibration:{seed}:{device}")
        # A calibrated probe is within +-0.2 C; loggers are the better instruments.
        self.bias = rng.gauss(0.0, 0.08 if kind == INDEPENDENT_LOGGER else 0.12)
        self.noise = 0.05 if kind == INDEPENDENT_LOGGER else 0.1
        # Where the logger sits decides how much of the air it sees.
        self.air_weight = rng.uniform(0.1, 0.25) if kind == INDEPENDENT_LOGGER else 1.0
        self.ambient_bias = rng.gauss(0.0, 0.3)
        self.battery = rng.uniform(55.0, 100.0)
        self.battery_drain_per_h = rng.uniform(0.03, 0.08)
        self._trip = 0
        self._stuck: dict[str, float] = {}
        self.history: deque[Emitted] = deque(maxlen=HISTORY)

    def add_fault(self, fault: Fault) -> None:
        self.faults.append(fault)

    def prune_faults(self, before: float) -> None:
        self.faults = [f for f in self.faults if f.end >= before]
        live = {f.fault_id for f in self.faults}
        self._stuck = {k: v for k, v in self._stuck.items() if k in live}

    def emit(self, truth: Truth, ts: str, interval_s: float) -> list[Emitted]:
        """Messages this device sends at ``truth.t`` (none during a dropout).

        Without ``probe_faults_applied`` (the twin), probe faults are labelled
        but leave the reading as it would have been: each one still makes its
        random draws, so every reading no probe fault touches is the same as
        in the run with them. A dropout instant then sends the genuine reading
        alone, with the sequence number the next reading will also carry
        (numbers run on without a gap, as in the run), no injected message,
        and the noise the run never drew from ``dropout_rng``.
        """
        t = truth.t
        rng = self.rng
        if self.kind == INDEPENDENT_LOGGER:
            self.battery -= self.battery_drain_per_h * interval_s / 3600.0
            if truth.trip != self._trip:
                self._trip = truth.trip
                if self.battery < 10.0:
                    self.battery = 100.0  # swapped at the depot
            measured = truth.cargo_c + self.air_weight * (truth.air_c - truth.cargo_c)
        else:
            measured = truth.air_c
        temp = measured + self.bias + rng.gauss(0.0, self.noise)

        active = [f for f in self.faults if f.start <= t < f.end] if self.faults else ()
        applied = self.probe_faults_applied
        forged = replay = dropped = False
        for fault in active:
            kind = fault.kind
            if kind == "dropout":
                if applied:
                    return []
                dropped = True
                # The run returned here: nothing after may draw from its stream.
                rng = self.dropout_rng
            elif kind == "probe_drift":
                if applied:
                    temp += (fault.magnitude or 0.0) * (t - fault.start) / 3600.0
            elif kind == "stuck_probe":
                if applied:
                    temp = self._stuck.setdefault(fault.fault_id, round(temp, 2))
            elif kind == "probe_spike":
                sign = 1.0 if rng.random() < 0.5 else -1.0
                spike = sign * (fault.magnitude or 0.0) * rng.uniform(0.6, 1.0)
                if applied:
                    temp += spike
            elif kind == "clock_skew":
                ts = timestamp(t + (fault.magnitude or 0.0))
            elif kind == "forged_signature":
                forged = True
            elif kind == "replayed_message":
                replay = True

        payload: dict = {
            "v": WIRE_VERSION,
            "device": self.device,
            "seq": self.seq + 1,
            "ts": ts,
            "temp_c": _num(_clamp(temp, -99.0, 99.0)),
        }
        product = truth.product
        if self.kind == REEFER_CONTROLLER:
            payload["setpoint_c"] = product.setpoint
            payload["reefer_on"] = truth.reefer_on
            payload["door_open"] = truth.door_open
            ambient = truth.ambient_c + self.ambient_bias + rng.gauss(0.0, 0.15)
            payload["ambient_c"] = _num(_clamp(ambient, -60.0, 70.0))
        else:
            humidity = truth.humidity_pct + rng.gauss(0.0, 1.0)
            payload["humidity_pct"] = _num(_clamp(humidity, 0.0, 100.0), 1)
            # GPS jitter of a few metres; its distribution does not matter.
            payload["lat"] = _num(truth.lat + (rng.random() - 0.5) * 0.0001, 5)
            payload["lon"] = _num(truth.lon + (rng.random() - 0.5) * 0.0001, 5)
            payload["battery_pct"] = _num(_clamp(self.battery, 0.0, 100.0), 1)

        if active:
            labels = ";".join(sorted(set(truth.faults + tuple(f.kind for f in active))))
        else:
            labels = ";".join(truth.faults)
        genuine = Emitted(
            device=self.device,
            kind=self.kind,
            truck=self.truck,
            seq=self.seq + 1,
            t=t,
            ts=ts,
            payload=payload,
            faults=labels,
        )
        if dropped:
            return [genuine]
        self.seq += 1
        out = [genuine]
        if forged:
            # Someone without the device's key sends a reassuring reading in
            # its name, with the same seq, hoping it is stored instead.
            fake = dict(payload)
            fake["temp_c"] = _num(product.setpoint + rng.gauss(0.0, 0.3))
            out.append(
                Emitted(
                    device=self.device,
                    kind=self.kind,
                    truck=self.truck,
                    seq=self.seq,
                    t=t,
                    ts=ts,
                    payload=fake,
                    faults=labels,
                    injected="forged_signature",
                )
            )
        if replay and len(self.history) >= REPLAY_LAG[0]:
            lag = rng.randint(REPLAY_LAG[0], min(REPLAY_LAG[1], len(self.history)))
            original = self.history[-lag]
            out.append(
                Emitted(
                    device=self.device,
                    kind=self.kind,
                    truck=self.truck,
                    seq=original.seq,
                    t=t,
                    ts=original.ts,
                    payload=original.payload,
                    faults=labels,
                    injected="replayed_message",
                    original=original,
                )
            )
        self.history.append(genuine)
        return out


def sign_emitted(
    message: Emitted, keys: dict[str, Ed25519PrivateKey], attacker_key: Ed25519PrivateKey
) -> bytes:
    """The compact JWS a message goes out as.

    A replay is the earlier message's bytes, verbatim; a forgery is signed
    by someone without the device's key, under the device's kid.
    """
    if message.original is not None and message.original.jws is not None:
        return message.original.jws
    key = attacker_key if message.injected == "forged_signature" else keys[message.device]
    return sign_reading(key, message.payload)
