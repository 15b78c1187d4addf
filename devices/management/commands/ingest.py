import signal

from django.conf import settings
from django.core.management.base import BaseCommand

from devices.bridge import IngestBridge
from devices.inbox import inbox_batch_submit
from devices.mqtt import MqttConfig
from devices.tasks import enqueue_ingest


class Command(BaseCommand):
    help = "Run the MQTT ingest bridge: readings from the broker into Celery batches."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--mqtt-url", default=settings.MQTT_URL)
        parser.add_argument("--protocol", default=settings.MQTT_PROTOCOL, choices=["5", "3.1.1"])
        parser.add_argument(
            "--client-id",
            default=settings.MQTT_CLIENT_ID,
            help="Stable per bridge: it names the persistent session",
        )
        parser.add_argument("--share-group", default=settings.MQTT_SHARE_GROUP)
        parser.add_argument("--batch-size", type=int, default=settings.INGEST_BATCH_SIZE)
        parser.add_argument(
            "--max-delay",
            type=float,
            default=settings.INGEST_BATCH_MAX_DELAY_S,
            help="Seconds a message may wait for its batch to fill",
        )

    def handle(self, *args, **options) -> None:
        bridge = IngestBridge(
            config=MqttConfig.from_url(options["mqtt_url"], options["protocol"]),
            client_id=options["client_id"],
            share_group=options["share_group"],
            session_expiry_s=settings.MQTT_SESSION_EXPIRY_S,
            batch_size=options["batch_size"],
            max_delay_s=options["max_delay"],
            submit=lambda messages: inbox_batch_submit(messages=messages, enqueue=enqueue_ingest),
        )
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: bridge.stop())
        self.stdout.write(
            f"bridge: {bridge.subscription} -> Celery, batches of {bridge.batch_size}"
        )
        bridge.run_forever()
        self.stdout.write(
            f"bridge: stopped after {bridge.messages_received} messages "
            f"in {bridge.batches_queued} batches"
        )
