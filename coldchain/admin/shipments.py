from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet

from coldchain.contracts import contract_activate
from coldchain.evidence import shipments_evidence_bundle
from coldchain.models import ContractTemplate, DeviceAttachment, Product, Shipment
from coldchain.reevaluation import shipment_reevaluate
from coldchain.shipment_states import ContractError
from coldchain.terms import TermsError
from ledger.admin_base import action_form_page, json_download
from ledger.evidence import EvidenceError


def shipment_editable(shipment: Shipment | None) -> bool:
    """A shipment is edited until its contract anchors its terms (parties, range,
    deadline); after that only the services change it, each change recorded."""
    return shipment is None or (
        shipment.status == Shipment.Status.ACTIVE and not hasattr(shipment, "contract")
    )


class ContractActivationForm(forms.Form):
    template = forms.ModelChoiceField(
        queryset=ContractTemplate.objects.all(),
        required=False,
        empty_label="No template: the product's defaults",
        help_text="Default terms; the shipment's parties and product fill in the rest",
    )


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = (
        "code", "name", "temp_min_c", "temp_max_c", "excursion_min_c", "excursion_max_c",
        "max_single_excursion_min", "max_cumulative_excursion_min", "mkt_limit_c",
    )  # fmt: skip
    search_fields = ("code", "name")


class DeviceAttachmentInline(admin.TabularInline):
    model = DeviceAttachment
    fields = ("device", "attached_from", "attached_until")
    autocomplete_fields = ("device",)
    extra = 0

    def has_add_permission(self, request, obj=None) -> bool:
        return shipment_editable(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None) -> bool:
        return shipment_editable(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return shipment_editable(obj) and super().has_delete_permission(request, obj)


@admin.register(Shipment)
class ShipmentAdmin(admin.ModelAdmin):
    inlines = [DeviceAttachmentInline]
    list_display = (
        "reference", "product", "shipper", "carrier", "receiver", "status", "has_contract",
        "departure_at", "deadline_at", "delivered_at",
    )  # fmt: skip
    list_filter = ("status", "product", ("delivered_at", admin.EmptyFieldListFilter))
    search_fields = (
        "reference", "vehicle", "origin", "destination", "shipper__name", "carrier__name",
        "receiver__name",
    )  # fmt: skip
    date_hierarchy = "departure_at"
    list_select_related = ("product", "shipper", "carrier", "receiver", "contract")
    autocomplete_fields = ("product", "shipper", "carrier", "receiver", "insurer", "bank")
    readonly_fields = ("status", "delivered_at", "created_at")
    actions = ["reevaluate", "export_evidence", "activate_contract"]

    @admin.display(description="contract", boolean=True)
    def has_contract(self, shipment: Shipment) -> bool:
        return hasattr(shipment, "contract")

    def has_change_permission(self, request, obj=None) -> bool:
        return shipment_editable(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return shipment_editable(obj) and super().has_delete_permission(request, obj)

    def has_operate_permission(self, request) -> bool:  # type: ignore[no-untyped-def]
        """Evaluating and activating record anchored entries: for operators, not auditors."""
        return request.user.has_perm("coldchain.change_shipment")

    @admin.action(
        description="Re-run the evaluation of selected shipments (scoring and contract)",
        permissions=["operate"],
    )
    def reevaluate(self, request, queryset: QuerySet[Shipment]) -> None:  # type: ignore[no-untyped-def]
        results = [shipment_reevaluate(shipment) for shipment in queryset]
        for result in results:
            if result.scoring.skipped:
                self.message_user(
                    request,
                    f"{result.scoring.shipment} not scored: {result.scoring.skipped}",
                    messages.WARNING,
                )
        self.message_user(
            request,
            f"Evaluated {len(results)} shipment(s): "
            f"{sum(r.scoring.assessments for r in results)} assessment(s), "
            f"{sum(r.scoring.alerts_opened for r in results)} alert(s) opened, "
            f"{sum(r.scoring.alerts_closed for r in results)} closed, "
            f"{sum(r.actions for r in results)} contract action(s).",
            messages.SUCCESS,
        )

    @admin.action(description="Export the evidence of selected shipments (JSON bundle)")
    def export_evidence(self, request, queryset: QuerySet[Shipment]):  # type: ignore[no-untyped-def]
        shipments = list(queryset.order_by("reference"))
        try:
            bundle = shipments_evidence_bundle(shipments)
        except EvidenceError as error:
            self.message_user(request, f"No evidence bundle: {error}", messages.ERROR)
            return None
        name = shipments[0].reference if len(shipments) == 1 else f"{len(shipments)}-shipments"
        return json_download(bundle, f"evidence-{name}.json")

    @admin.action(
        description="Activate a contract for selected shipments…", permissions=["operate"]
    )
    def activate_contract(self, request, queryset: QuerySet[Shipment]):  # type: ignore[no-untyped-def]
        form = ContractActivationForm(request.POST if "apply" in request.POST else None)
        if not form.is_valid():
            return action_form_page(
                request,
                model_admin=self,
                queryset=queryset,
                form=form,
                action="activate_contract",
                title="Activate contracts",
                submit="Activate",
            )
        activated = 0
        for shipment in queryset:
            try:
                contract_activate(shipment, template=form.cleaned_data["template"])
            except (ContractError, TermsError) as error:
                self.message_user(request, f"{shipment.reference}: {error}", messages.ERROR)
            else:
                activated += 1
        self.message_user(request, f"Activated {activated} contract(s).", messages.SUCCESS)
        return None


@admin.register(DeviceAttachment)
class DeviceAttachmentAdmin(admin.ModelAdmin):
    list_display = ("shipment", "device", "attached_from", "attached_until")
    list_filter = (("attached_until", admin.EmptyFieldListFilter),)
    search_fields = ("shipment__reference", "device__id")
    autocomplete_fields = ("shipment", "device")
    list_select_related = ("shipment", "device")
    date_hierarchy = "attached_from"
