import asyncio
import logging
import signal

from amqtt.broker import Broker
from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "Run the embedded MQTT 3.1.1 broker (amqtt) for the demo on a machine without "
        "Mosquitto. Production uses Mosquitto (docker/mosquitto.conf)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--port", type=int, default=settings.EMBEDDED_MQTT_PORT)
        parser.add_argument("--bind", default="127.0.0.1")

    def handle(self, *args, **options) -> None:
        # amqtt logs every state transition of its broker at INFO.
        logging.getLogger("transitions").setLevel(logging.WARNING)
        config = {
            "listeners": {
                "default": {"type": "tcp", "bind": f"{options['bind']}:{options['port']}"}
            },
            # amqtt keeps QoS 1 messages for an offline persistent session only
            # if the client is not anonymous, so clients must name a user;
            # any name is accepted: this broker is for the demo on loopback.
            "plugins": {
                "amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": False}
            },
        }
        asyncio.run(self._serve(config))

    async def _serve(self, config: dict) -> None:
        broker = Broker(config)
        await broker.start()
        self.stdout.write(f"embedded MQTT broker on {config['listeners']['default']['bind']}")
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await stop.wait()
        await broker.shutdown()
