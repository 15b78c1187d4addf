from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from coldchain.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from coldchain.models.webhooks import ALL_EVENTS
from coldchain.webhooks.deliveries import webhook_redeliver
from coldchain.webhooks.endpoints import (
    EVENT_TYPES,
    webhook_endpoint_create,
    webhook_endpoint_update,
    webhook_event_types_validate,
    webhook_url_validate,
)
from ledger.admin_base import HugeTableAdmin, ReadOnlyAdmin, ReadOnlyTabularInline


def _field_error(error: ValidationError, field: str) -> forms.ValidationError:
    return forms.ValidationError(error.message_dict[field])


class WebhookEndpointForm(forms.ModelForm):
    url = forms.URLField(max_length=2000, assume_scheme="https")
    event_types = forms.MultipleChoiceField(
        choices=[(ALL_EVENTS, "All events, including those added later")]
        + [(event_type, event_type) for event_type in EVENT_TYPES],
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = WebhookEndpoint
        fields = ("party", "url", "event_types", "active")

    def clean_url(self) -> str:
        try:
            return webhook_url_validate(self.cleaned_data["url"])
        except ValidationError as error:
            raise _field_error(error, "url") from None

    def clean_event_types(self) -> list[str]:
        try:
            return webhook_event_types_validate(self.cleaned_data["event_types"])
        except ValidationError as error:
            raise _field_error(error, "event_types") from None


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    """Endpoints are created by the service, which makes the secret and shows it once."""

    form = WebhookEndpointForm
    list_display = ("url", "party", "event_types", "active", "created_at")
    list_filter = ("active", "party")
    search_fields = ("url", "party__name")
    list_select_related = ("party",)

    def get_readonly_fields(self, request, obj=None):  # type: ignore[no-untyped-def]
        return ("party",) if obj is not None else ()

    def save_model(self, request, obj, form, change) -> None:  # type: ignore[no-untyped-def]
        if change:
            webhook_endpoint_update(
                obj, url=obj.url, event_types=obj.event_types, active=obj.active
            )
            return
        endpoint, secret = webhook_endpoint_create(
            party=obj.party, url=obj.url, event_types=obj.event_types
        )
        if not obj.active:
            webhook_endpoint_update(endpoint, active=False)
        # The admin goes on with ``obj`` (change log, redirect): make it the saved row.
        obj.pk, obj.secret, obj.created_at = endpoint.pk, endpoint.secret, endpoint.created_at
        self.message_user(
            request,
            f"Signing secret of {endpoint.url}: {secret} — give it to the receiver now; "
            "it is not shown again.",
            messages.WARNING,
        )


class WebhookAttemptInline(ReadOnlyTabularInline):
    model = WebhookAttempt
    fields = ("number", "at", "status_code", "error", "duration_ms")

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    """The delivery log: every delivery with all its attempts, and a redelivery action."""

    inlines = [WebhookAttemptInline]
    list_display = (
        "event_type", "endpoint", "status", "attempts", "created_at", "delivered_at",
        "next_attempt_at",
    )  # fmt: skip
    list_filter = ("status", "event_type", "endpoint__party")
    search_fields = ("event_id", "key", "endpoint__url")
    list_select_related = ("endpoint",)
    exclude = ("body",)
    readonly_fields = ("body_text",)
    actions = ["redeliver"]

    @admin.display(description="Body")
    def body_text(self, delivery: WebhookDelivery) -> str:
        return bytes(delivery.body).decode("utf-8", "replace")

    def has_redeliver_permission(self, request) -> bool:  # type: ignore[no-untyped-def]
        return request.user.has_perm("coldchain.change_webhookdelivery")

    @admin.action(description="Redeliver selected webhooks", permissions=["redeliver"])
    def redeliver(self, request, queryset) -> None:  # type: ignore[no-untyped-def]
        deliveries = list(queryset)
        for delivery in deliveries:
            webhook_redeliver(delivery)
        self.message_user(
            request, f"Queued {len(deliveries)} webhook(s) for redelivery.", messages.SUCCESS
        )


@admin.register(WebhookAttempt)
class WebhookAttemptAdmin(HugeTableAdmin):
    list_display = ("delivery", "number", "at", "status_code", "error", "duration_ms")
    list_filter = (("at", admin.DateFieldListFilter),)
    search_fields = ("=delivery__event_id", "delivery__endpoint__url")
    list_select_related = ("delivery",)
