"""The log side of C2SP tlog-witness: push checkpoints, keep the cosignatures.

After a seal the log sends its latest checkpoint to every witness in
``LEDGER_WITNESSES`` (``POST <prefix>/add-checkpoint``, body built by
:func:`ledger.witness.format_add_checkpoint`) with a consistency proof from the
size that witness last cosigned (tracked in :class:`ledger.models.WitnessState`).
On "409 Conflict" the body (``text/x.tlog.size``) says which size the witness
really has: the log retries once with a proof from there. A cosignature that
verifies with the witness's vkey is stored as a :class:`ledger.models.Cosignature`
row, so ``/api/v1/ledger/checkpoint`` serves it.

Nothing here may break sealing: every failure is logged, recorded on the
witness's row and retried after a back-off (1, 2, 4 ... s, at most
``LEDGER_WITNESS_RETRY_MAX_S``) at a later seal.
"""

from __future__ import annotations

import base64
import logging
import re
import urllib.error
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Q
from django.utils import timezone

from ledger.cosignature import (
    CosignatureError,
    CosignatureV1Verifier,
    parse_cosignature,
    parse_witness_vkey,
    verify_cosignature,
)
from ledger.models import Checkpoint, Cosignature, WitnessState
from ledger.note import NoteError, split_note
from ledger.services import SealReport, checkpoint_latest, consistency_proof_for, log_seal
from ledger.witness import SIZE_CONTENT_TYPE, format_add_checkpoint

__all__ = [
    "PushOutcome",
    "WitnessEndpoint",
    "configured_witnesses",
    "log_seal_and_push",
    "parse_witnesses",
    "witness_push",
    "witnesses_due",
    "witnesses_push",
]

logger = logging.getLogger(__name__)

# "<vkey>=<url>": the vkey may in principle contain "=", the URL starts with a scheme.
_ENTRY_RE = re.compile(r"(?P<vkey>.+?)=(?P<url>https?://\S+)")
_SIZE_RE = re.compile(r"(0|[1-9][0-9]{0,18})\n?")
#: A witness answers a few signature lines; more is not a witness.
_MAX_RESPONSE_BYTES = 64 * 1024


@dataclass(frozen=True)
class WitnessEndpoint:
    """One configured witness: its cosignature/v1 vkey and submission URL prefix."""

    vkey: str
    url: str
    verifier: CosignatureV1Verifier

    @property
    def name(self) -> str:
        return self.verifier.name

    @property
    def add_checkpoint_url(self) -> str:
        return f"{self.url}/add-checkpoint"


def parse_witnesses(entries: Iterable[str]) -> tuple[WitnessEndpoint, ...]:
    """``LEDGER_WITNESSES`` entries, ``<witness vkey>=<http(s) URL prefix>``.
    Raises ImproperlyConfigured naming the bad entry."""
    endpoints: list[WitnessEndpoint] = []
    for entry in entries:
        match = _ENTRY_RE.fullmatch(entry.strip())
        if match is None:
            raise ImproperlyConfigured(
                f"LEDGER_WITNESSES entry {entry!r}: want <witness vkey>=<http(s) URL prefix>"
            )
        try:
            verifier = parse_witness_vkey(match["vkey"])
        except NoteError as exc:
            raise ImproperlyConfigured(f"LEDGER_WITNESSES entry {entry!r}: {exc}") from None
        endpoints.append(WitnessEndpoint(match["vkey"], match["url"].rstrip("/"), verifier))
    names = [endpoint.name for endpoint in endpoints]
    if len(set(names)) != len(names):
        # A checkpoint keeps one cosignature row per witness name.
        raise ImproperlyConfigured("LEDGER_WITNESSES names the same witness twice")
    return tuple(endpoints)


@lru_cache(maxsize=8)
def _parse_cached(entries: tuple[str, ...]) -> tuple[WitnessEndpoint, ...]:
    return parse_witnesses(entries)


def configured_witnesses() -> tuple[WitnessEndpoint, ...]:
    return _parse_cached(tuple(settings.LEDGER_WITNESSES))


@dataclass(frozen=True)
class PushOutcome:
    """What one push did. ``result`` is one of: cosigned, up-to-date, deferred
    (backing off after a failure), busy (another process is pushing to it),
    refused (the witness said no), unreachable, invalid (its answer did not verify)."""

    witness: str
    result: str
    size: int | None = None
    status: int | None = None
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.result in ("cosigned", "up-to-date")


class _Unreachable(Exception):
    pass


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    # A redirect would turn the POST into a GET; a witness never redirects.
    def redirect_request(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def _post(url: str, body: bytes, timeout: float) -> tuple[int, str, bytes]:
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "text/plain; charset=utf-8"}
    )
    try:
        with _opener.open(request, timeout=timeout) as response:
            return (
                response.status,
                response.headers.get_content_type(),
                response.read(_MAX_RESPONSE_BYTES),
            )
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.headers.get_content_type(), exc.read(_MAX_RESPONSE_BYTES)
    except (urllib.error.URLError, OSError, ValueError) as exc:  # refused, timeout, DNS, URL
        raise _Unreachable(str(getattr(exc, "reason", exc))) from None


