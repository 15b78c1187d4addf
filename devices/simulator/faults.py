"""Fault kinds, the ``--fault`` syntax, random fault schedules and fault labels.

Three families, because the platform must tell them apart:

* truck faults change the TRUE thermal state (a real excursion may follow);
* probe faults change what ONE device reports (the cargo is fine);
* message faults inject messages the platform must refuse (security events).
"""

from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass

TRUCK_FAULTS = ("reefer_failure", "power_loss", "poor_precooling", "door_left_open")
PROBE_FAULTS = ("probe_spike", "stuck_probe", "probe_drift", "dropout", "clock_skew")
MESSAGE_FAULTS = ("forged_signature", "replayed_message")
DEVICE_FAULTS = PROBE_FAULTS + MESSAGE_FAULTS
ALL_FAULTS = TRUCK_FAULTS + DEVICE_FAULTS


@dataclass(frozen=True)
class FaultProfile:
    """Defaults for ``--fault`` and ranges for random schedules."""

    duration_s: float  # default when ``+DURATION`` is omitted
    duration_range_s: tuple[float, float]
    magnitude: float | None  # default when ``=MAGNITUDE`` is omitted
    magnitude_range: tuple[float, float] | None
    signed: bool = False  # random magnitudes get a random sign
    meaning: str = ""


PROFILES: dict[str, FaultProfile] = {
    "reefer_failure": FaultProfile(
        4 * 3600, (3600, 8 * 3600), 0.0, (0.0, 0.3), meaning="remaining capacity fraction 0..1"
    ),
    "power_loss": FaultProfile(2 * 3600, (1800, 6 * 3600), None, None),
    "poor_precooling": FaultProfile(
        0, (0, 0), 5.0, (2.0, 8.0), meaning="C above the product's maximum at loading"
    ),
    "door_left_open": FaultProfile(1800, (600, 5400), None, None),
    "probe_spike": FaultProfile(300, (60, 600), 20.0, (8.0, 40.0), meaning="C of the spikes"),
    "stuck_probe": FaultProfile(4 * 3600, (3600, 12 * 3600), None, None),
    "probe_drift": FaultProfile(
        6 * 3600, (2 * 3600, 12 * 3600), 1.0, (0.2, 1.5), signed=True, meaning="C per hour"
    ),
    "dropout": FaultProfile(3600, (600, 6 * 3600), None, None),
    "clock_skew": FaultProfile(
        4 * 3600, (3600, 12 * 3600), 900.0, (120.0, 3600.0), signed=True, meaning="seconds"
    ),
    "forged_signature": FaultProfile(600, (60, 1200), None, None),
    "replayed_message": FaultProfile(600, (60, 1200), None, None),
}


@dataclass
class Fault:
    """One labelled fault. Times are simulated UNIX seconds (UTC).

    ``end`` of a poor_precooling fault is only known once the cargo is back
    in range (or its trip ends); until then ``resolved`` is false.
    """

    fault_id: str
    kind: str
    truck: str
    device: str | None
    start: float
    end: float
    magnitude: float | None
    source: str  # "flag" or "random"
    resolved: bool = True

    def active(self, t: float) -> bool:
        return self.start <= t < self.end


@dataclass(frozen=True)
class FaultSpec:
    """A parsed ``--fault`` argument; offsets are relative to the simulation start."""

    kind: str
    target: str
    offset_s: float
    duration_s: float
    magnitude: float | None


_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)([dhms])")
_UNIT_SECONDS = {"d": 86_400.0, "h": 3600.0, "m": 60.0, "s": 1.0}
_SPEC = re.compile(
    r"^(?P<kind>[a-z_]+):(?P<target>[A-Za-z0-9][A-Za-z0-9._-]{0,63})"
    r"@(?P<offset>[0-9.dhms]+)(?:\+(?P<duration>[0-9.dhms]+))?(?:=(?P<magnitude>-?[0-9.]+))?$"
)
FAULT_SYNTAX = "KIND:TARGET@OFFSET[+DURATION][=MAGNITUDE]"


class FaultSpecError(ValueError):
    pass


def parse_duration(text: str) -> float:
    """Seconds from ``90``, ``45s``, ``30m``, ``2h``, ``1d`` or ``1h30m`` (bare number: seconds)."""
    text = text.strip()
    try:
        value = float(text)
    except ValueError:
        pass
    else:
        if value < 0 or not math.isfinite(value):
            raise FaultSpecError(f"duration {text!r} must be a finite, non-negative number")
        return value
    position, total = 0, 0.0
    for match in _DURATION_PART.finditer(text):
        if match.start() != position:
            break
        total += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        position = match.end()
    if position != len(text) or not text:
        raise FaultSpecError(f"duration {text!r}: use e.g. 90, 45s, 30m, 2h, 1d or 1h30m")
    return total


