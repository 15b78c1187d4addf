"""A fleet of trucks, their devices and their fault schedule, on one reporting grid.

Shared by the offline generator (truck by truck, as fast as possible) and the
online publisher (all trucks at each reporting instant, paced by the clock).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from devices.simulator.faults import (
    ALL_FAULTS,
    DEVICE_FAULTS,
    TRUCK_FAULTS,
    Fault,
    FaultSpec,
    check_target,
    fault_from_spec,
    random_faults,
)
from devices.simulator.physics import PRODUCTS
from devices.simulator.probes import (
    INDEPENDENT_LOGGER,
    REEFER_CONTROLLER,
    DeviceSim,
    Emitted,
    timestamp,
)
from devices.simulator.scenario import TruckSim, Truth
from devices.wire import DEVICE_ID_PATTERN

FAULT_WINDOW_S = 86_400.0  # random faults are drawn per truck-day


@dataclass(frozen=True)
class FleetConfig:
    start: float  # UNIX seconds of the first reporting instant
    trucks: int = 1
    loggers: int = 1  # independent loggers per truck, besides the reefer controller
    truck_prefix: str = "truck"
    interval_s: float = 60.0
    max_step_s: float = 30.0
    seed: int = 0
    products: tuple[str, ...] = tuple(PRODUCTS)
    trip_hours: tuple[float, float] = (24.0, 24.0)
    faults: tuple[FaultSpec, ...] = ()
    fault_rate_per_day: float = 0.0
    fault_kinds: tuple[str, ...] = ALL_FAULTS
    # False: the twin of the run. Probe faults (spike, stuck, drift, dropout)
    # are scheduled and labelled as ever but leave the readings as they would
    # have been; everything else is the same, reading for reading.
    probe_faults_applied: bool = True


@dataclass(frozen=True)
class DeviceInfo:
    device: str
    kind: str
    truck: str


def truck_ids(prefix: str, count: int) -> list[str]:
    width = max(3, len(str(count)))
    return [f"{prefix}-{number:0{width}d}" for number in range(1, count + 1)]


def device_ids(truck: str, loggers: int) -> list[tuple[str, str]]:
    """(device id, kind) of one truck's devices.

    ``truck-007-reefer``, ``truck-007-logger``, then ``truck-007-logger-2``...
    """
    devices = [(f"{truck}-reefer", REEFER_CONTROLLER)]
    for number in range(1, loggers + 1):
        suffix = "" if number == 1 else f"-{number}"
        devices.append((f"{truck}-logger{suffix}", INDEPENDENT_LOGGER))
    return devices


def fleet_devices(config: FleetConfig) -> list[DeviceInfo]:
    """Every device of the fleet, checked against the wire format's id rule."""
    infos = []
    for truck in truck_ids(config.truck_prefix, config.trucks):
        for device, kind in device_ids(truck, config.loggers):
            if not DEVICE_ID_PATTERN.match(device):
                raise ValueError(
                    f"device id {device!r} is not a valid device id (1-64 letters, digits, "
                    "'.', '_' or '-'): choose a shorter or plainer truck prefix"
                )
            infos.append(DeviceInfo(device, kind, truck))
    return infos


@dataclass
class TruckUnit:
    truck: str
    sim: TruckSim
    devices: list[DeviceSim]
    windows: int = 0  # random-fault windows drawn so far
    faults: list[Fault] = field(default_factory=list)  # every fault, for labels