def _cosigned_by(checkpoint: Checkpoint, endpoint: WitnessEndpoint) -> bool:
    """Whether a stored cosignature on ``checkpoint`` is by this witness key."""
    for line in Cosignature.objects.filter(
        checkpoint=checkpoint, witness=endpoint.name
    ).values_list("signature_line", flat=True):
        try:
            if parse_cosignature(line).key_hash == endpoint.verifier.key_hash:
                return True
        except CosignatureError:
            pass
    return False


def _state_for(endpoint: WitnessEndpoint) -> WitnessState:
    state, _ = WitnessState.objects.get_or_create(
        vkey=endpoint.vkey, defaults={"name": endpoint.name, "url": endpoint.url}
    )
    if state.url != endpoint.url or state.name != endpoint.name:
        state.url, state.name = endpoint.url, endpoint.name
        state.save(update_fields=["url", "name", "updated_at"])
    return state


def _claim(state: WitnessState, timeout: float) -> bool:
    """Take the witness's lease with one conditional UPDATE: no transaction
    stays open during the HTTP calls (on SQLite it would stop the sequencer)."""
    now = timezone.now()
    # Two requests at most, each bounded by the timeout, plus some slack.
    until = now + timedelta(seconds=3 * timeout + 5)
    claimed = (
        WitnessState.objects.filter(pk=state.pk)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .update(lease_until=until)
    )
    return claimed == 1


def witnesses_due() -> bool:
    """Whether some configured witness lacks a cosignature on the latest
    checkpoint and is not backing off: two small queries, run after every seal."""
    witnesses = configured_witnesses()
    latest = checkpoint_latest()
    if not witnesses or latest is None:
        return False
    now = timezone.now()
    waiting = set(
        WitnessState.objects.filter(next_attempt_at__gt=now).values_list("vkey", flat=True)
    )
    cosigned = set(latest.cosignatures.values_list("witness", flat=True))
    return any(w.name not in cosigned and w.vkey not in waiting for w in witnesses)


def witnesses_push(*, force: bool = False, timeout: float | None = None) -> list[PushOutcome]:
    """Push the latest checkpoint to every configured witness that has not
    cosigned it. ``force`` ignores the back-off. Never raises for a witness's
    failure: each outcome says what happened."""
    latest = checkpoint_latest()
    if latest is None:
        return []
    outcomes = []
    for endpoint in configured_witnesses():
        try:
            outcomes.append(witness_push(endpoint, latest, force=force, timeout=timeout))
        except Exception as exc:  # one broken witness must not stop the others
            logger.exception("witness %s: push failed", endpoint.name)
            outcomes.append(PushOutcome(endpoint.name, "invalid", latest.size, detail=str(exc)))
    return outcomes


def log_seal_and_push(*, batch_size: int) -> tuple[SealReport, list[PushOutcome]]:
    """Seal, then push the latest checkpoint to the witnesses and wait for
    their cosignatures: sealing by hand ends with a cosigned checkpoint.

    The Celery task queues the push instead, so that a slow witness never
    holds up the next seal. Nothing is pushed while another sequencer holds
    the log: it pushes what it seals.
    """
    report = log_seal(batch_size=batch_size)
    if report.busy:
        return report, []
    return report, witnesses_push()


def witness_push(
    endpoint: WitnessEndpoint,
    checkpoint: Checkpoint,
    *,
    force: bool = False,
    timeout: float | None = None,
) -> PushOutcome:
    """Get ``endpoint``'s cosignature on ``checkpoint`` (tlog-witness
    add-checkpoint) and store it. See the module docstring."""
    timeout = settings.LEDGER_WITNESS_TIMEOUT_S if timeout is None else timeout
    if _cosigned_by(checkpoint, endpoint):
        return PushOutcome(endpoint.name, "up-to-date", checkpoint.size)
    state = _state_for(endpoint)
    now = timezone.now()
    if not force and state.next_attempt_at is not None and state.next_attempt_at > now:
        return PushOutcome(endpoint.name, "deferred", checkpoint.size, detail=state.last_error)
    if not _claim(state, timeout):
        return PushOutcome(endpoint.name, "busy", checkpoint.size)
    # Stays the outcome if _exchange raises (a bug, a database error): the
    # lease is still released and the failure counted.
    outcome = PushOutcome(endpoint.name, "invalid", checkpoint.size, detail="push failed")
    known_size = state.size
    try:
        outcome, known_size = _exchange(endpoint, checkpoint, state.size, timeout)
    finally:
        _record(state, outcome, known_size)
    return outcome


