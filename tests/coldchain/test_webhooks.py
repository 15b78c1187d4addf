"""Webhook deliveries against a real HTTP receiver: signed, retried, logged, redelivered.

Time is simulated by passing ``now=``; the receiver, the database and the
HTTP calls are real. ``enqueue`` collects the delivery ids a Celery worker
would be given, and the tests then do what the worker does.
"""

import json
import threading
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
from django.conf import settings
from django.db import connection

from coldchain.models import Party, Shipment, WebhookDelivery
from coldchain.signals import shipment_event
from coldchain.webhooks.deliveries import (
    webhook_deliver,
    webhook_events_record,
    webhook_redeliver,
    webhooks_sweep,
)
from coldchain.webhooks.endpoints import webhook_endpoint_create, webhook_endpoint_update
from coldchain.webhooks.signing import (
    HEADER_ID,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
    webhook_signature_verify,
)
from tests.shipment_factories import make_shipment
from tests.support.webhook_receiver import ReceivedRequest, WebhookReceiver

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
# Past the time after which the sweep takes a queued delivery's message for lost.
LOST_BY = T0 + timedelta(seconds=settings.WEBHOOK_REQUEUE_AFTER_S + 1)
PAYLOAD = {"alert": 17, "severity": "critical", "temp_c": 11.5}
Status = WebhookDelivery.Status


@pytest.fixture
def receiver():
    with WebhookReceiver() as running:
        yield running


@pytest.fixture
def down_receiver():
    """A receiver whose port is closed until the test starts it."""
    receiver = WebhookReceiver()
    yield receiver
    receiver.stop()


@pytest.fixture
def shipment(db):
    return make_shipment()


def subscribe(party: Party, url: str, event_types: tuple[str, ...] = ("*",)):
    endpoint, _ = webhook_endpoint_create(party=party, url=url, event_types=list(event_types))
    return endpoint


def record(
    shipment: Shipment,
    *,
    key: str = "alert-17:opened",
    event_type: str = "alert.opened",
    payload: dict = PAYLOAD,
    now: datetime = T0,
) -> list[WebhookDelivery]:
    return webhook_events_record(
        shipment=shipment,
        event_type=event_type,
        payload=payload,
        key=key,
        enqueue=lambda delivery_id: None,
        now=now,
    )


def the_one_delivery(shipment: Shipment, url: str) -> WebhookDelivery:
    subscribe(shipment.receiver, url)
    (delivery,) = record(shipment)
    return delivery


def authentic(request: ReceivedRequest, secret: str, at: datetime) -> bool:
    return webhook_signature_verify(
        secret,
        request.header(HEADER_TIMESTAMP),
        request.body,
        request.header(HEADER_SIGNATURE),
        now=at.timestamp(),
    )


def attempts_log(delivery: WebhookDelivery) -> list[tuple[int, int | None]]:
    return list(delivery.log.values_list("number", "status_code"))


def run_together(action, times: int = 2) -> list:
    """``action`` in ``times`` threads released at the same moment; their results."""
    start = threading.Barrier(times)
    results = []

    def worker() -> None:
        start.wait()
        try:
            results.append(action())
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_an_event_reaches_each_subscribed_party_signed_with_its_own_secret(shipment, receiver):
    receiving = subscribe(shipment.receiver, receiver.url, ("alert.opened",))
    insuring = subscribe(shipment.insurer, receiver.url)
    subscribe(shipment.carrier, receiver.url, ("contract.claim_filed",))

    deliveries = record(shipment)
    for delivery in deliveries:
        webhook_deliver(delivery.pk, now=T0)

    assert {d.endpoint for d in deliveries} == {receiving, insuring}
    secret_by_event = {str(d.event_id): d.endpoint.secret for d in deliveries}
    assert len(receiver.requests) == 2
    for request in receiver.requests:
        own_secret = secret_by_event[request.header(HEADER_ID)]
        assert request.header("Content-Type") == "application/json"
        assert {s for s in secret_by_event.values() if authentic(request, s, T0)} == {own_secret}


def test_the_body_is_an_envelope_of_event_id_type_shipment_and_payload(shipment, receiver):
    delivery = the_one_delivery(shipment, receiver.url)
    webhook_deliver(delivery.pk, now=T0)

    (request,) = receiver.requests
    assert json.loads(request.body) == {
        "id": str(delivery.event_id),
        "type": "alert.opened",
        "created_at": "2026-03-02T09:00:00Z",
        "shipment": shipment.reference,
        "data": PAYLOAD,
    }
    assert request.header(HEADER_ID) == str(delivery.event_id)
    assert request.header(HEADER_TIMESTAMP) == str(int(T0.timestamp()))


