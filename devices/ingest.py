"""The ingest path shared by the MQTT bridge's Celery task and the HTTP API.

Stages, cheapest rejection first: size and JWS structure, device lookup,
signature (the dominant cost, done outside any transaction so workers verify
in parallel), payload schema and plausibility, then one short transaction that
locks the batch's devices, sorts out duplicates, equivocation and ordering,
and stores readings and rejections in bulk.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from devices.keys import key_window_problem
from devices.models import Device, DeviceKey, Reading, Rejection
from devices.signals import readings_stored
from devices.wire import (
    ReadingPayload,
    SignedMessage,
    WireError,
    decode_payload,
    device_from_topic,
    parse_compact,
    verify_signature,
)
from ledger.bulk import binary_cursor, insert_returning_ids, update_by_key
from ledger.services import entries_append

logger = logging.getLogger(__name__)

REJECTION_RAW_CAP = 4096
READING_ENTRY_KIND = "reading"
OPTIONAL_CHANNELS = (
    "ambient_c", "humidity_pct", "door_open", "lat", "lon", "reefer_on", "setpoint_c",
    "battery_pct",
)  # fmt: skip
READING_COLUMNS = (
    "device", "seq", "ts", "received_at", "temp_c", *OPTIONAL_CHANNELS, "jws", "signing_key",
    "stored_at", "ledger_entry",
)  # fmt: skip
SOURCE_MQTT = "mqtt"
SOURCE_HTTP = "http"


@dataclass(frozen=True)
class IncomingMessage:
    payload: bytes
    received_at: datetime
    source: str
    topic: str = ""


@dataclass
class Outcome:
    status: str  # accepted | duplicate | rejected
    reason: str = ""
    detail: str = ""
    device_id: str = ""
    seq: int | None = None
    reading_id: int | None = None


@dataclass
class IngestReport:
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def accepted(self) -> int:
        return sum(1 for outcome in self.outcomes if outcome.status == "accepted")

    @property
    def rejected_by_reason(self) -> Counter:
        return Counter(o.reason for o in self.outcomes if o.status != "accepted")


@dataclass(frozen=True)
class _Key:
    """One row of a device's key history, as ingest needs it."""

    id: int
    number: int
    public_key: bytes
    valid_from: datetime
    retired_at: datetime | None


@dataclass
class _Candidate:
    """A message that passed every check that needs no lock."""

    index: int
    message: IncomingMessage
    signed: SignedMessage
    reading: ReadingPayload
    key: _Key

    @property
    def token(self) -> bytes:
        """The JWS itself, without the whitespace a transport may add around it."""
        return self.message.payload.strip()


def readings_ingest(
    *, messages: list[IncomingMessage], in_transaction: Callable[[], None] | None = None
) -> IngestReport:
    """Verify, validate and store a batch of device messages; never raises on bad input.

    Idempotent: the same batch processed twice stores each reading once and
    reports the second copies as duplicates. ``in_transaction`` runs first in
    the storing transaction; what it raises rolls the batch back and propagates.
    """
    outcomes: list[Outcome | None] = [None] * len(messages)
    signed_messages: list[tuple[int, SignedMessage]] = []
    for index, message in enumerate(messages):
        try:
            signed_messages.append((index, parse_compact(message.payload)))
        except WireError as error:
            outcomes[index] = Outcome("rejected", error.reason, error.detail)

    kids = {signed.kid for _, signed in signed_messages}
    # One query for the batch: every key each device ever had, current first,
    # so late readings signed before a rotation still find their key.
    devices: dict[str, dict] = {}
    for row in (
        DeviceKey.objects.filter(device_id__in=kids)
        .order_by("device_id", "-number")
        .values(
            "device_id", "device__status", "id", "number", "public_key", "valid_from", "retired_at"
        )
    ):
        device = devices.setdefault(row["device_id"], {"status": row["device__status"], "keys": []})
        device["keys"].append(
            _Key(
                row["id"],
                row["number"],
                bytes(row["public_key"]),
                row["valid_from"],
                row["retired_at"],
            )
        )
    latest_allowed = timezone.now() + timedelta(seconds=settings.INGEST_MAX_FUTURE_SKEW_S)
    candidates: list[_Candidate] = []
    for index, signed in signed_messages:
        try:
            candidates.append(
                _Candidate(
                    index,
                    messages[index],
                    signed,
                    *_check_unlocked(messages[index], signed, devices, latest_allowed),
                )
            )
        except WireError as error:
            outcomes[index] = Outcome("rejected", error.reason, error.detail, device_id=signed.kid)

    for attempt in (1, 2):
        try:
            stored = _store(candidates, messages, outcomes, in_transaction)
            break
        except IntegrityError:
            # Another worker stored one of these readings between our check and
            # our insert (possible only without row locks, e.g. SQLite in a
            # non-immediate transaction); the second pass sees it as stored.
            if attempt == 2:
                raise
    report = IngestReport(outcomes=stored)
    if report.rejected_by_reason:
        logger.info(
            "ingest: %d accepted, rejected %s", report.accepted, dict(report.rejected_by_reason)
        )
    return report


