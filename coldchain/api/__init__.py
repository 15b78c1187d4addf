"""The REST API under /api/v1/: every queryset is scoped by ``coldchain.access``."""
