"""manage.py simulate: a fleet of refrigerated trucks with signed sensors.

Parses arguments, provisions devices and hands over to devices.simulator.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from devices.fleet_keys import FleetKeyError, fleet_keys
from devices.mqtt import PROTOCOLS, MqttConfig
from devices.simulator.faults import (
    ALL_FAULTS,
    FAULT_SYNTAX,
    PROFILES,
    FaultSpecError,
    parse_duration,
    parse_fault_spec,
)
from devices.simulator.fleet import Fleet, FleetConfig
from devices.simulator.offline import generate
from devices.simulator.online import OnlineOptions, OnlineSimulator, aligned_now, resume_start
from devices.simulator.outbox import Outbox
from devices.simulator.physics import PRODUCTS
from devices.simulator.publisher import DEFAULT_WINDOW, Publisher

OFFLINE_START = "2026-01-05T00:00:00Z"
ONLINE_ONLY = (
    "not_before",
    "mqtt_url",
    "protocol",
    "client_id",
    "speedup",
    "duration",
    "readings",
    "outbox",
    "window",
    "truth_dir",
    "drain_timeout",
)

FAULT_HELP = (
    f"Inject a fault: {FAULT_SYNTAX}. OFFSET and DURATION are simulated time from the "
    "start (90, 45s, 30m, 2h, 1d, 1h30m). TARGET is a truck id for truck faults "
    "(reefer_failure, power_loss, poor_precooling, door_left_open) and a device id for "
    "device faults (probe_spike, stuck_probe, probe_drift, dropout, clock_skew, "
    "forged_signature, replayed_message). MAGNITUDE: "
    + "; ".join(f"{kind} {p.meaning}" for kind, p in PROFILES.items() if p.meaning)
    + ". poor_precooling acts at the first trip that starts at or after OFFSET. "
    "Repeatable. Example: --fault reefer_failure:truck-003@30m+2h "
    "--fault clock_skew:truck-001-logger@1h+3h=-600"
)

EPILOG = """\
examples:
  manage.py simulate --trucks 5 --start now-24h --speedup 60 --catch-up --fault-rate 1
  manage.py simulate --trucks 2 --readings 100 --fault reefer_failure:truck-002@10m+1h
  manage.py simulate --offline data/sim --trucks 200 --trips 10 --trip-hours 8-36 \\
      --fault-rate 2 --seed 7

Online, every signed reading is committed to the outbox (sqlite3, WAL) before it
is published at QoS 1 and deleted when the broker acknowledges it; after an
outage or a restart the rest is sent again, oldest first, and seq numbers carry
on. The platform refuses timestamps more than INGEST_MAX_FUTURE_SKEW_S ahead of
its clock: with --speedup > 1 start in the past (--start now-24h) and add
--catch-up, which never lets simulated time pass the wall clock.