def _exchange(
    endpoint: WitnessEndpoint, checkpoint: Checkpoint, known_size: int | None, timeout: float
) -> tuple[PushOutcome, int | None]:
    """The add-checkpoint request(s); returns the outcome and the size the
    witness is now known to have cosigned."""
    size = checkpoint.size
    old = known_size or 0
    if old > size:
        # We believed the witness had cosigned more than the log now holds:
        # only a log that lost or rewrote history explains that. Let the
        # witness say what it has (old 0 always gets its size back).
        logger.error(
            "witness %s: last cosigned size %d is larger than the log's latest %d",
            endpoint.name, old, size,
        )  # fmt: skip
        old = 0
    try:
        status, content_type, body = _send(endpoint, checkpoint, old, timeout)
        witness_size = _conflict_size(status, content_type, body)
        if witness_size is not None and witness_size != old and witness_size <= size:
            # Our record was stale (first contact, a lost answer): retry once
            # with a proof from the size the witness really has.
            old = witness_size
            status, content_type, body = _send(endpoint, checkpoint, old, timeout)
            witness_size = _conflict_size(status, content_type, body)
    except _Unreachable as exc:
        logger.warning(
            "witness %s: unreachable at %s (%s); retrying later", endpoint.name, endpoint.url, exc
        )
        return PushOutcome(endpoint.name, "unreachable", size, detail=str(exc)), known_size
    if status == 200:
        return _accept(endpoint, checkpoint, body), size
    detail = body.decode("utf-8", "replace").strip()[:500]
    if witness_size is not None:
        known_size = witness_size
        if witness_size > size:
            detail = (
                f"the witness cosigned size {witness_size}, more than the log's latest {size}: "
                "this log lost or rewrote history"
            )
        elif witness_size == size:
            detail = f"the witness holds another root hash at size {size}: the log forked"
    logger.error(
        "witness %s refused checkpoint %d (root %s) sent with old %d: %d %s",
        endpoint.name, size, _b64(checkpoint.root_hash), old, status, detail,
    )  # fmt: skip
    return PushOutcome(endpoint.name, "refused", size, status, detail), known_size


def _send(
    endpoint: WitnessEndpoint, checkpoint: Checkpoint, old: int, timeout: float
) -> tuple[int, str, bytes]:
    proof = consistency_proof_for(old, checkpoint.size)
    return _post(
        endpoint.add_checkpoint_url, format_add_checkpoint(old, proof, checkpoint.note), timeout
    )


def _conflict_size(status: int, content_type: str, body: bytes) -> int | None:
    """The witness's size from a 409 ``text/x.tlog.size`` body, else None."""
    if status != 409 or content_type != SIZE_CONTENT_TYPE:
        return None
    match = _SIZE_RE.fullmatch(body.decode("ascii", "replace"))
    return int(match.group(1)) if match else None


def _accept(endpoint: WitnessEndpoint, checkpoint: Checkpoint, body: bytes) -> PushOutcome:
    """Keep the first response line that is a valid cosignature by this
    witness's key; lines by other keys are ignored, as the spec requires."""
    text, _ = split_note(checkpoint.note)
    for line in body.decode("utf-8", "replace").splitlines():
        try:
            cosignature = verify_cosignature(text, line, endpoint.verifier)
        except CosignatureError:
            continue
        Cosignature.objects.update_or_create(
            checkpoint=checkpoint,
            witness=endpoint.name,
            defaults={"signature_line": cosignature.line},
        )
        logger.info("witness %s cosigned checkpoint %d", endpoint.name, checkpoint.size)
        return PushOutcome(endpoint.name, "cosigned", checkpoint.size, 200)
    logger.error(
        "witness %s answered 200 without a valid cosignature by %s on checkpoint %d",
        endpoint.name, endpoint.vkey, checkpoint.size,
    )  # fmt: skip
    return PushOutcome(endpoint.name, "invalid", checkpoint.size, 200, "no valid cosignature")


def _record(state: WitnessState, outcome: PushOutcome, known_size: int | None) -> None:
    """Store what the push taught us and release the lease, in one UPDATE."""
    now = timezone.now()
    fields: dict = {"lease_until": None, "size": known_size, "updated_at": now}
    if outcome.ok:
        fields.update(failures=0, last_error="", last_success_at=now, next_attempt_at=None)
    else:
        failures = state.failures + 1
        delay = min(float(settings.LEDGER_WITNESS_RETRY_MAX_S), 2.0 ** (failures - 1))
        fields.update(
            failures=failures,
            last_error=f"{outcome.result}: {outcome.detail}"[:2000],
            next_attempt_at=now + timedelta(seconds=delay),
        )
    WitnessState.objects.filter(pk=state.pk).update(**fields)


def _b64(raw: bytes) -> str:
    return base64.b64encode(bytes(raw)).decode("ascii")
