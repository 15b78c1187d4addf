from django.contrib import admin, messages

from devices.inbox import inbox_batches_requeue
from devices.models import Device, DeviceKey, IngestBatch, Reading, Rejection
from devices.services import device_revoke
from devices.tasks import enqueue_ingest


class ReadOnlyAdmin(admin.ModelAdmin):
    """Evidence: visible to staff, changed by nobody."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class DeviceKeyInline(admin.TabularInline):
    """The key history; keys change only by rotate_device_key, which logs them."""

    model = DeviceKey
    fields = (
        "number",
        "fingerprint",
        "valid_from",
        "valid_from_entry",
        "requested_by_previous_key",
        "retired_at",
        "retired_entry",
    )
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Device)
class DeviceAdmin(admin.ModelAdmin):
    inlines = [DeviceKeyInline]
    list_display = ("id", "vehicle", "kind", "status", "last_seq", "last_seen", "key_fingerprint")
    list_filter = ("status", "kind")
    search_fields = ("id", "vehicle")
    readonly_fields = (
        "public_key",
        "key_fingerprint",
        "last_seq",
        "last_reading_ts",
        "last_seen",
        "registered_at",
        "revoked_at",
        "revocation_reason",
        "status",
    )
    actions = ["revoke"]

    def has_add_permission(self, request, obj=None) -> bool:
        # Keys are registered with provision_device/register_device, which validate them.
        return False

    @admin.action(description="Revoke selected devices")
    def revoke(self, request, queryset) -> None:
        for device in queryset:
            device_revoke(device_id=device.id, reason=f"revoked in admin by {request.user}")
        self.message_user(request, f"Revoked {queryset.count()} device(s).", messages.SUCCESS)


@admin.register(Reading)
class ReadingAdmin(ReadOnlyAdmin):
    list_display = (
        "device", "seq", "ts", "temp_c", "door_open", "reefer_on", "received_at", "signing_key",
    )  # fmt: skip
    list_filter = ("device__vehicle",)
    search_fields = ("device__id",)
    date_hierarchy = "ts"
    list_select_related = ("device", "signing_key")
    show_full_result_count = False


@admin.register(Rejection)
class RejectionAdmin(ReadOnlyAdmin):
    list_display = (
        "received_at",
        "reason",
        "device_id",
        "seq",
        "source",
        "security_event",
        "detail",
    )
    list_filter = ("reason", "security_event", "source")
    search_fields = ("device_id", "raw_sha256")
    date_hierarchy = "received_at"


@admin.register(IngestBatch)
class IngestBatchAdmin(ReadOnlyAdmin):
    """Batches waiting for a worker: a growing list means workers are down or behind."""

    list_display = ("id", "message_count", "received_at", "queued_at", "attempts", "requeue_at")
    exclude = ("data",)
    actions = ["requeue"]

    @admin.action(description="Queue selected batches for ingestion again")
    def requeue(self, request, queryset) -> None:
        queued = inbox_batches_requeue(
            enqueue=enqueue_ingest, batch_ids=list(queryset.values_list("id", flat=True))
        )
        self.message_user(request, f"Queued {queued} batch(es).", messages.SUCCESS)