def _check_unlocked(
    message: IncomingMessage, signed: SignedMessage, devices: dict, latest_allowed: datetime
) -> tuple[ReadingPayload, _Key]:
    device = devices.get(signed.kid)
    if device is None:
        raise WireError("unknown_device", f"no device registered as {signed.kid}")
    if device["status"] == Device.Status.REVOKED:
        raise WireError("revoked_device", f"device {signed.kid} is revoked")
    key = _verifying_key(signed, device["keys"])
    reading = decode_payload(signed.payload)
    problem = key_window_problem(signed.kid, key.number, key.valid_from, key.retired_at, reading.ts)
    if problem:
        raise WireError("bad_signature", problem)
    if reading.device != signed.kid:
        raise WireError(
            "device_mismatch", f"payload device {reading.device} is not kid {signed.kid}"
        )
    if message.topic and device_from_topic(message.topic) != signed.kid:
        raise WireError("device_mismatch", f"topic {message.topic} is not {signed.kid}'s topic")
    if reading.ts > latest_allowed:
        raise WireError(
            "future_timestamp",
            f"ts {reading.ts.isoformat()} is more than "
            f"{settings.INGEST_MAX_FUTURE_SKEW_S:.0f} s ahead of the platform clock",
        )
    return reading, key


def _verifying_key(signed: SignedMessage, keys: list[_Key]) -> _Key:
    """The key of the device's history whose signature verifies, current key first.

    Only readings signed with a retired key (or forged ones) cost a second verify.
    """
    for key in keys:
        try:
            verify_signature(signed, key.public_key)
        except WireError:
            continue
        return key
    raise WireError(
        "bad_signature",
        f"signature does not verify with any of {signed.kid}'s keys"
        if len(keys) > 1
        else f"signature does not verify with {signed.kid}'s key",
    )


def _store(
    candidates: list[_Candidate],
    messages: list[IncomingMessage],
    early_outcomes: list[Outcome | None],
    in_transaction: Callable[[], None] | None,
) -> list[Outcome]:
    outcomes = list(early_outcomes)
    with transaction.atomic():
        if in_transaction is not None:
            in_transaction()
        device_ids = sorted({c.signed.kid for c in candidates})
        # Row locks in id order: concurrent batches touching the same devices
        # queue up instead of deadlocking, and a revocation committed before
        # we lock is seen here.
        locked = {
            device.id: device
            for device in Device.objects.select_for_update()
            .filter(pk__in=device_ids)
            .order_by("pk")
        }
        existing = _existing_readings(candidates)
        neighbours = _stored_neighbours(
            [
                (c.signed.kid, c.reading.seq)
                for c in candidates
                if locked[c.signed.kid].last_seq is not None
                and c.reading.seq <= locked[c.signed.kid].last_seq
            ]
        )
        retired = _keys_retired_meanwhile(candidates, locked)
        new_readings: list[tuple] = []
        accepted_candidates: list[_Candidate] = []
        conflicts: dict[int, int] = {}
        candidates_by_device: dict[str, list[_Candidate]] = {}
        for candidate in sorted(candidates, key=lambda c: (c.signed.kid, c.reading.seq)):
            candidates_by_device.setdefault(candidate.signed.kid, []).append(candidate)

        for device_id, device_candidates in candidates_by_device.items():
            device = locked[device_id]
            in_batch: dict[int, bytes] = {}
            for candidate in device_candidates:
                outcome = _classify(
                    candidate, device, existing, neighbours, retired, in_batch, conflicts
                )
                if outcome is not None:
                    outcomes[candidate.index] = outcome
                    continue
                in_batch[candidate.reading.seq] = candidate.token
                accepted_candidates.append(candidate)
                new_readings.append(_reading_row(candidate))
                _advance_device(device, candidate)

        # The reading and its ledger entry commit together or not at all.
        entry_ids = entries_append(
            items=[(candidate.token, READING_ENTRY_KIND) for candidate in accepted_candidates]
        )
        now = timezone.now()
        reading_ids = insert_returning_ids(
            Reading,
            READING_COLUMNS,
            [(*row, now, entry_id) for row, entry_id in zip(new_readings, entry_ids, strict=True)],
        )
        for candidate, reading_id in zip(accepted_candidates, reading_ids, strict=True):
            outcomes[candidate.index] = Outcome(
                "accepted",
                device_id=candidate.signed.kid,
                seq=candidate.reading.seq,
                reading_id=reading_id,
            )
        if accepted_candidates:
            ranges = _device_ranges(accepted_candidates)
            transaction.on_commit(lambda: _announce(ranges))
        touched = [locked[device_id] for device_id in candidates_by_device]
        update_by_key(Device, ("last_seq", "last_reading_ts", "last_seen"), touched)
        Rejection.objects.bulk_create(
            [
                _rejection_row(messages[index], outcome, conflicts.get(index))
                for index, outcome in enumerate(outcomes)
                if outcome is not None and outcome.status != "accepted"
            ],
            batch_size=1000,
        )
    return [outcome for outcome in outcomes if outcome is not None]


