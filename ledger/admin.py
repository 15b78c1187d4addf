from django.contrib import admin, messages
from django.db.models import QuerySet

from ledger.admin_base import HugeTableAdmin, ReadOnlyAdmin, ReadOnlyTabularInline, json_download
from ledger.evidence import EvidenceError, evidence_bundle
from ledger.models import (
    Checkpoint,
    Cosignature,
    Entry,
    LogIndex,
    LogState,
    PendingEntry,
    TreeChunk,
    WitnessState,
)


@admin.register(Entry)
class EntryAdmin(HugeTableAdmin):
    """The log's entries; the search box takes a log index or an exact kind."""

    list_display = ("id", "kind", "log_index", "created_at")
    list_filter = (("created_at", admin.DateFieldListFilter),)
    list_select_related = ("sealed",)
    search_fields = ("=kind",)
    search_help_text = "A log index, or an entry kind (exact)"
    readonly_fields = ("log_index", "leaf_hash_hex", "data_text")
    actions = ["download_evidence"]

    @admin.display(description="log index")
    def log_index(self, entry: Entry) -> int | None:
        return entry.index

    @admin.display(description="leaf hash")
    def leaf_hash_hex(self, entry: Entry) -> str:
        return bytes(entry.leaf_hash).hex()

    @admin.display(description="data")
    def data_text(self, entry: Entry) -> str:
        return bytes(entry.data).decode("ascii", "replace")

    def get_search_results(self, request, queryset, search_term):  # type: ignore[no-untyped-def]
        if search_term.strip().isdigit():
            return queryset.filter(sealed__index=int(search_term)), False
        return super().get_search_results(request, queryset, search_term)

    @admin.action(description="Download the evidence bundle of the selected entries")
    def download_evidence(self, request, queryset: QuerySet[Entry]):  # type: ignore[no-untyped-def]
        indices = [i for i in queryset.values_list("sealed__index", flat=True) if i is not None]
        try:
            bundle = evidence_bundle(indices, tlog_proofs=False)
        except EvidenceError as error:
            self.message_user(request, f"No bundle: {error}", messages.ERROR)
            return None
        return json_download(bundle, f"evidence-{len(indices)}-entries.json")


@admin.register(PendingEntry)
class PendingEntryAdmin(ReadOnlyAdmin):
    """Entries the sequencer has not sealed yet: a growing list means it is not running."""

    list_display = ("entry",)
    list_select_related = ("entry",)


@admin.register(LogIndex)
class LogIndexAdmin(HugeTableAdmin):
    list_display = ("index", "entry")
    list_select_related = ("entry",)
    search_fields = ("=index",)


@admin.register(TreeChunk)
class TreeChunkAdmin(HugeTableAdmin):
    list_display = ("level", "chunk", "key")
    list_filter = ("level",)


@admin.register(LogState)
class LogStateAdmin(ReadOnlyAdmin):
    list_display = ("size", "root_hash_hex", "updated_at")

    @admin.display(description="root hash")
    def root_hash_hex(self, state: LogState) -> str:
        return bytes(state.root_hash).hex()


class CosignatureInline(ReadOnlyTabularInline):
    model = Cosignature
    fields = ("witness", "signature_line", "created_at")

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Checkpoint)
class CheckpointAdmin(HugeTableAdmin):
    inlines = [CosignatureInline]
    list_display = ("size", "root_hash_hex", "created_at")
    list_filter = (("created_at", admin.DateFieldListFilter),)
    search_fields = ("=size",)
    readonly_fields = ("root_hash_hex",)

    @admin.display(description="root hash")
    def root_hash_hex(self, checkpoint: Checkpoint) -> str:
        return bytes(checkpoint.root_hash).hex()


@admin.register(Cosignature)
class CosignatureAdmin(HugeTableAdmin):
    list_display = ("checkpoint", "witness", "created_at")
    list_select_related = ("checkpoint",)
    search_fields = ("=checkpoint__size", "witness")


@admin.register(WitnessState)
class WitnessStateAdmin(ReadOnlyAdmin):
    """Configured witnesses: a rising failure count means cosignatures are not coming."""

    list_display = ("name", "url", "size", "failures", "last_success_at", "next_attempt_at")
    search_fields = ("name", "url", "vkey")
