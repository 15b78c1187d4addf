"""The admin console: one module per concern, imported here for admin autodiscovery.
Evidence is read-only for everyone; actions call the services. See docs/operations.md."""

from coldchain.admin import assessments, contracts, parties, shipments, webhooks  # noqa: F401