def _device_ranges(candidates: list[_Candidate]) -> dict[str, tuple[datetime, datetime]]:
    ranges: dict[str, tuple[datetime, datetime]] = {}
    for candidate in candidates:
        ts = candidate.reading.ts
        first, last = ranges.get(candidate.signed.kid, (ts, ts))
        ranges[candidate.signed.kid] = (min(first, ts), max(last, ts))
    return ranges


def _announce(ranges: dict[str, tuple[datetime, datetime]]) -> None:
    # The readings are stored: a failing receiver must not fail (and so
    # retry) the ingest, only be logged.
    for receiver, result in readings_stored.send_robust(sender=Reading, device_ranges=ranges):
        if isinstance(result, Exception):
            logger.error("readings_stored receiver %r failed", receiver, exc_info=result)


def _existing_readings(candidates: list[_Candidate]) -> dict[tuple[str, int], tuple[int, bytes]]:
    if not candidates:
        return {}
    wanted = {(c.signed.kid, c.reading.seq) for c in candidates}
    if connection.vendor == "postgresql":
        # Exact (device, seq) pairs: "device IN (..) AND seq IN (..)" matches a
        # cross product that grows when the fleet's seq numbers differ.
        with binary_cursor() as cursor:
            cursor.execute(
                "SELECT r.device_id, r.seq, r.id, r.jws FROM devices_reading r"
                " JOIN unnest(%b::varchar[], %b::bigint[]) AS w(device_id, seq)"
                " ON r.device_id = w.device_id AND r.seq = w.seq",
                [[kid for kid, _ in wanted], [seq for _, seq in wanted]],
            )
            rows = cursor.fetchall()
    else:
        rows = Reading.objects.filter(
            device_id__in={kid for kid, _ in wanted}, seq__in={seq for _, seq in wanted}
        ).values_list("device_id", "seq", "id", "jws")
    return {(d, s): (pk, bytes(jws)) for d, s, pk, jws in rows if (d, s) in wanted}


def _keys_retired_meanwhile(
    candidates: list[_Candidate], locked: dict[str, Device]
) -> dict[int, datetime]:
    """Retirement times of keys that were current when checked, but that a
    rotation committed since replaced (seen under the device lock); usually
    none, and then no query."""
    stale = {
        c.key.id
        for c in candidates
        if c.key.retired_at is None and bytes(locked[c.signed.kid].public_key) != c.key.public_key
    }
    if not stale:
        return {}
    return dict(DeviceKey.objects.filter(pk__in=stale).values_list("id", "retired_at"))


def _classify(
    candidate: _Candidate,
    device: Device,
    existing: dict[tuple[str, int], tuple[int, bytes]],
    neighbours: dict[tuple[str, int], _Neighbours],
    retired: dict[int, datetime],
    in_batch: dict[int, bytes],
    conflicts: dict[int, int],
) -> Outcome | None:
    """None when the candidate is to be stored, else why it is not."""
    kid, seq = candidate.signed.kid, candidate.reading.seq
    if device.status == Device.Status.REVOKED:
        return Outcome("rejected", "revoked_device", f"device {kid} is revoked", kid, seq)
    if candidate.key.id in retired:
        key = candidate.key
        problem = key_window_problem(
            kid, key.number, key.valid_from, retired[key.id], candidate.reading.ts
        )
        if problem:
            return Outcome("rejected", "bad_signature", problem, kid, seq)
    stored = existing.get((kid, seq))
    earlier_bytes = stored[1] if stored else in_batch.get(seq)
    if earlier_bytes is not None:
        if earlier_bytes == candidate.token:
            return Outcome("duplicate", "duplicate", f"{kid}#{seq} already stored", kid, seq)
        if stored:
            conflicts[candidate.index] = stored[0]
        return Outcome(
            "rejected",
            "equivocation",
            f"{kid}#{seq} already stored with other bytes: the device signed two readings "
            "for one seq",
            kid,
            seq,
        )
    problem = _ordering_problem(candidate, device, neighbours)
    if problem:
        return Outcome("rejected", "seq_not_increasing", problem, kid, seq)
    return None


