"""The demo: every process of the platform on one machine, embedded or real servers."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone

from coldchain.demo_fleet import (
    BACKLOG_S,
    demo_devices_ensure,
    demo_fleet_config,
    demo_fleet_path,
    simulator_arguments,
)
from coldchain.demo_trips import demo_trips_sync
from coldchain.demo_world import DemoUser, demo_users_ensure, password_once
from coldchain.supervisor import ProcessSpec
from devices.simulator.fleet import FleetConfig
from ledger.log_key import log_vkey
from ledger.witness import load_or_create_witness_key

DEMO_USERNAME = "demo"
TRIPS_EVERY_S = 10.0


def demo_user_ensure(password_file: Path) -> tuple[str, str]:
    """A staff account for the demo whose password is generated once, never committed."""
    password = password_once(password_file)
    user_model = get_user_model()
    user, _ = user_model.objects.get_or_create(username=DEMO_USERNAME)
    user.is_staff = user.is_superuser = True
    user.set_password(password)
    user.save()
    return DEMO_USERNAME, password


@dataclass(frozen=True)
class DemoSetup:
    admin: tuple[str, str]  # the staff user's name and password
    users: list[DemoUser]  # one per party
    fleet: FleetConfig
    devices: int
    booked: int  # shipments booked by this run


def demo_prepare(*, trucks: int, interval_s: float) -> DemoSetup:
    """Everything the demo's processes expect: users, the fleet and its devices
    registered, the trips under way booked before their first readings arrive."""
    admin = demo_user_ensure(settings.VAR_DIR / "demo-password")
    users = demo_users_ensure(settings.VAR_DIR / "demo-passwords")
    fleet = demo_fleet_config(
        demo_fleet_path(), trucks=trucks, interval_s=interval_s, now=time.time()
    )
    devices = demo_devices_ensure(fleet)
    synced = demo_trips_sync(fleet, now=timezone.now())
    return DemoSetup(admin, users, fleet, devices, synced.created)


def demo_witness(port: int) -> str:
    """A witness for the demo, as another stakeholder would run one; returns the
    LEDGER_WITNESSES entry that makes the log push its checkpoints to it."""
    signer, _ = load_or_create_witness_key(
        settings.WITNESS_STATE_DIR / "witness.key", default_name=settings.WITNESS_NAME
    )
    return f"{signer.vkey}=http://127.0.0.1:{port}"


def demo_processes(
    *,
    embedded_broker: bool,
    web_port: int,
    witness_port: int,
    fleet: FleetConfig,
    speedup: float,
) -> list[ProcessSpec]:
    python = sys.executable
    manage = [python, str(Path(settings.BASE_DIR) / "manage.py")]
    bin_dir = Path(python).parent
    specs = []
    if embedded_broker:
        specs.append(ProcessSpec("broker", [*manage, "mqtt_broker"], settle_s=2.0))
    worker_pool = ["--pool", "solo"] if settings.CELERY_BROKER_URL.startswith("filesystem") else []
    specs += [
        ProcessSpec(
            "witness",
            [*manage, "witness", "--listen", f"127.0.0.1:{witness_port}", "--log-vkey", log_vkey()],
        ),
        ProcessSpec(
            "web",
            [
                str(bin_dir / "gunicorn"),
                "coldchain.wsgi",
                "--bind",
                f"127.0.0.1:{web_port}",
                "--workers",
                "2",
                "--access-logfile",
                "-",
            ],
        ),
        ProcessSpec(
            "worker",
            [str(bin_dir / "celery"), "-A", "coldchain", "worker", "-l", "info", *worker_pool],
            settle_s=2.0,
        ),
        ProcessSpec(
            "beat",
            [
                str(bin_dir / "celery"),
                "-A",
                "coldchain",
                "beat",
                "-l",
                "info",
                "--schedule",
                str(settings.VAR_DIR / "celerybeat-schedule"),
            ],
        ),
        ProcessSpec("bridge", [*manage, "ingest"], settle_s=1.0),
        # Books each trip's shipment before the simulator drives it; departs and delivers them.
        ProcessSpec("trips", [*manage, "demo_trips", "--every", str(TRIPS_EVERY_S)]),
        ProcessSpec(
            "simulator",
            [
                *manage,
                "simulate",
                *simulator_arguments(fleet),
                "--speedup",
                str(speedup),
                # Replay at most the last six hours (a demo stopped for days
                # skips the rest): fast at first, then live, never ahead of
                # the platform clock.
                "--not-before",
                f"now-{BACKLOG_S:g}s",
                "--catch-up",
            ],
        ),
    ]
    return specs
