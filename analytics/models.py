from __future__ import annotations

from django.db import models
from django.db.models import Q


class ModelVersion(models.Model):
    """A trained booster and its provenance: evidence, written once by the registry.

    Only ``active`` changes after registration, and only through
    ``analytics.registry.model_version_activate``, which logs the change.
    """

    class Task(models.TextChoices):
        BREACH = "breach", "Breach now (normal / breach / sensor fault)"
        BREACH_SOON = "breach_soon", "Breach within the horizon (binary)"

    task = models.CharField(max_length=32, choices=Task.choices)
    version = models.PositiveIntegerField(help_text="1, 2, 3 … per task, in registration order")
    artifact_path = models.CharField(
        max_length=200, help_text="The .ubj file, relative to ANALYTICS_MODEL_DIR"
    )
    artifact_sha256 = models.CharField(max_length=64, help_text="Hex SHA-256 of the .ubj bytes")
    training_data_sha256 = models.CharField(max_length=64, help_text="Hex SHA-256 of the data set")
    features = models.JSONField(help_text="Feature names, in the booster's column order")
    params = models.JSONField(help_text="Training parameters")
    metrics = models.JSONField(help_text="Evaluation figures at registration")
    code_version = models.CharField(
        max_length=80, help_text="git:<commit>, or sha256:<hash of the analytics sources>"
    )
    xgboost_version = models.CharField(max_length=32, help_text="XGBoost that trained it")
    created_at = models.DateTimeField()
    active = models.BooleanField(default=False)
    registration_entry = models.OneToOneField(
        "ledger.Entry", on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["task", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["task", "version"], name="analytics_model_version"),
            # Scoring asks for "the" model of a task: two active ones would
            # make the answer depend on query order.
            models.UniqueConstraint(
                fields=["task"], condition=Q(active=True), name="analytics_one_active_per_task"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.task} v{self.version}"


class ModelActivation(models.Model):
    """One logged activation: which version became a task's active model, replacing which.

    A history rather than a field on the version: a version can be activated
    again after a rollback, and every activation entry in the log needs the
    row it proves.
    """

    version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="activations")
    previous = models.ForeignKey(
        ModelVersion,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The version that was active for the task until then",
    )
    activated_at = models.DateTimeField()
    entry = models.OneToOneField("ledger.Entry", on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["-activated_at", "-id"]

    def __str__(self) -> str:
        return f"{self.version} activated at {self.activated_at:%Y-%m-%d %H:%M:%S}"
