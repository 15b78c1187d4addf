"""The ledger explorer: checkpoints with cosignatures, and the entries a user may see."""

from __future__ import annotations

from django.db.models import QuerySet

from coldchain.access import devices_visible_to, sees_everything
from ledger.models import Checkpoint, Entry
from ledger.witnessing import configured_witnesses

PAGE_SIZE = 50


def recent_checkpoints(limit: int = 10) -> QuerySet[Checkpoint]:
    """Checkpoints are public (the log publishes them), newest first."""
    return Checkpoint.objects.prefetch_related("cosignatures").order_by("-size")[:limit]


def visible_entries(
    user, *, kind: str = "", before: int | None = None
) -> tuple[list[Entry], int | None]:
    """Sealed entries, newest first, ``PAGE_SIZE`` at a time below index ``before``,
    and the ``before`` of the next page (None on the last).

    Staff and auditors see every entry; a party sees the readings of the
    devices on its shipments (other entries carry other parties' business).
    """
    entries = Entry.objects.filter(sealed__isnull=False).select_related("sealed")
    if not sees_everything(user):
        entries = entries.filter(reading__device__in=devices_visible_to(user))
    if kind:
        entries = entries.filter(kind=kind)
    if before is not None:
        entries = entries.filter(sealed__index__lt=before)
    page = list(entries.order_by("-sealed__index")[:PAGE_SIZE])
    return page, page[-1].sealed.index if len(page) == PAGE_SIZE else None


def entry_kinds() -> list[str]:
    return list(Entry.objects.order_by("kind").values_list("kind", flat=True).distinct())


def witness_vkeys() -> list[str]:
    """The cosignature/v1 vkeys of the witnesses this log submits to, whose
    cosignatures the in-browser verifier checks."""
    return [endpoint.verifier.vkey for endpoint in configured_witnesses()]