def test_other_shipments_parties_and_inactive_endpoints_are_sent_nothing(shipment, receiver):
    subscribe(make_shipment().receiver, receiver.url)
    switched_off = subscribe(shipment.bank, receiver.url)
    webhook_endpoint_update(switched_off, active=False)

    assert record(shipment) == []


def test_the_same_event_key_twice_records_one_delivery_with_the_first_body(shipment, receiver):
    delivery = the_one_delivery(shipment, receiver.url)

    again = record(shipment, payload={"alert": 17, "severity": "changed"}, now=T0 + timedelta(1))

    assert again == []
    assert WebhookDelivery.objects.get() == delivery
    assert json.loads(bytes(WebhookDelivery.objects.get().body))["data"] == PAYLOAD


def test_deliveries_are_queued_once_the_recording_commits(
    shipment, receiver, django_capture_on_commit_callbacks
):
    subscribe(shipment.receiver, receiver.url)
    queued = []
    with django_capture_on_commit_callbacks(execute=True):
        deliveries = webhook_events_record(
            shipment=shipment,
            event_type="alert.opened",
            payload=PAYLOAD,
            key="k",
            enqueue=queued.append,
        )
        assert queued == []
    assert queued == [deliveries[0].pk]


def test_shipment_event_signal_records_the_deliveries(shipment, receiver):
    subscribe(shipment.shipper, receiver.url)
    shipment_event.send(
        sender=Shipment, shipment=shipment, event_type="alert.closed", payload={"a": 1}, key="k"
    )
    assert WebhookDelivery.objects.get().event_type == "alert.closed"


def test_a_payload_that_is_not_json_is_refused_clearly(shipment, receiver):
    subscribe(shipment.receiver, receiver.url)
    with pytest.raises(ValueError, match=r"payload of 'alert\.opened' is not JSON"):
        record(shipment, payload={"alert": object()})


def test_the_signal_receiver_logs_an_event_it_cannot_record_instead_of_failing_the_sender(
    shipment, receiver, caplog
):
    subscribe(shipment.receiver, receiver.url)
    shipment_event.send(
        sender=Shipment, shipment=shipment, event_type="alert.opened", payload={1j: 1}, key="bad"
    )
    assert "event bad (alert.opened) not recorded" in caplog.text
    assert not WebhookDelivery.objects.exists()


def test_a_receiver_down_for_a_while_gets_the_event_later_with_the_same_signed_body(
    shipment, down_receiver
):
    delivery = the_one_delivery(shipment, down_receiver.url)
    secret = delivery.endpoint.secret
    webhook_deliver(delivery.pk, now=T0)  # connection refused
    delivery.refresh_from_db()
    assert delivery.status == Status.FAILED

    down_receiver.start()
    down_receiver.status = 503
    second_at = delivery.next_attempt_at
    webhook_deliver(delivery.pk, now=second_at)
    down_receiver.status = 200
    delivery.refresh_from_db()
    third_at = delivery.next_attempt_at
    webhook_deliver(delivery.pk, now=third_at)

    delivery.refresh_from_db()
    assert (delivery.status, delivery.delivered_at, delivery.next_attempt_at) == (
        Status.DELIVERED,
        third_at,
        None,
    )
    refused, delivered = down_receiver.requests
    assert refused.body == delivered.body == bytes(delivery.body)
    assert refused.header(HEADER_ID) == delivered.header(HEADER_ID) == str(delivery.event_id)
    assert delivered.header(HEADER_TIMESTAMP) == str(int(third_at.timestamp()))
    assert authentic(delivered, secret, third_at)


def test_every_attempt_is_logged_with_its_response_code_or_error(shipment, down_receiver):
    delivery = the_one_delivery(shipment, down_receiver.url)
    webhook_deliver(delivery.pk, now=T0)
    down_receiver.start()
    down_receiver.status = 500
    delivery.refresh_from_db()
    webhook_deliver(delivery.pk, now=delivery.next_attempt_at)
    down_receiver.status = 204
    delivery.refresh_from_db()
    webhook_deliver(delivery.pk, now=delivery.next_attempt_at)

    delivery.refresh_from_db()
    assert delivery.attempts == 3
    assert attempts_log(delivery) == [(1, None), (2, 500), (3, 204)]
    refused, failed, succeeded = delivery.log.all()
    assert "ConnectionRefusedError" in refused.error
    assert failed.error == "HTTP 500: receiver says no"
    assert succeeded.error == ""
    assert all(attempt.duration_ms < 5000 for attempt in delivery.log.all())