def parse_fault_spec(text: str) -> FaultSpec:
    """Parse ``KIND:TARGET@OFFSET[+DURATION][=MAGNITUDE]``.

    TARGET is a truck id for truck faults and a device id for device faults;
    whether it exists is checked against the fleet by ``check_targets``.
    """
    match = _SPEC.match(text.strip())
    if not match:
        raise FaultSpecError(
            f"--fault {text!r}: expected {FAULT_SYNTAX}, e.g. reefer_failure:truck-003@30m+2h"
        )
    kind = match.group("kind")
    if kind not in PROFILES:
        raise FaultSpecError(
            f"--fault {text!r}: unknown kind {kind!r}; one of {', '.join(ALL_FAULTS)}"
        )
    profile = PROFILES[kind]
    duration = (
        parse_duration(match.group("duration")) if match.group("duration") else profile.duration_s
    )
    if kind != "poor_precooling" and duration <= 0:
        raise FaultSpecError(f"--fault {text!r}: duration must be positive")
    magnitude_text = match.group("magnitude")
    if magnitude_text is not None and profile.magnitude is None:
        raise FaultSpecError(f"--fault {text!r}: {kind} takes no magnitude")
    try:
        magnitude = float(magnitude_text) if magnitude_text is not None else profile.magnitude
    except ValueError:
        raise FaultSpecError(
            f"--fault {text!r}: magnitude {magnitude_text!r} is not a number"
        ) from None
    if kind == "reefer_failure" and magnitude is not None and not 0.0 <= magnitude < 1.0:
        raise FaultSpecError(
            f"--fault {text!r}: reefer_failure magnitude is a capacity fraction in [0, 1)"
        )
    return FaultSpec(
        kind=kind,
        target=match.group("target"),
        offset_s=parse_duration(match.group("offset")),
        duration_s=duration,
        magnitude=magnitude,
    )


def check_target(spec: FaultSpec, trucks: set[str], devices: set[str]) -> None:
    if spec.kind in TRUCK_FAULTS and spec.target not in trucks:
        raise FaultSpecError(
            f"{spec.kind} targets a truck; {spec.target!r} is not one of the simulated trucks"
        )
    if spec.kind in DEVICE_FAULTS and spec.target not in devices:
        raise FaultSpecError(
            f"{spec.kind} targets a device (e.g. truck-001-logger); "
            f"{spec.target!r} is not one of the simulated devices"
        )


def fault_from_spec(spec: FaultSpec, index: int, truck: str, start_epoch: float) -> Fault:
    begin = start_epoch + spec.offset_s
    return Fault(
        fault_id=f"flag-{index}",
        kind=spec.kind,
        truck=truck,
        device=spec.target if spec.kind in DEVICE_FAULTS else None,
        start=begin,
        end=begin + spec.duration_s,
        magnitude=spec.magnitude,
        source="flag",
        resolved=spec.kind != "poor_precooling",
    )


def _poisson(rng: random.Random, mean: float) -> int:
    """Knuth's method: fine for the handful of faults per truck-day we draw."""
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def random_faults(
    *,
    seed: int,
    truck: str,
    devices: list[str],
    window: int,
    window_start: float,
    window_s: float,
    rate_per_day: float,
    kinds: tuple[str, ...],
) -> list[Fault]:
    """Faults starting in one window of the schedule for one truck.

    Each window draws from its own generator, seeded by (seed, truck,
    window): the schedule does not depend on how many trucks there are or on
    how far a run got, so online and offline runs agree.
    """
    if rate_per_day <= 0 or not kinds:
        return []
    rng = random.Random(f"faults:{seed}:{truck}:{window}")
    faults = []
    for number in range(_poisson(rng, rate_per_day * window_s / 86_400.0)):
        kind = kinds[rng.randrange(len(kinds))]
        profile = PROFILES[kind]
        start = window_start + rng.random() * window_s
        duration = rng.uniform(*profile.duration_range_s)
        magnitude = None
        if profile.magnitude_range is not None:
            magnitude = round(rng.uniform(*profile.magnitude_range), 3)
            if profile.signed and rng.random() < 0.5:
                magnitude = -magnitude
        faults.append(
            Fault(
                fault_id=f"{truck}/r{window}.{number}",
                kind=kind,
                truck=truck,
                device=devices[rng.randrange(len(devices))] if kind in DEVICE_FAULTS else None,
                start=round(start, 3),
                end=round(start + duration, 3),
                magnitude=magnitude,
                source="random",
                resolved=kind != "poor_precooling",
            )
        )
    return faults
