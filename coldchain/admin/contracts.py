from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse

from coldchain.claims import claim_evidence_attach
from coldchain.models import (
    Contract,
    ContractAction,
    ContractTemplate,
    InsuranceClaim,
    ReleaseSignature,
    ShipmentTransition,
)
from ledger.admin_base import ReadOnlyAdmin, json_download, json_zip_download
from ledger.evidence import EvidenceError


@admin.register(ContractTemplate)
class ContractTemplateAdmin(admin.ModelAdmin):
    """Templates only seed new contracts: an activated contract keeps its own copy."""

    list_display = ("name", "version", "description", "created_at")
    search_fields = ("name", "description")


@admin.register(Contract)
class ContractAdmin(ReadOnlyAdmin):
    list_display = ("shipment", "template", "terms_sha256", "activated_at", "log_index")
    list_filter = ("template",)
    search_fields = ("=shipment__reference", "=terms_sha256")
    date_hierarchy = "activated_at"
    list_select_related = ("shipment", "template", "ledger_entry__sealed")

    @admin.display(description="log index")
    def log_index(self, contract: Contract) -> int | None:
        return contract.ledger_entry.index


@admin.register(ShipmentTransition)
class ShipmentTransitionAdmin(ReadOnlyAdmin):
    list_display = ("shipment", "from_status", "to_status", "at", "actor", "reason")
    list_filter = ("to_status",)
    search_fields = ("=shipment__reference", "reason")
    date_hierarchy = "at"
    list_select_related = ("shipment", "actor")


@admin.register(ContractAction)
class ContractActionAdmin(ReadOnlyAdmin):
    list_display = ("shipment", "kind", "at", "amount", "currency", "payer", "payee", "reason")
    list_filter = ("kind",)
    search_fields = ("=shipment__reference", "idempotency_key")
    date_hierarchy = "at"
    list_select_related = ("shipment", "payer", "payee")


@admin.register(ReleaseSignature)
class ReleaseSignatureAdmin(ReadOnlyAdmin):
    list_display = ("shipment", "decision", "released_fraction", "printed_name", "signed_at")
    list_filter = ("decision",)
    search_fields = ("=shipment__reference", "printed_name")
    date_hierarchy = "signed_at"
    list_select_related = ("shipment",)


@admin.register(InsuranceClaim)
class InsuranceClaimAdmin(ReadOnlyAdmin):
    list_display = (
        "action", "insurer", "policy", "claimed_amount", "currency", "evidence_built_at",
    )  # fmt: skip
    list_filter = (
        ("insurer", admin.RelatedOnlyFieldListFilter),
        ("evidence_built_at", admin.EmptyFieldListFilter),
    )
    search_fields = ("policy", "action__idempotency_key", "=action__shipment__reference")
    list_select_related = ("action", "insurer")
    exclude = ("evidence",)
    actions = ["download_evidence"]

    @admin.action(description="Download the evidence bundles of selected claims")
    def download_evidence(
        self, request: HttpRequest, queryset: QuerySet[InsuranceClaim]
    ) -> HttpResponse | None:
        bundles = {}
        for claim in queryset.order_by("pk"):
            try:
                ready = claim_evidence_attach(claim)
            except EvidenceError as error:
                self.message_user(request, f"{claim}: {error}", messages.ERROR)
                continue
            if not ready:
                self.message_user(
                    request, f"{claim}: not sealed yet, try again in a minute.", messages.WARNING
                )
                continue
            claim.refresh_from_db(fields=["evidence"])
            bundles[f"claim-{claim.pk}-evidence.json"] = claim.evidence
        if not bundles:
            return None
        if len(bundles) == 1:
            ((name, bundle),) = bundles.items()
            return json_download(bundle, name)
        return json_zip_download(bundles, f"claims-evidence-{len(bundles)}.zip")