class Fleet:
    def __init__(
        self,
        config: FleetConfig,
        last_seqs: dict[str, int] | None = None,
        only: range | None = None,
    ) -> None:
        """``last_seqs`` continues each device's sequence after a restart.

        ``only`` builds just those trucks (by index): every truck depends on
        the seed and its own id alone, so a fleet can be simulated in parts.
        """
        self.config = config
        last_seqs = last_seqs or {}
        products = tuple(PRODUCTS[name] for name in config.products)
        self.units: list[TruckUnit] = []
        self.device_infos = fleet_devices(config)
        for index, truck in enumerate(truck_ids(config.truck_prefix, config.trucks)):
            if only is not None and index not in only:
                continue
            sim = TruckSim(
                truck=truck,
                seed=config.seed,
                start=config.start,
                interval_s=config.interval_s,
                max_step_s=config.max_step_s,
                products=products,
                trip_hours=config.trip_hours,
            )
            devices = []
            for device, kind in device_ids(truck, config.loggers):
                devices.append(
                    DeviceSim(
                        device=device,
                        kind=kind,
                        truck=truck,
                        seed=config.seed,
                        last_seq=last_seqs.get(device, 0),
                        probe_faults_applied=config.probe_faults_applied,
                    )
                )
            self.units.append(TruckUnit(truck, sim, devices))
        by_truck = {unit.truck: unit for unit in self.units}
        by_device = {d.device: unit for unit in self.units for d in unit.devices}
        all_trucks = {info.truck for info in self.device_infos}
        all_devices = {info.device for info in self.device_infos}
        for index, spec in enumerate(config.faults):
            check_target(spec, all_trucks, all_devices)
            unit = (by_truck if spec.kind in TRUCK_FAULTS else by_device).get(spec.target)
            if unit is not None:
                self._add(unit, fault_from_spec(spec, index, unit.truck, config.start))
        self.k = 0  # next reporting instant: start + k * interval

    def _add(self, unit: TruckUnit, fault: Fault) -> None:
        unit.faults.append(fault)
        if fault.kind in DEVICE_FAULTS:
            for device in unit.devices:
                if device.device == fault.device:
                    device.add_fault(fault)
        else:
            unit.sim.add_fault(fault)

    def _schedule(self, unit: TruckUnit, t: float) -> None:
        """Draw random faults one window ahead, so none starts in the past."""
        config = self.config
        if config.fault_rate_per_day <= 0:
            return
        wanted = int((t - config.start) // FAULT_WINDOW_S) + 2
        while unit.windows < wanted:
            window = unit.windows
            for fault in random_faults(
                seed=config.seed,
                truck=unit.truck,
                devices=[d.device for d in unit.devices],
                window=window,
                window_start=config.start + window * FAULT_WINDOW_S,
                window_s=FAULT_WINDOW_S,
                rate_per_day=config.fault_rate_per_day,
                kinds=config.fault_kinds,
            ):
                self._add(unit, fault)
            unit.windows += 1

    def time_of(self, k: int) -> float:
        return self.config.start + k * self.config.interval_s

    def skip_to(self, t: float) -> None:
        """Make the next reporting instant the first one at or after ``t``.

        The trucks still drive the plan from ``config.start``: the first
        instant after the skip integrates the physics over the skipped time,
        so a resumed run carries the same loads as one never interrupted.
        """
        interval = self.config.interval_s
        self.k = max(self.k, math.ceil((t - self.config.start) / interval - 1e-9))

    def advance_unit(self, unit: TruckUnit, k: int) -> tuple[Truth, str, list[Emitted]]:
        """Move one truck to reporting instant ``k``; its truth, timestamp and messages."""
        t = self.time_of(k)
        self._schedule(unit, t)
        truth = unit.sim.advance(t)
        ts = timestamp(t)
        interval = self.config.interval_s
        messages: list[Emitted] = []
        for device in unit.devices:
            messages.extend(device.emit(truth, ts, interval))
        return truth, ts, messages

    def tick(self) -> tuple[float, list[Truth], list[Emitted]]:
        """Every truck at the next reporting instant (the online path)."""
        k = self.k
        truths, messages = [], []
        for unit in self.units:
            truth, _, emitted = self.advance_unit(unit, k)
            truths.append(truth)
            messages.extend(emitted)
        self.k = k + 1
        if k % 1000 == 999:
            self._prune(self.time_of(k) - FAULT_WINDOW_S)
        return self.time_of(k), truths, messages

    def _prune(self, before: float) -> None:
        for unit in self.units:
            unit.sim.prune_faults(before)
            for device in unit.devices:
                device.prune_faults(before)

    def labels(self, unit: TruckUnit, until: float) -> list[Fault]:
        """Faults of one truck that took effect before ``until``, ends clipped to it.

        A poor_precooling fault whose trip never started within the run had
        no effect and is left out; one still recovering ends at ``until``.
        """
        out = []
        for fault in unit.faults:
            if fault.start >= until:
                continue
            if not fault.resolved and fault is not unit.sim.recovering:
                continue
            out.append(
                Fault(
                    fault_id=fault.fault_id,
                    kind=fault.kind,
                    truck=fault.truck,
                    device=fault.device,
                    start=fault.start,
                    end=min(fault.end, until) if fault.resolved else until,
                    magnitude=fault.magnitude,
                    source=fault.source,
                )
            )
        return out

    def finished_labels(self, until: float) -> list[Fault]:
        """Faults that ended before ``until``, each returned once and then forgotten.

        The online publisher writes labels as faults end, so that a run of
        weeks neither keeps every fault in memory nor loses labels on a crash.
        """
        out = []
        for unit in self.units:
            keep = []
            for fault in unit.faults:
                if fault.resolved and fault.end <= until:
                    out.append(fault)
                else:
                    keep.append(fault)
            unit.faults = keep
        return out