def test_a_redirect_counts_as_a_failed_attempt(shipment, receiver):
    delivery = the_one_delivery(shipment, receiver.url)
    receiver.status = 301
    webhook_deliver(delivery.pk, now=T0)
    delivery.refresh_from_db()
    assert (delivery.status, attempts_log(delivery)) == (Status.FAILED, [(1, 301)])


def test_a_retry_is_not_sent_before_it_is_due(shipment, down_receiver):
    delivery = the_one_delivery(shipment, down_receiver.url)
    webhook_deliver(delivery.pk, now=T0)
    down_receiver.start()

    assert webhook_deliver(delivery.pk, now=T0 + timedelta(seconds=20)) is None
    assert down_receiver.requests == []


def test_retries_wait_twice_as_long_each_time_and_give_up_24_hours_after_the_first(
    shipment, down_receiver
):
    delivery = the_one_delivery(shipment, down_receiver.url)
    attempted = [T0]
    webhook_deliver(delivery.pk, now=T0)
    delivery.refresh_from_db()
    while delivery.next_attempt_at is not None:
        attempted.append(delivery.next_attempt_at)
        webhook_deliver(delivery.pk, now=delivery.next_attempt_at)
        delivery.refresh_from_db()

    assert delivery.status == Status.GIVEN_UP
    assert attempted[-1] == T0 + timedelta(hours=24)
    assert delivery.log.count() == len(attempted) == delivery.attempts
    waits = [(later - earlier).total_seconds() for earlier, later in pairwise(attempted)]
    assert 27 <= waits[0] <= 33
    for wait, since_first in zip(waits[1:-1], attempted[1:-2], strict=True):
        # The wait is the time since the first attempt, never under the 30 s base
        # (the first wait's jitter can leave the second attempt before it).
        expected = min(max((since_first - T0).total_seconds(), 30), 4 * 3600)
        assert 0.9 * expected <= wait <= 1.1 * expected
    assert 12 <= len(attempted) <= 20


def test_a_given_up_delivery_is_neither_sent_nor_queued_again(shipment, down_receiver):
    delivery = the_one_delivery(shipment, down_receiver.url)
    webhook_deliver(delivery.pk, now=T0 + timedelta(hours=25))
    delivery.refresh_from_db()
    assert delivery.status == Status.GIVEN_UP
    down_receiver.start()

    later = T0 + timedelta(days=3)
    assert webhooks_sweep(enqueue=lambda delivery_id: None, now=later) == 0
    assert webhook_deliver(delivery.pk, now=later) is None
    assert down_receiver.requests == []


def test_redelivery_sends_the_same_body_and_event_id_with_a_fresh_signature(shipment, receiver):
    delivery = the_one_delivery(shipment, receiver.url)
    webhook_deliver(delivery.pk, now=T0)
    later = T0 + timedelta(days=2)

    queued = []
    webhook_redeliver(delivery, enqueue=queued.append, now=later)
    webhook_deliver(delivery.pk, now=later)

    first, again = receiver.requests
    assert again.body == first.body
    assert again.header(HEADER_ID) == first.header(HEADER_ID)
    assert again.header(HEADER_SIGNATURE) != first.header(HEADER_SIGNATURE)
    assert authentic(again, delivery.endpoint.secret, later)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (Status.DELIVERED, 2)


def test_redelivering_a_given_up_delivery_starts_a_new_24_hour_schedule(shipment, down_receiver):
    delivery = the_one_delivery(shipment, down_receiver.url)
    webhook_deliver(delivery.pk, now=T0 + timedelta(hours=25))
    later = T0 + timedelta(days=4)

    webhook_redeliver(delivery, enqueue=lambda delivery_id: None, now=later)
    webhook_deliver(delivery.pk, now=later)

    delivery.refresh_from_db()
    assert delivery.status == Status.FAILED
    assert later < delivery.next_attempt_at < later + timedelta(minutes=1)


