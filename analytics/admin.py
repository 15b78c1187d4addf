from django.contrib import admin, messages

from analytics.models import ModelActivation, ModelVersion
from analytics.registry import ModelArtifactError, model_version_activate
from ledger.admin_base import ReadOnlyAdmin


@admin.register(ModelVersion)
class ModelVersionAdmin(ReadOnlyAdmin):
    """Evidence: a version changes only by activation, which the registry logs."""

    list_display = (
        "task",
        "version",
        "active",
        "created_at",
        "metrics_summary",
        "artifact_sha256",
    )
    list_filter = ("task", "active")
    search_fields = ("artifact_sha256", "training_data_sha256", "code_version")
    actions = ["activate"]

    @admin.display(description="metrics")
    def metrics_summary(self, version: ModelVersion) -> str:
        return ", ".join(
            f"{name} {value:.3g}" if isinstance(value, float) else f"{name} {value}"
            for name, value in sorted(version.metrics.items())
        )

    def has_activate_permission(self, request) -> bool:  # type: ignore[no-untyped-def]
        return request.user.has_perm("analytics.change_modelversion")

    @admin.action(
        description="Activate the selected version (one per task)", permissions=["activate"]
    )
    def activate(self, request, queryset) -> None:
        versions = list(queryset)
        if len({version.task for version in versions}) != len(versions):
            self.message_user(request, "Select at most one version per task.", messages.ERROR)
            return
        for version in versions:
            try:
                activation = model_version_activate(version=version)
            except ModelArtifactError as error:
                self.message_user(request, str(error), messages.ERROR)
                continue
            if activation is None:
                self.message_user(request, f"{version} was already active.", messages.INFO)
            else:
                self.message_user(request, f"{version} is now active.", messages.SUCCESS)


@admin.register(ModelActivation)
class ModelActivationAdmin(ReadOnlyAdmin):
    list_display = ("activated_at", "version", "previous", "entry")
    list_filter = ("version__task",)
    list_select_related = ("version", "previous", "entry__sealed")
    date_hierarchy = "activated_at"
