from django import forms
from django.contrib import admin, messages

from devices.inbox import inbox_batches_requeue
from devices.models import Device, DeviceKey, IngestBatch, Reading, Rejection
from devices.services import device_revoke
from devices.tasks import enqueue_ingest
from ledger.admin_base import HugeTableAdmin, ReadOnlyAdmin, ReadOnlyTabularInline, action_form_page


class RevocationForm(forms.Form):
    reason = forms.CharField(
        max_length=200,
        help_text="Logged with the revocation, e.g. 'key leaked' or 'logger lost'",
    )


class DeviceKeyInline(ReadOnlyTabularInline):
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

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Device)
class DeviceAdmin(ReadOnlyAdmin):
    """Devices are registered with provision_device/register_device, which validate and
    log their keys; their status changes only by the revocation action, which logs it."""

    inlines = [DeviceKeyInline]
    list_display = ("id", "vehicle", "kind", "status", "last_seq", "last_seen", "key_fingerprint")
    list_filter = ("status", "kind")
    search_fields = ("id", "vehicle")
    readonly_fields = ("key_fingerprint",)
    actions = ["revoke"]

    def has_revoke_permission(self, request) -> bool:  # type: ignore[no-untyped-def]
        return request.user.has_perm("devices.change_device")

    @admin.action(description="Revoke selected devices…", permissions=["revoke"])
    def revoke(self, request, queryset):  # type: ignore[no-untyped-def]
        form = RevocationForm(request.POST if "apply" in request.POST else None)
        if not form.is_valid():
            return action_form_page(
                request,
                model_admin=self,
                queryset=queryset,
                form=form,
                action="revoke",
                title="Revoke devices",
                submit="Revoke",
            )
        reason = f"{form.cleaned_data['reason']} (by {request.user} in the admin)"
        revoked = [
            device_revoke(device_id=device_id, reason=reason)
            for device_id in queryset.filter(status=Device.Status.ACTIVE).values_list(
                "id", flat=True
            )
        ]
        self.message_user(
            request,
            f"Revoked {len(revoked)} device(s); their messages are rejected from now on.",
            messages.SUCCESS,
        )
        return None


@admin.register(DeviceKey)
class DeviceKeyAdmin(ReadOnlyAdmin):
    list_display = ("device", "number", "fingerprint", "valid_from", "retired_at")
    list_filter = (("retired_at", admin.EmptyFieldListFilter),)
    search_fields = ("device__id", "fingerprint")
    list_select_related = ("device",)


@admin.register(Reading)
class ReadingAdmin(HugeTableAdmin):
    """Millions of rows: filter by device (search) and day, no counts or year scans."""

    list_display = (
        "device", "seq", "ts", "temp_c", "door_open", "reefer_on", "received_at", "signing_key",
    )  # fmt: skip
    list_filter = (("ts", admin.DateFieldListFilter),)
    search_fields = ("=device__id",)
    search_help_text = "A device id (exact)"
    list_select_related = ("device", "signing_key")
    raw_id_fields = ("device", "signing_key", "ledger_entry")


@admin.register(Rejection)
class RejectionAdmin(HugeTableAdmin):
    list_display = (
        "received_at",
        "reason",
        "device_id",
        "seq",
        "source",
        "security_event",
        "detail",
    )
    list_filter = ("reason", "security_event", ("received_at", admin.DateFieldListFilter))
    search_fields = ("=device_id", "=raw_sha256")
    raw_id_fields = ("conflicting_reading",)


@admin.register(IngestBatch)
class IngestBatchAdmin(ReadOnlyAdmin):
    """Batches waiting for a worker: a growing list means workers are down or behind."""

    list_display = ("id", "message_count", "received_at", "queued_at", "attempts", "requeue_at")
    exclude = ("data",)
    actions = ["requeue"]

    def has_requeue_permission(self, request) -> bool:  # type: ignore[no-untyped-def]
        return request.user.has_perm("devices.change_ingestbatch")

    @admin.action(description="Queue selected batches for ingestion again", permissions=["requeue"])
    def requeue(self, request, queryset) -> None:  # type: ignore[no-untyped-def]
        queued = inbox_batches_requeue(
            enqueue=enqueue_ingest, batch_ids=list(queryset.values_list("id", flat=True))
        )
        self.message_user(request, f"Queued {queued} batch(es).", messages.SUCCESS)