def test_the_sweep_queues_due_retries_once_and_replaces_lost_messages(shipment, down_receiver):
    delivery = the_one_delivery(shipment, down_receiver.url)  # queued at T0
    queued = []

    assert webhooks_sweep(enqueue=queued.append, now=T0 + timedelta(seconds=5)) == 0
    assert webhooks_sweep(enqueue=queued.append, now=LOST_BY) == 1
    webhook_deliver(delivery.pk, now=LOST_BY)
    delivery.refresh_from_db()
    assert webhooks_sweep(enqueue=queued.append, now=LOST_BY) == 0
    due = delivery.next_attempt_at
    assert webhooks_sweep(enqueue=queued.append, now=due) == 1
    assert webhooks_sweep(enqueue=queued.append, now=due) == 0
    assert queued == [delivery.pk, delivery.pk]


def test_the_sweep_stops_at_a_broker_that_refuses_and_tries_again_next_time(
    shipment, down_receiver
):
    delivery = the_one_delivery(shipment, down_receiver.url)

    def refuse(delivery_id: int) -> None:
        raise ConnectionError("broker down")

    assert webhooks_sweep(enqueue=refuse, now=LOST_BY) == 0
    queued = []
    assert webhooks_sweep(enqueue=queued.append, now=LOST_BY) == 1
    assert queued == [delivery.pk]


def test_an_inactive_endpoint_is_sent_nothing_until_it_is_active_again(shipment, receiver):
    delivery = the_one_delivery(shipment, receiver.url)
    webhook_endpoint_update(delivery.endpoint, active=False)

    assert webhook_deliver(delivery.pk, now=T0) is None
    assert webhooks_sweep(enqueue=lambda delivery_id: None, now=LOST_BY) == 0
    webhook_endpoint_update(delivery.endpoint, active=True)
    assert webhook_deliver(delivery.pk, now=T0) is not None
    assert len(receiver.requests) == 1


@pytest.mark.servers
@pytest.mark.django_db(transaction=True)
def test_a_delivery_is_never_sent_by_two_workers_at_once(receiver):
    shipment = make_shipment()
    delivery = the_one_delivery(shipment, receiver.url)
    receiver.delay_s = 0.3

    results = run_together(lambda: webhook_deliver(delivery.pk, now=T0))

    assert len(receiver.requests) == 1
    assert sorted(result is None for result in results) == [False, True]
    assert attempts_log(delivery) == [(1, 200)]


@pytest.mark.servers
@pytest.mark.django_db(transaction=True)
def test_the_same_event_recorded_by_two_processes_at_once_is_one_delivery(receiver):
    shipment = make_shipment()
    subscribe(shipment.receiver, receiver.url)

    results = run_together(lambda: record(shipment))

    assert sorted(len(created) for created in results) == [0, 1]
    assert WebhookDelivery.objects.count() == 1


def test_staff_can_redeliver_from_the_admin(admin_client, shipment, receiver):
    delivery = the_one_delivery(shipment, receiver.url)
    webhook_deliver(delivery.pk, now=T0)

    response = admin_client.post(
        "/admin/coldchain/webhookdelivery/",
        {"action": "redeliver", "_selected_action": [delivery.pk]},
        follow=True,
    )

    assert "Queued 1 webhook(s) for redelivery." in response.content.decode()
    delivery.refresh_from_db()
    assert delivery.status == Status.PENDING
    assert delivery.next_attempt_at > T0


def test_an_endpoint_created_in_the_admin_shows_its_secret_once(admin_client, shipment):
    response = admin_client.post(
        "/admin/coldchain/webhookendpoint/add/",
        {
            "party": shipment.insurer.pk,
            "url": "https://insurer.example.com/in",
            "event_types": ["contract.claim_filed"],
            "active": "on",
        },
        follow=True,
    )

    endpoint = shipment.insurer.webhook_endpoints.get()
    assert endpoint.event_types == ["contract.claim_filed"]
    assert endpoint.secret in response.content.decode()
    page = admin_client.get(f"/admin/coldchain/webhookendpoint/{endpoint.pk}/change/")
    assert endpoint.secret not in page.content.decode()


def test_the_admin_refuses_a_non_http_url_with_the_reason(admin_client, shipment):
    response = admin_client.post(
        "/admin/coldchain/webhookendpoint/add/",
        {"party": shipment.insurer.pk, "url": "ftp://x.example.com/", "event_types": ["*"]},
    )
    assert "Only http and https URLs" in response.content.decode()
    assert not shipment.insurer.webhook_endpoints.exists()
