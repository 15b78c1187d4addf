from __future__ import annotations

from rest_framework import throttling
from rest_framework.settings import api_settings


class ScopedRateThrottle(throttling.ScopedRateThrottle):
    """DRF's per-scope throttle, reading the rates when a request comes rather
    than once at import, so that a changed setting takes effect.

    Counters live in the default cache (see CACHES in settings).
    """

    def get_rate(self) -> str | None:
        self.THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES
        return super().get_rate()
