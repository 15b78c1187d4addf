"""``manage.py demo_trips``: book, depart and deliver the shipments of the demo
fleet's trips (coldchain.demo_trips), once or every few seconds."""

from __future__ import annotations

import signal
import threading

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError
from django.utils import timezone

from coldchain.demo_fleet import demo_fleet_load, demo_fleet_path
from coldchain.demo_trips import demo_trips_sync


class Command(BaseCommand):
    help = "Create the shipments of the demo fleet's trips; depart and deliver them on time."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--every", type=float, help="Seconds between runs, until stopped (default: once)"
        )

    def handle(self, *args, every: float | None, **options) -> None:
        if every is not None and every <= 0:
            raise CommandError("--every must be a positive number of seconds")
        config = demo_fleet_load(demo_fleet_path())
        if config is None:
            raise CommandError(f"no demo fleet in {demo_fleet_path()}: run manage.py demo first")
        stop = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
        while True:
            try:
                synced = demo_trips_sync(config, now=timezone.now())
            except DatabaseError as error:
                if every is None:
                    raise CommandError(f"demo trips: {error}") from None
                # A busy database (SQLite under every demo process): next round.
                self.stderr.write(f"demo trips: {error}; trying again in {every:g} s")
            else:
                if synced.created or synced.departed or synced.delivered:
                    self.stdout.write(
                        f"demo trips: {synced.created} booked, {synced.departed} departed, "
                        f"{synced.delivered} delivered"
                    )
            if every is None or stop.wait(every):
                return