Offline writes readings.csv, truth.csv, faults.csv, trips.csv, devices.csv and
manifest.json; the same arguments and --seed give byte-identical files.
"""


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be positive")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


def _duration(text: str) -> float:
    try:
        value = parse_duration(text)
    except FaultSpecError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be longer than zero")
    return value


def parse_start(text: str, now: float) -> float:
    """``now``, ``now-24h`` or an RFC 3339 / ISO 8601 date-time (UTC if no offset)."""
    text = text.strip()
    if text == "now":
        return now
    if text.startswith("now-"):
        return now - parse_duration(text[4:])
    moment = datetime.fromisoformat(text.replace("z", "Z"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def parse_trip_hours(text: str) -> tuple[float, float]:
    low, _, high = text.partition("-")
    try:
        bounds = (float(low), float(high or low))
    except ValueError:
        raise CommandError(
            f"--trip-hours {text!r}: use HOURS or MIN-MAX, e.g. 24 or 8-36"
        ) from None
    if not 0 < bounds[0] <= bounds[1] <= 24 * 30:
        raise CommandError(f"--trip-hours {text!r}: need 0 < MIN <= MAX <= 720")
    return bounds


def _names(text: str, allowed: tuple[str, ...], option: str) -> tuple[str, ...]:
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    unknown = [name for name in names if name not in allowed]
    if unknown or not names:
        raise CommandError(
            f"{option}: unknown {', '.join(unknown) or '(empty)'}; one of {', '.join(allowed)}"
        )
    return names


class Command(BaseCommand):
    help = (
        "Simulate refrigerated trucks (cargo thermal mass, reefer with finite capacity, "
        "day/night ambient, door openings, faults) whose reefer controller and independent "
        "logger publish signed readings over MQTT at QoS 1 with a durable outbox, or write "
        "the same readings with ground truth to CSV files (--offline)."
    )

    def create_parser(self, prog_name: str, subcommand: str, **kwargs) -> argparse.ArgumentParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.epilog = EPILOG
        parser.formatter_class = argparse.RawDescriptionHelpFormatter
        return parser

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        fleet = parser.add_argument_group("fleet and physics")
        fleet.add_argument("--trucks", type=_positive_int, default=3, help="Fleet size (3)")
        fleet.add_argument(
            "--loggers",
            type=_positive_int,
            default=1,
            help="Independent loggers per truck besides the reefer controller (1)",
        )
        fleet.add_argument("--truck-prefix", default="truck", help="Truck ids: PREFIX-001...")
        fleet.add_argument(
            "--interval",
            type=_duration,
            default=60.0,
            help="Reading interval per device, simulated (60s)",
        )
        fleet.add_argument(
            "--step", type=_duration, default=30.0, help="Longest physics time step (30s)"
        )
        fleet.add_argument("--seed", type=int, default=0, help="Random seed (0)")
        fleet.add_argument(
            "--products",
            default=",".join(PRODUCTS),
            help=f"Comma-separated products drawn per trip ({','.join(PRODUCTS)})",
        )
        fleet.add_argument(
            "--trip-hours", default="24", help="Trip length, HOURS or MIN-MAX drawn per trip (24)"
        )
        fleet.add_argument(
            "--start",
            help=f"First simulated instant: RFC 3339, 'now' or 'now-24h' "
            f"(offline {OFFLINE_START}, online now)",
        )

        faults = parser.add_argument_group("faults")
        faults.add_argument("--fault", action="append", default=[], metavar="SPEC", help=FAULT_HELP)
        faults.add_argument(
            "--fault-rate",
            type=float,
            default=0.0,
            help="Random faults per truck per simulated day, seeded by --seed (0)",
        )
        faults.add_argument(
            "--fault-kinds",
            default=",".join(ALL_FAULTS),
            help="Comma-separated kinds the random schedule draws from (all)",
        )

        offline = parser.add_argument_group("offline mode")
        offline.add_argument("--offline", type=Path, metavar="DIR", help="Write CSV files to DIR")
        offline.add_argument(
            "--trips", type=_positive_int, default=1, help="Consecutive trips per truck (1)"
        )
        offline.add_argument(
            "--sign", action="store_true", help="Add each message's JWS (keys derived from --seed)"
        )
        offline.add_argument(
            "--twin",
            action="store_true",
            help="Schedule and label probe faults (spike, stuck, drift, dropout) but do not "
            "apply them: the counterfactual twin of the same run, identical wherever no probe "
            "fault acts",
        )
        offline.add_argument(
            "--jobs",
            type=_positive_int,
            default=os.cpu_count() or 1,
            help="Worker processes; the files are identical for any value (all cores)",
        )

        online = parser.add_argument_group("online mode")
        online.add_argument("--mqtt-url", help=f"Broker (settings.MQTT_URL: {settings.MQTT_URL})")
        online.add_argument("--protocol", choices=sorted(PROTOCOLS), help="MQTT protocol version")
        online.add_argument("--client-id", help="MQTT client id (coldchain-sim-PID)")
        online.add_argument(
            "--speedup",
            type=_positive_float,
            help="Simulated seconds per wall-clock second (1)",
        )
        online.add_argument(
            "--duration", type=_duration, help="Stop after this much simulated time (run forever)"
        )
        online.add_argument(
            "--readings",
            type=_positive_int,
            help="Stop after this many reading intervals (run forever)",
        )
        online.add_argument(
            "--not-before",
            metavar="TIME",
            help="Send no instant before TIME (RFC 3339 or 'now-6h'); the trips still follow "
            "the plan from --start (default: from --start, or after the outbox's last instant)",
        )
        online.add_argument(
            "--catch-up",
            action="store_true",
            help="Never let simulated time pass the wall clock (speedup only while behind)",
        )
        online.add_argument(
            "--outbox",
            type=Path,
            help="Outbox sqlite3 file (VAR_DIR/simulator-outbox.sqlite3)",
        )
        online.add_argument(
            "--window",
            type=_positive_int,
            help=f"Most unacknowledged QoS 1 messages at once ({DEFAULT_WINDOW})",
        )
        online.add_argument(
            "--key-dir", type=Path, default=None, help="Device keys (settings.DEVICE_KEY_DIR)"
        )
        online.add_argument(
            "--no-provision",
            action="store_true",
            help="Do not register missing devices: use existing key files only (no database)",
        )
        online.add_argument(
            "--truth-dir",
            type=Path,
            help="Append ground truth and fault labels here (VAR_DIR/simulator-truth)",
        )
        online.add_argument("--no-truth", action="store_true", help="Write no ground truth")
        online.add_argument(
            "--drain-timeout",
            type=float,
            help="Seconds to wait for acknowledgements when stopping (10)",
        )
        online.add_argument(
            "--accept-unrouted",
            action="store_true",
            help="Treat an MQTT 5 PUBACK saying 'no matching subscribers' as delivered "
            "(default: keep the reading and retry until the ingest bridge is subscribed)",
        )
        online.add_argument(
            "--reconnect-max",
            type=_positive_float,
            default=30.0,
            help="Longest wait between reconnection attempts, seconds (30)",
        )

    def handle(self, *args, **options) -> None:
        offline = options["offline"]
        if offline is not None:
            given = [
                f"--{name.replace('_', '-')}" for name in ONLINE_ONLY if options[name] is not None
            ]
            if given:
                raise CommandError(f"{', '.join(given)} only apply to online mode, not --offline")
        elif options["twin"]:
            # Its dropout readings reuse sequence numbers: analysis only, never for ingest.
            raise CommandError("--twin only applies to --offline")
        try:
            specs = tuple(parse_fault_spec(text) for text in options["fault"])
        except FaultSpecError as error:
            raise CommandError(str(error)) from None
        if options["fault_rate"] < 0:
            raise CommandError("--fault-rate must not be negative")
        now = time.time()
        if options["start"] is None:
            start = (
                parse_start(OFFLINE_START, now)
                if offline
                else aligned_now(options["interval"], now)
            )
        else:
            try:
                start = parse_start(options["start"], now)
            except ValueError as error:
                raise CommandError(f"--start {options['start']!r}: {error}") from None
        config = FleetConfig(
            start=start,
            trucks=options["trucks"],
            loggers=options["loggers"],
            truck_prefix=options["truck_prefix"],
            interval_s=options["interval"],
            max_step_s=options["step"],
            seed=options["seed"],
            products=_names(options["products"], tuple(PRODUCTS), "--products"),
            trip_hours=parse_trip_hours(options["trip_hours"]),
            faults=specs,
            fault_rate_per_day=options["fault_rate"],
            fault_kinds=_names(options["fault_kinds"], ALL_FAULTS, "--fault-kinds"),
            probe_faults_applied=not options["twin"],
        )
        try:
            # No trucks built, but device ids and fault targets are checked.
            fleet = Fleet(config, only=range(0))
        except (FaultSpecError, ValueError) as error:
            raise CommandError(str(error)) from None
        if offline is not None:
            self._offline(config, offline, options)
        else:
            self._online(config, fleet, options)

    # --- offline ----------------------------------------------------------------

    def _offline(self, config: FleetConfig, out_dir: Path, options: dict) -> None:
        began = time.perf_counter()
        manifest = generate(
            config, out_dir, trips=options["trips"], sign=options["sign"], jobs=options["jobs"]
        )
        elapsed = time.perf_counter() - began
        trips = config.trucks * options["trips"]
        for name, entry in manifest["files"].items():
            self.stdout.write(f"{out_dir / name}: {entry['rows']} rows")
        self.stdout.write(
            f"simulate: {trips} trips in {elapsed:.2f} s ({trips / elapsed:.0f} trips/s); "
            f"manifest {out_dir / 'manifest.json'}"
        )

    # --- online -----------------------------------------------------------------

    def _online(self, config: FleetConfig, fleet: Fleet, options: dict) -> None:
        try:
            mqtt_config = MqttConfig.from_url(
                options["mqtt_url"] or settings.MQTT_URL,
                options["protocol"] or settings.MQTT_PROTOCOL,
            )
        except ValueError as error:
            raise CommandError(str(error)) from None
        not_before = config.start
        if options["not_before"] is not None:
            try:
                not_before = parse_start(options["not_before"], time.time())
            except ValueError as error:
                raise CommandError(f"--not-before {options['not_before']!r}: {error}") from None
        key_dir = options["key_dir"] or settings.DEVICE_KEY_DIR
        try:
            keys = fleet_keys(
                fleet.device_infos,
                key_dir,
                provision=not options["no_provision"],
                report=self.stdout.write,
            )
        except FleetKeyError as error:
            raise CommandError(str(error)) from None
        outbox = Outbox(options["outbox"] or settings.VAR_DIR / "simulator-outbox.sqlite3")
        try:
            first_instant = resume_start(outbox, config.start, config.interval_s)
            if first_instant != config.start:
                self.stdout.write(
                    "simulate: continuing the simulated clock after the last instant in the outbox"
                )
            first_instant = max(first_instant, not_before)
            backlog = outbox.count()
            publisher = Publisher(
                outbox,
                mqtt_config,
                options["client_id"] or f"coldchain-sim-{os.getpid()}",
                window=options["window"] or DEFAULT_WINDOW,
                reconnect_delay_s=(min(1.0, options["reconnect_max"]), options["reconnect_max"]),
                retry_unrouted=not options["accept_unrouted"],
            )
            truth_dir = None
            if not options["no_truth"]:
                truth_dir = options["truth_dir"] or settings.VAR_DIR / "simulator-truth"
            stop, hard_stop = threading.Event(), threading.Event()
            simulator = OnlineSimulator(
                config,
                keys=keys,
                outbox=outbox,
                publisher=publisher,
                options=OnlineOptions(
                    speedup=options["speedup"] or 1.0,
                    duration_s=options["duration"],
                    readings=options["readings"],
                    catch_up=options["catch_up"],
                    drain_timeout_s=10.0
                    if options["drain_timeout"] is None
                    else options["drain_timeout"],
                    truth_dir=truth_dir,
                ),
                stop=stop,
                hard_stop=hard_stop,
                first_instant=first_instant,
            )
            self.stdout.write(
                f"simulate: {config.trucks} trucks, {len(keys)} devices -> "
                f"{mqtt_config.host}:{mqtt_config.port} (MQTT {mqtt_config.protocol}); "
                f"{backlog} messages waiting in {outbox.path}"
            )
            with _StopOnSignals(stop, hard_stop):
                stats = simulator.run()
        finally:
            outbox.close()
        self.stdout.write(
            f"simulate: {stats.instants} intervals, {stats.messages} messages queued, "
            f"{stats.acknowledged} acknowledged by the broker, {stats.outages} connection losses, "
            f"{stats.retried} sent again after the broker did not take them, "
            f"{stats.left_in_outbox} left in the outbox for the next run"
        )


class _StopOnSignals:
    """SIGTERM/SIGINT stop the run cleanly (drain, disconnect); a second one skips the drain."""

    def __init__(self, stop: threading.Event, hard_stop: threading.Event) -> None:
        self.stop = stop
        self.hard_stop = hard_stop
        self.previous: dict[int, object] = {}

    def _handle(self, signum: int, frame: object) -> None:
        if self.stop.is_set():
            self.hard_stop.set()
        self.stop.set()
        logging.getLogger(__name__).info("signal %d: stopping", signum)

    def __enter__(self) -> None:
        # Signal handlers can only be installed from the main thread (tests
        # may call the command from another one).
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGTERM, signal.SIGINT):
                self.previous[signum] = signal.signal(signum, self._handle)

    def __exit__(self, *exc: object) -> None:
        for signum, handler in self.previous.items():
            signal.signal(signum, handler)
