from django.contrib import admin

from coldchain.models import Alert, AlertNote, Assessment, ShipmentDirty
from ledger.admin_base import HugeTableAdmin, ReadOnlyAdmin, ReadOnlyTabularInline


@admin.register(Assessment)
class AssessmentAdmin(HugeTableAdmin):
    list_display = (
        "shipment", "evaluated_at", "flag", "breach_prob", "breach_soon_prob",
        "sensor_fault_prob", "validated_c", "breach_model", "breach_soon_model", "log_index",
    )  # fmt: skip
    list_filter = ("flag", ("evaluated_at", admin.DateFieldListFilter))
    search_fields = ("=shipment__reference", "=input_sha256")
    search_help_text = "A shipment reference or an input hash (exact)"
    list_select_related = ("shipment", "breach_model", "breach_soon_model", "ledger_entry__sealed")

    @admin.display(description="log index")
    def log_index(self, assessment: Assessment) -> int | None:
        return assessment.ledger_entry.index if assessment.ledger_entry else None


class AlertNoteInline(ReadOnlyTabularInline):
    model = AlertNote
    fields = ("kind", "author", "text", "at", "ledger_entry")

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Alert)
class AlertAdmin(ReadOnlyAdmin):
    """Alerts follow the assessments; people acknowledge them in the dashboard,
    which records an anchored note."""

    inlines = [AlertNoteInline]
    list_display = ("shipment", "kind", "status", "opened_at", "closed_at", "escalated_at")
    list_filter = ("status", "kind")
    search_fields = ("=shipment__reference",)
    date_hierarchy = "opened_at"
    list_select_related = ("shipment",)


@admin.register(AlertNote)
class AlertNoteAdmin(ReadOnlyAdmin):
    list_display = ("alert", "kind", "author", "at", "text")
    list_filter = ("kind",)
    search_fields = ("=alert__shipment__reference", "author__username", "text")
    date_hierarchy = "at"
    list_select_related = ("alert", "author")


@admin.register(ShipmentDirty)
class ShipmentDirtyAdmin(ReadOnlyAdmin):
    """Shipments waiting for their evaluation: a growing list means workers are behind."""

    list_display = ("shipment", "since", "marked_at", "due_at", "queued_at")
    search_fields = ("=shipment__reference",)
    list_select_related = ("shipment",)