_SeqTs = tuple[int, datetime]
_Neighbours = tuple[_SeqTs | None, _SeqTs | None]


def _stored_neighbours(late: list[tuple[str, int]]) -> dict[tuple[str, int], _Neighbours]:
    """For each (device, seq) arriving late, the stored readings just before and
    after it, in one query: late readings come in whole batches when two
    workers commit out of order, and two queries each made that path 5x slower."""
    if not late:
        return {}
    if connection.vendor != "postgresql":
        return {key: _stored_neighbours_of(*key) for key in late}
    with binary_cursor() as cursor:
        cursor.execute(
            "SELECT w.device_id, w.seq, b.seq, b.ts, a.seq, a.ts"
            " FROM unnest(%b::varchar[], %b::bigint[]) AS w(device_id, seq)"
            " LEFT JOIN LATERAL (SELECT seq, ts FROM devices_reading r"
            "   WHERE r.device_id = w.device_id AND r.seq < w.seq"
            "   ORDER BY r.seq DESC LIMIT 1) b ON true"
            " LEFT JOIN LATERAL (SELECT seq, ts FROM devices_reading r"
            "   WHERE r.device_id = w.device_id AND r.seq > w.seq"
            "   ORDER BY r.seq LIMIT 1) a ON true",
            [[kid for kid, _ in late], [seq for _, seq in late]],
        )
        return {
            (kid, seq): (
                (before_seq, before_ts) if before_seq is not None else None,
                (after_seq, after_ts) if after_seq is not None else None,
            )
            for kid, seq, before_seq, before_ts, after_seq, after_ts in cursor.fetchall()
        }


def _stored_neighbours_of(device_id: str, seq: int) -> _Neighbours:
    readings = Reading.objects.filter(device_id=device_id)
    before = readings.filter(seq__lt=seq).order_by("-seq").values_list("seq", "ts").first()
    after = readings.filter(seq__gt=seq).order_by("seq").values_list("seq", "ts").first()
    return before, after


def _ordering_problem(
    candidate: _Candidate, device: Device, neighbours: dict[tuple[str, int], _Neighbours]
) -> str:
    """Seq must increase with ts: a reading fits between its stored neighbours.

    Readings delivered late (store-and-forward, parallel workers) are accepted
    as long as their ts lies between the readings before and after them.
    """
    seq, ts = candidate.reading.seq, candidate.reading.ts
    if device.last_seq is None or seq > device.last_seq:
        if device.last_reading_ts is not None and ts < device.last_reading_ts:
            return (
                f"seq {seq} follows seq {device.last_seq} but its ts {ts.isoformat()} is "
                f"earlier than {device.last_reading_ts.isoformat()}"
            )
        return ""
    before, after = neighbours[(device.pk, seq)]
    if before and ts < before[1]:
        return f"seq {seq} is after seq {before[0]} but its ts is earlier"
    if after and ts > after[1]:
        return f"seq {seq} is before seq {after[0]} but its ts is later"
    return ""


def _advance_device(device: Device, candidate: _Candidate) -> None:
    reading = candidate.reading
    if device.last_seq is None or reading.seq > device.last_seq:
        device.last_seq = reading.seq
        device.last_reading_ts = reading.ts
    if device.last_seen is None or candidate.message.received_at > device.last_seen:
        device.last_seen = candidate.message.received_at


def _reading_row(candidate: _Candidate) -> tuple:
    """The values of READING_COLUMNS known before insertion."""
    reading = candidate.reading
    return (
        candidate.signed.kid,
        reading.seq,
        reading.ts,
        candidate.message.received_at,
        reading.temp_c,
        *(getattr(reading, name) for name in OPTIONAL_CHANNELS),
        candidate.token,
        candidate.key.id,
    )


def _storable_text(text: str, limit: int) -> str:
    """Text fields cannot hold NUL (PostgreSQL); an attacker's topic or key may."""
    return text.replace("\x00", "\\x00")[:limit]


def _rejection_row(
    message: IncomingMessage, outcome: Outcome, conflict_id: int | None
) -> Rejection:
    return Rejection(
        reason=outcome.reason,
        detail=_storable_text(outcome.detail, 300),
        received_at=message.received_at,
        source=message.source,
        topic=_storable_text(message.topic, 200),
        device_id=outcome.device_id[:64],
        seq=outcome.seq,
        raw=message.payload[:REJECTION_RAW_CAP],
        raw_size=len(message.payload),
        raw_sha256=hashlib.sha256(message.payload).hexdigest(),
        security_event=outcome.reason in Rejection.SECURITY_REASONS,
        conflicting_reading_id=conflict_id,
    )
