"""End to end on real servers: shipment_event -> PostgreSQL -> Redis -> Celery worker -> HTTP.

A real worker and beat on a Celery queue of this test's own; the event is
announced by another process, the way a request or task commits it.
"""

import pytest

from coldchain.models import WebhookDelivery
from coldchain.webhooks.endpoints import webhook_endpoint_create
from coldchain.webhooks.signing import HEADER_SIGNATURE, HEADER_TIMESTAMP, webhook_signature_verify
from tests.shipment_factories import make_shipment
from tests.support.processes import PlatformEnv, wait_until
from tests.support.webhook_receiver import WebhookReceiver

pytestmark = [pytest.mark.servers, pytest.mark.django_db(transaction=True)]

ANNOUNCE = """
from django.db import transaction
from coldchain.models import Shipment
from coldchain.signals import shipment_event
shipment = Shipment.objects.get(pk={pk})
with transaction.atomic():
    transaction.on_commit(lambda: shipment_event.send(
        sender=Shipment, shipment=shipment, event_type="alert.opened",
        payload={{"alert": 5, "severity": "critical"}}, key="alert-5:opened"))
"""


@pytest.fixture
def platform(tmp_path):
    env = PlatformEnv(mqtt_url="mqtt://127.0.0.1:1", var_dir=tmp_path / "var")
    env.variables |= {
        "WEBHOOK_RETRY_BASE_S": "1",
        "WEBHOOK_SWEEP_INTERVAL_S": "0.5",
        "WEBHOOK_REQUEUE_AFTER_S": "2",
    }
    yield env
    env.close()


@pytest.fixture
def receiver():
    receiver = WebhookReceiver()
    yield receiver
    receiver.stop()


def announce(platform: PlatformEnv, shipment) -> None:
    process = platform.manage("announce", "shell", "-c", ANNOUNCE.format(pk=shipment.pk))
    assert process.wait(timeout=60) == 0, platform.log("announce")


def test_a_receiver_down_for_a_while_gets_the_event_later_signed(platform, receiver):
    shipment = make_shipment()
    endpoint, secret = webhook_endpoint_create(
        party=shipment.receiver, url=receiver.url, event_types=["alert.opened"]
    )
    platform.worker()
    platform.beat()

    announce(platform, shipment)
    assert wait_until(lambda: WebhookDelivery.objects.filter(attempts__gte=2).exists(), 30)
    receiver.start()
    assert wait_until(lambda: WebhookDelivery.objects.filter(status="delivered").exists(), 30), (
        platform.log("worker")
    )

    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    (request,) = receiver.requests
    assert request.body == bytes(delivery.body)
    assert webhook_signature_verify(
        secret, request.header(HEADER_TIMESTAMP), request.body, request.header(HEADER_SIGNATURE)
    )
    codes = list(delivery.log.values_list("status_code", flat=True))
    assert codes[-1] == 200
    assert set(codes[:-1]) == {None}


def test_an_event_whose_celery_message_was_lost_is_delivered_by_the_sweep(platform, receiver):
    shipment = make_shipment()
    webhook_endpoint_create(party=shipment.receiver, url=receiver.url, event_types=["*"])
    receiver.start()

    announce(platform, shipment)  # no worker yet: the message waits in Redis
    platform.forget_queued_tasks()  # and is lost, as in a Redis restart
    platform.worker()
    platform.beat()

    assert wait_until(lambda: len(receiver.requests) == 1, 30), platform.log("worker")
    assert wait_until(lambda: WebhookDelivery.objects.get().status == "delivered", 10)
