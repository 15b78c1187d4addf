import os
from datetime import UTC, datetime

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from coldchain.demo import demo_prepare, demo_processes, demo_witness
from coldchain.demo_fleet import demo_fleet_path
from coldchain.env import env_str
from coldchain.supervisor import Supervisor
from ledger.log_key import log_vkey


class Command(BaseCommand):
    help = "Run the whole platform: web, MQTT bridge, Celery worker and beat, simulator."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--witness-port", type=int, default=7380)
        parser.add_argument(
            "--trucks", type=int, default=4, help="Fleet size (a new demo fleet only)"
        )
        parser.add_argument(
            "--interval",
            type=float,
            default=10.0,
            help="Simulated seconds between readings of a device",
        )
        parser.add_argument(
            "--speedup", type=float, default=60.0, help="Simulated seconds per wall-clock second"
        )

    def handle(self, *args, **options) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        # The platform scores with the active models: never start without them.
        # Installs the shipped default models only on a fresh database.
        call_command("install_default_model", or_train=True, stdout=self.stdout)
        setup = demo_prepare(trucks=options["trucks"], interval_s=options["interval"])
        username, password = setup.admin
        fleet = setup.fleet
        embedded = env_str("MQTT_URL") is None
        vkey = log_vkey()
        # Children inherit it: the worker pushes checkpoints to the demo witness.
        os.environ.setdefault("LEDGER_WITNESSES", demo_witness(options["witness_port"]))
        self.stdout.write(
            f"coldchain demo: http://127.0.0.1:{options['port']}/  (user {username}, "
            f"password {password})\n"
            f"  database {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}, "
            f"Celery broker {settings.CELERY_BROKER_URL.split('://')[0]}, MQTT "
            f"{'embedded broker' if embedded else settings.MQTT_URL}. Ctrl-C stops everything.\n"
            f"  transparency log verifier key: {vkey}\n"
            f"  fleet: {fleet.trucks} trucks, {setup.devices} devices, trips since "
            f"{datetime.fromtimestamp(fleet.start, UTC):%Y-%m-%d %H:%M} UTC "
            f"(kept in {demo_fleet_path()}); {setup.booked} shipments booked now\n"
            "  users (one per party; passwords kept in "
            f"{settings.VAR_DIR / 'demo-passwords'}):"
        )
        for user in setup.users:
            self.stdout.write(
                f"    {user.username:<14} {user.password}  {user.role} of {user.party}"
            )
        specs = demo_processes(
            embedded_broker=embedded,
            web_port=options["port"],
            witness_port=options["witness_port"],
            fleet=fleet,
            speedup=options["speedup"],
        )
        raise SystemExit(Supervisor(specs, out=self.stdout).run())
