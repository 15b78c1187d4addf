"""Signed webhooks to the parties of a shipment (docs/webhooks.md).

``signing`` is the signature scheme (standard library only, the receiver's
reference), ``endpoints`` the subscriptions, ``deliveries`` recording,
sending, retrying and redelivering, ``tasks`` the Celery triggers and
``receivers`` the hook on ``coldchain.signals.shipment_event``.
"""
