"""The models page: every registered version per task, the active one marked."""

from __future__ import annotations

from django.db.models import QuerySet

from analytics.models import ModelVersion


def model_versions() -> QuerySet[ModelVersion]:
    return ModelVersion.objects.select_related("registration_entry__sealed").order_by(
        "task", "-version"
    )
