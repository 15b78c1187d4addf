"""Celery tasks of the webhooks: thin triggers of coldchain.webhooks.deliveries."""

from __future__ import annotations

from celery import shared_task

from coldchain.webhooks.deliveries import DELIVER_TASK, webhook_deliver, webhooks_sweep


@shared_task(name=DELIVER_TASK, acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def webhooks_deliver_task(delivery_id: int) -> None:
    # No Celery retries: a failed attempt is rescheduled in the row, and the
    # sweep queues it when it is due.
    webhook_deliver(delivery_id)


@shared_task(name="coldchain.webhooks_sweep", ignore_result=True)
def webhooks_sweep_task() -> int:
    return webhooks_sweep()
