"""Offline verifier of coldchain evidence bundles: ``python -m ledger.verify BUNDLE``.

An evidence bundle (written by ``manage.py export_evidence``, built by
:mod:`ledger.evidence`, schema in ``docs/ledger.md``) holds log entries, an
inclusion proof for each against one signed checkpoint, that checkpoint as the
log serves it (a C2SP signed note with witness cosignatures), the log's
verifier key and the keys of the devices that signed the entries, each with the
index of its registration entry (itself in the bundle, with its own proof).

This module checks all of it and says in plain words what it proved. It needs
no Django, no database and no network: it imports only the standard library,
``cryptography`` and the ledger's pure modules (:mod:`ledger.merkle`,
:mod:`ledger.note`, :mod:`ledger.checkpoint`, :mod:`ledger.cosignature`,
:mod:`ledger.tlog_proof`). Copy those six files with the empty
``ledger/__init__.py`` next to any Python 3.11 with ``cryptography`` installed
and it runs. JWS entries are parsed here with the standard ``json`` module
(``ledger.jws`` uses orjson), by the same rules as ``ledger.jws``.

Exit status: 0 if everything verified, 1 if anything failed, 2 if the command
line or the bundle file cannot be used at all.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import contextlib
import hashlib
import json
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ledger import merkle
from ledger.checkpoint import Checkpoint, CheckpointError, parse_checkpoint
from ledger.cosignature import (
    CosignatureError,
    CosignatureV1Verifier,
    parse_cosignature,
    parse_witness_vkey,
)
from ledger.note import (
    Ed25519Verifier,
    InvalidSignatureError,
    Note,
    NoteError,
    UnknownAlgorithmError,
    UnverifiedNoteError,
    decode_base64,
    new_verifier,
    open_note,
)
from ledger.tlog_proof import TlogProofError, parse_tlog_proof, verify_tlog_proof

__all__ = [
    "BUNDLE_FORMAT",
    "Finding",
    "Jws",
    "JwsFormatError",
    "Report",
    "load_bundle",
    "main",
    "parse_jws",
    "parse_timestamp",
    "verify_bundle",
]

#: The ``format`` member of every bundle this verifier understands.
BUNDLE_FORMAT = "coldchain-evidence/v1"

_TYP_PREFIX = "coldchain."
_TYP_SUFFIX = "+jws"
_REGISTERED_KIND = "device.registered"
_ROTATED_KIND = "device.key-rotated"
_REVOKED_KIND = "device.revoked"
# A device's rotation request (devices.keys.ROTATION_REQUEST_TYP): its own typ, so
# that a request can never pass for a reading although the same key signs both.
_REQUEST_TYP = "coldchain.device-key-rotation-request+jws"
_B64URL_RE = re.compile(rb"[A-Za-z0-9_-]*")
# Ingest's grammar for a signed time, devices.wire.TIMESTAMP_PATTERN, copied
# character for character: the verifier ships as the ledger files alone and
# cannot import devices (a test holds the two to the same answers).
_TIMESTAMP_RE = re.compile(
    r"^([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]{1,9})?([Zz]|\+00:00)\Z"
)


# --------------------------------------------------------------------------- report


@dataclass(frozen=True)
class Finding:
    """One statement of the report. ``status`` is ``ok`` (proved), ``note``
    (information, proves nothing), ``warning`` (verified, but read the caveat)
    or ``fail`` (did not verify)."""

    status: str
    text: str


_LABELS = {"ok": "OK  ", "note": "    ", "warning": "WARN", "fail": "FAIL"}


@dataclass
class Report:
    """What the verifier proved, and what it could not."""

    findings: list[Finding] = field(default_factory=list)
    summary: str = ""

    def add(self, status: str, text: str) -> None:
        self.findings.append(Finding(status, text))

    @property
    def failures(self) -> list[str]:
        return [f.text for f in self.findings if f.status == "fail"]

    @property
    def verified(self) -> bool:
        return not self.failures

    def render(self) -> str:
        lines = [f"{_LABELS[f.status]} {f.text}" for f in self.findings]
        if self.summary:
            lines += ["", self.summary]
        return "\n".join(lines) + "\n"


class _Stop(Exception):
    """A failure after which nothing else can be checked (already reported)."""


# --------------------------------------------------------------------------- encodings


def _b64(value: object, what: str) -> bytes:
    if not isinstance(value, str):
        raise ValueError(f"{what} is not a base64 string")
    try:
        return decode_base64(value, canonical=True)
    except ValueError:
        raise ValueError(f"{what} is not canonical standard base64") from None


def _b64_text(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _b64url_decode(segment: bytes) -> bytes:
    """Strict unpadded base64url (RFC 7515 section 2), as ``ledger.jws``."""
    if _B64URL_RE.fullmatch(segment) is None or len(segment) % 4 == 1:
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(segment + b"=" * (-len(segment) % 4))


def _b64url_encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _is_index(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


# --------------------------------------------------------------------------- JWS


class JwsFormatError(ValueError):
    """An entry is not a compact JWS the log accepts (same rules as ``ledger.jws``)."""


@dataclass(frozen=True)
class Jws:
    """A compact JWS split into its parts; the signature is not checked yet."""

    header: dict
    kid: str
    payload: bytes
    signing_input: bytes
    signature: bytes

    def verifies_with(self, public_key: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(public_key).verify(
                self.signature, self.signing_input
            )
        except (InvalidSignature, ValueError):
            return False
        return True


def parse_jws(token: bytes) -> Jws:
    """Split a compact JWS (RFC 7515) with ``alg`` EdDSA (RFC 8037), with the
    standard library only; the rules of :func:`ledger.jws.parse_compact`."""
    parts = token.strip().split(b".")
    if len(parts) != 3:
        raise JwsFormatError(f"{len(parts)} dot-separated parts, want 3")
    header_segment, payload_segment, signature_segment = parts
    try:
        header_bytes = _b64url_decode(header_segment)
        payload = _b64url_decode(payload_segment)
        signature = _b64url_decode(signature_segment)
    except (ValueError, binascii.Error):
        raise JwsFormatError("a part is not unpadded base64url") from None
    try:
        header = json.loads(header_bytes.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise JwsFormatError("the protected header is not JSON") from None
    if not isinstance(header, dict):
        raise JwsFormatError("the protected header is not a JSON object")
    if header.get("alg") != "EdDSA":
        raise JwsFormatError(f"alg {header.get('alg')!r}, only 'EdDSA' is accepted")
    if "crit" in header or header.get("b64", True) is not True:
        raise JwsFormatError("crit and unencoded payloads are not supported")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise JwsFormatError("kid must be a non-empty string")
    if len(signature) != 64:
        raise JwsFormatError(f"the Ed25519 signature is {len(signature)} bytes, want 64")
    return Jws(header, kid, payload, header_segment + b"." + payload_segment, signature)


def _json_object(payload: bytes) -> dict | None:
    try:
        value = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


# --------------------------------------------------------------------------- entries


@dataclass
class _Entry:
    index: int
    role: str
    kind: str
    data: bytes
    leaf: bytes
    included: bool = False
    jws: Jws | None = None
    claims: dict | None = None  # platform entries whose log signature verified
    payload: dict | None = None  # device-signed entries: the JSON payload, if any
    problems: int = 0


@dataclass
class _Key:
    kid: str
    public_key: bytes
    fingerprint: str
    registered_in: int | None
    revoked_in: int | None
    number: int = 1
    rotated_in: list[int] = field(default_factory=list)  # rotations to keys #2 .. #number
    retired_in: int | None = None
    problem: str | None = None
    revocation: str = ""
    valid_from: datetime | None = None  # keys after #1: the rotation's signed time
    retired_at: datetime | None = None  # the signed time of the rotation that retired it
    retirement: str = ""

    @property
    def established_in(self) -> int | None:
        return self.rotated_in[-1] if self.rotated_in else self.registered_in

    @property
    def name(self) -> str:
        return f"key #{self.number} of {self.kid}"


def parse_timestamp(value: str) -> datetime:
    """An RFC 3339 UTC time read exactly as ingest reads a device's ``ts``
    (``devices.wire.parse_timestamp``): ``T``/``t``, ``Z``/``z`` or ``+00:00``,
    up to nine fraction digits (kept to the microsecond), a leap second 60 read
    as 59. A reading the platform accepted must not fail here for its grammar
    alone. Raises ``ValueError``."""
    match = _TIMESTAMP_RE.match(value)
    if not match:
        raise ValueError("not an RFC 3339 UTC timestamp")
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    fraction = match.group(7)
    microsecond = int((fraction[1:] + "000000")[:6]) if fraction else 0
    return datetime(year, month, day, hour, minute, min(second, 59), microsecond, tzinfo=UTC)


def _moment(value: object) -> datetime | None:
    """A time as signed by a device (``ts``) or the platform (``at``, which it
    writes in the same grammar), or None."""
    if not isinstance(value, str):
        return None
    try:
        return parse_timestamp(value)
    except ValueError:
        return None


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _describe_reading(payload: dict | None) -> str | None:
    if not payload or not all(k in payload for k in ("device", "seq", "ts", "temp_c")):
        return None
    temp = payload["temp_c"]
    shown = f"{temp:g}" if isinstance(temp, int | float) and not isinstance(temp, bool) else temp
    return f"reading {payload['device']} #{payload['seq']}, {shown} °C at {payload['ts']}"


def _claimed_fingerprint(claims: dict) -> str | None:
    """The hex SHA-256 of the key a registration's or rotation's ``public_key`` names."""
    try:
        raw = _b64url_decode(str(claims["public_key"]).encode("ascii"))
    except (KeyError, ValueError, UnicodeEncodeError, binascii.Error):
        return None
    return hashlib.sha256(raw).hexdigest()


def _request_problem(request: object, *, device: str, previous_key: bytes, new_key: str) -> str:
    """Why a rotation's ``request`` is not ``device``'s previous key asking for
    exactly ``new_key`` (base64url, as the rotation names it), or ''. The rules of
    ``devices.keys.rotation_request_check``, which ingest applied before logging."""
    if not isinstance(request, str):
        return "it is not a compact JWS"
    try:
        jws = parse_jws(request.encode("ascii"))
    except (UnicodeEncodeError, JwsFormatError) as error:
        return f"it is not a compact JWS: {error}"
    if not jws.verifies_with(previous_key):
        return "it is not signed by the key the rotation retires"
    claims = _json_object(jws.payload)
    if claims is None or jws.header.get("typ") != _REQUEST_TYP:
        return f"its typ is not {_REQUEST_TYP} with a JSON object payload"
    if jws.kid != device or claims.get("device") != device:
        return f"it is not about {device}"
    if claims.get("public_key") != new_key:
        return "it asks for another key than the one the rotation installs"
    return ""


def _claimed_key(claims: dict) -> str:
    fingerprint = _claimed_fingerprint(claims)
    return f"key SHA-256 {fingerprint}" if fingerprint else "an unreadable key"


def _describe_platform(claims: dict) -> str:
    kind = str(claims.get("kind"))
    details = []
    if "device" in claims:
        details.append(f"device {claims['device']}")
    if "public_key" in claims:
        details.append(_claimed_key(claims))
    if "at" in claims:
        details.append(f"at {claims['at']}")
    return f"{kind}: {', '.join(details)}" if details else kind


# --------------------------------------------------------------------------- verifier


class _Verifier:
    def __init__(
        self,
        bundle: object,
        log_vkey: str | None,
        witness_vkeys: Sequence[str],
        quorum: int | None,
        report: Report,
    ) -> None:
        self.bundle = bundle
        self.log_vkey = log_vkey
        self.witness_vkeys = list(witness_vkeys)
        self.quorum = quorum
        self.report = report
        self.entries: dict[int, _Entry] = {}
        self.keys: dict[str, list[_Key]] = {}
        self.tlog_proofs_checked = 0
        self.source = "the key in the bundle"

    # -- helpers
    def ok(self, text: str) -> None:
        self.report.add("ok", text)

    def note(self, text: str) -> None:
        self.report.add("note", text)

    def warn(self, text: str) -> None:
        self.report.add("warning", text)

    def fail(self, text: str, entry: _Entry | None = None) -> None:
        self.report.add("fail", text)
        if entry is not None:
            entry.problems += 1

    def stop(self, text: str) -> _Stop:
        self.fail(text)
        return _Stop(text)

    # -- steps
    def run(self) -> None:
        bundle = self._structure()
        log = self._log_key(bundle["log"])
        witnesses, quorum = self._witnesses()
        checkpoint, note = self._checkpoint(bundle["checkpoint"], log, witnesses, quorum)
        self._entries(bundle["entries"], checkpoint, note, log, witnesses, quorum)
        self._keys(bundle.get("keys", []))
        self._signatures(log)
        self._summary(checkpoint)

    def _structure(self) -> dict:
        bundle = self.bundle
        if not isinstance(bundle, dict):
            raise self.stop("the bundle is not a JSON object")
        if bundle.get("format") != BUNDLE_FORMAT:
            raise self.stop(
                f"the bundle's format is {bundle.get('format')!r}; this verifier reads "
                f"{BUNDLE_FORMAT!r}"
            )
        for name, kind in (("log", dict), ("checkpoint", dict), ("entries", list)):
            if not isinstance(bundle.get(name), kind):
                raise self.stop(f"the bundle has no valid {name!r} member")
        if not isinstance(bundle.get("keys", []), list):
            raise self.stop("the bundle's 'keys' member is not a list")
        created = bundle.get("created_at")
        self.note(
            f"evidence bundle {BUNDLE_FORMAT}"
            + (f", exported {created}" if isinstance(created, str) else "")
            + f", {len(bundle['entries'])} entries"
        )
        return bundle

    def _log_key(self, log: dict) -> Ed25519Verifier:
        in_bundle = log.get("vkey")
        bundle_verifier = None
        if not isinstance(in_bundle, str):
            if self.log_vkey is None:
                raise self.stop("the bundle holds no log key and you supplied none (--log-vkey)")
            self.fail("the bundle's log.vkey is missing or not a string")
        else:
            try:
                bundle_verifier = new_verifier(in_bundle.strip())
            except NoteError as error:
                if self.log_vkey is None:
                    raise self.stop(f"the bundle's log key is not a valid vkey: {error}") from None
                self.fail(f"the bundle's log key is not a valid vkey: {error}")
        if self.log_vkey is not None:
            try:
                verifier = new_verifier(self.log_vkey.strip())
            except NoteError as error:
                raise self.stop(
                    f"the log key you supplied is not a valid Ed25519 vkey: {error}"
                ) from None
            self.source = "the key you supplied"
            if bundle_verifier is not None and bundle_verifier.vkey != verifier.vkey:
                self.fail(
                    f"the bundle names the log key {bundle_verifier.vkey}, but you supplied "
                    f"{verifier.vkey}: this bundle claims another log key"
                )
            return verifier
        if bundle_verifier is None:
            raise self.stop("the bundle holds no log key and you supplied none (--log-vkey)")
        self.source = "the key in the bundle"
        self.warn(
            f"you did not supply the log's key (--log-vkey), so the key in the bundle "
            f"({bundle_verifier.vkey}) is trusted. That proves only that the bundle is "
            "consistent with itself, not that the coldchain log signed it: get the log's "
            "key independently (GET /api/v1/ledger/vkey, a witness, or a party you trust) "
            "and run again with --log-vkey"
        )
        return bundle_verifier

    def _witnesses(self) -> tuple[list[CosignatureV1Verifier], int]:
        witnesses: list[CosignatureV1Verifier] = []
        for vkey in self.witness_vkeys:
            try:
                witnesses.append(parse_witness_vkey(vkey.strip()))
            except UnknownAlgorithmError:
                raise self.stop(
                    f"witness key {vkey.strip()[:60]!r} is not a cosignature/v1 (type 0x04) "
                    "vkey; C2SP witnesses sign with type 0x04 keys"
                ) from None
            except NoteError as error:
                raise self.stop(
                    f"witness key {vkey.strip()[:60]!r} is not a vkey: {error}"
                ) from None
        quorum = len(witnesses) if self.quorum is None else self.quorum
        if quorum < 0:
            raise self.stop("the quorum cannot be negative")
        if quorum > len(witnesses):
            raise self.stop(
                f"a quorum of {quorum} needs at least {quorum} witness keys (--witness-vkey), "
                f"you supplied {len(witnesses)}"
            )
        return witnesses, quorum

    def _checkpoint(
        self,
        section: dict,
        log: Ed25519Verifier,
        witnesses: list[CosignatureV1Verifier],
        quorum: int,
    ) -> tuple[Checkpoint, Note]:
        signed = section.get("signed_note")
        if not isinstance(signed, str):
            raise self.stop("the bundle's checkpoint has no signed_note text")
        log_id = f"{log.name}+{log.key_hash:08x}"
        try:
            note = open_note(signed, [log, *witnesses])
        except UnverifiedNoteError as error:
            names = ", ".join(f"{s.name}+{s.key_hash:08x}" for s in error.note.unverified_sigs)
            raise self.stop(
                f"the checkpoint is not signed by the log key {log_id} ({self.source}); "
                f"it carries signatures by {names or 'no one'} only"
            ) from None
        except InvalidSignatureError as error:
            if (error.name, error.key_hash) == (log.name, log.key_hash):
                raise self.stop(
                    f"the log's signature on the checkpoint does not verify with {log_id}: "
                    "the checkpoint text was changed after signing, or the signature is forged"
                ) from None
            raise self.stop(
                f"the cosignature of witness {error.name}+{error.key_hash:08x} on the "
                "checkpoint does not verify: the checkpoint or the cosignature was changed"
            ) from None
        except NoteError as error:
            raise self.stop(f"the checkpoint is not a well-formed signed note: {error}") from None
        signed_by = {(s.name, s.key_hash) for s in note.sigs}
        if (log.name, log.key_hash) not in signed_by:
            raise self.stop(
                f"the checkpoint is not signed by the log key {log_id} ({self.source}); "
                "only by witnesses"
            )
        try:
            checkpoint = parse_checkpoint(note.text)
        except CheckpointError as error:
            raise self.stop(f"the signed note is not a checkpoint: {error}") from None
        if checkpoint.origin != log.name:
            raise self.stop(
                f"the checkpoint is for the log {checkpoint.origin!r}, but the log key is "
                f"named {log.name!r}"
            )
        if section.get("size", checkpoint.size) != checkpoint.size:
            self.fail(
                f"the bundle's checkpoint.size says {section.get('size')!r}, but the signed "
                f"checkpoint is for size {checkpoint.size}"
            )
        if section.get("root_hash", _b64_text(checkpoint.root_hash)) != _b64_text(
            checkpoint.root_hash
        ):
            self.fail(
                f"the bundle's checkpoint.root_hash says {section.get('root_hash')!r}, but the "
                f"signed checkpoint has root {_b64_text(checkpoint.root_hash)}"
            )
        self.ok(
            f"checkpoint {checkpoint.origin} size {checkpoint.size} (root hash "
            f"{_b64_text(checkpoint.root_hash)}) is signed by the log key {log_id} ({self.source})"
        )
        self._cosignatures(note, witnesses, quorum)
        return checkpoint, note

    def _cosignatures(
        self, note: Note, witnesses: list[CosignatureV1Verifier], quorum: int
    ) -> None:
        verified = {(s.name, s.key_hash): s for s in note.sigs}
        cosigned, missing = [], []
        for witness in witnesses:
            sig = verified.get((witness.name, witness.key_hash))
            label = f"{witness.name}+{witness.key_hash:08x}"
            if sig is None:
                missing.append(label)
                continue
            try:
                when = datetime.fromtimestamp(parse_cosignature(sig).timestamp, UTC)
                cosigned.append(f"{label} at {when.isoformat().replace('+00:00', 'Z')}")
            except (CosignatureError, OverflowError, ValueError, OSError):
                cosigned.append(label)
        if witnesses:
            if cosigned:
                self.ok(
                    f"cosigned by {len(cosigned)} of the {len(witnesses)} witnesses you "
                    f"supplied: {'; '.join(cosigned)}"
                )
            if len(cosigned) < quorum:
                self.fail(
                    f"only {len(cosigned)} of the witnesses you supplied cosigned the checkpoint, "
                    f"the quorum is {quorum}; no cosignature by {', '.join(missing)}"
                )
            elif missing:
                self.note(f"no cosignature by {', '.join(missing)} (quorum {quorum} is met)")
        others = [f"{s.name}+{s.key_hash:08x}" for s in note.unverified_sigs]
        if others:
            self.note(
                f"the checkpoint carries {len(others)} further signature line(s) by "
                f"{', '.join(others)}; not checked (supply witness keys with --witness-vkey)"
            )
        elif not witnesses:
            self.note(
                "the checkpoint carries no witness cosignatures: nothing independent shows "
                "that the log showed this same checkpoint to everyone"
            )

    def _entries(
        self,
        items: list,
        checkpoint: Checkpoint,
        note: Note,
        log: Ed25519Verifier,
        witnesses: list[CosignatureV1Verifier],
        quorum: int,
    ) -> None:
        if not items:
            self.fail("the bundle holds no entries")
        signed_note = self.bundle["checkpoint"]["signed_note"]  # type: ignore[index]
        for position, item in enumerate(items):
            entry = self._entry_fields(position, item)
            if entry is None:
                continue
            if entry.index in self.entries:
                self.fail(f"entry {entry.index} appears twice in the bundle")
                continue
            self.entries[entry.index] = entry
            self._inclusion(entry, item, checkpoint)
            tlog_proof = item.get("tlog_proof")
            if tlog_proof is not None:
                self._tlog_proof(entry, tlog_proof, signed_note, log, witnesses, quorum)
            self._parse(entry, log)

    def _entry_fields(self, position: int, item: object) -> _Entry | None:
        where = f"bundle entry #{position + 1}"
        if not isinstance(item, dict) or not _is_index(item.get("index")):
            self.fail(f"{where} has no valid index")
            return None
        index = item["index"]
        try:
            data = _b64(item.get("data"), f"entry {index}'s data")
        except ValueError as error:
            self.fail(str(error))
            return None
        role, kind = item.get("role", "subject"), item.get("kind", "")
        if role not in ("subject", "context") or not isinstance(kind, str):
            self.fail(f"entry {index}: role must be 'subject' or 'context' and kind a string")
            return None
        entry = _Entry(index=index, role=role, kind=kind, data=data, leaf=merkle.leaf_hash(data))
        if "leaf_hash" in item:
            try:
                stated = _b64(item["leaf_hash"], f"entry {index}'s leaf_hash")
            except ValueError as error:
                self.fail(str(error), entry)
            else:
                if stated != entry.leaf:
                    self.fail(
                        f"entry {index}: the bundle's leaf hash {_b64_text(stated)} is not "
                        f"SHA-256(0x00 || entry bytes) = {_b64_text(entry.leaf)}: the entry's "
                        "bytes or its leaf hash were changed",
                        entry,
                    )
        return entry

    def _inclusion(self, entry: _Entry, item: dict, checkpoint: Checkpoint) -> None:
        index = entry.index
        try:
            raw = item.get("inclusion_proof")
            if not isinstance(raw, list):
                raise ValueError(f"entry {index} has no inclusion_proof list")
            proof = [_b64(h, f"entry {index}'s proof hash {n}") for n, h in enumerate(raw)]
        except ValueError as error:
            self.fail(str(error), entry)
            return
        try:
            merkle.check_inclusion(entry.leaf, index, checkpoint.size, proof, checkpoint.root_hash)
        except merkle.RootMismatchError as error:
            self.fail(
                f"entry {index} is NOT proven included: its leaf hash {_b64_text(entry.leaf)} "
                f"and inclusion proof lead to root {_b64_text(error.got)}, but the checkpoint's "
                f"root is {_b64_text(error.want)} (the entry's bytes or a proof hash were "
                "changed, or the proof is for another checkpoint)",
                entry,
            )
            return
        except merkle.ProofError as error:
            self.fail(
                f"entry {index} is NOT proven included in the checkpoint of size "
                f"{checkpoint.size}: {error}",
                entry,
            )
            return
        entry.included = True

    def _tlog_proof(
        self,
        entry: _Entry,
        text: object,
        signed_note: str,
        log: Ed25519Verifier,
        witnesses: list[CosignatureV1Verifier],
        quorum: int,
    ) -> None:
        index = entry.index
        try:
            if not isinstance(text, str):
                raise TlogProofError("not a text")
            parsed = parse_tlog_proof(text)
            if parsed.index != index:
                raise TlogProofError(f"it is for index {parsed.index}")
            if parsed.signed_checkpoint != signed_note:
                raise TlogProofError("it is against another checkpoint than the bundle's")
            verify_tlog_proof(
                parsed, log_verifier=log, entry=entry.data, witnesses=witnesses, quorum=quorum
            )
        except (TlogProofError, NoteError) as error:
            self.fail(f"entry {index}: its C2SP tlog-proof does not verify: {error}", entry)
            return
        self.tlog_proofs_checked += 1

    def _parse(self, entry: _Entry, log: Ed25519Verifier) -> None:
        try:
            entry.jws = parse_jws(entry.data)
        except JwsFormatError as error:
            self.fail(f"entry {entry.index} is not a compact JWS: {error}", entry)
            return
        if entry.jws.kid == log.name:
            self._platform(entry, log)
        else:
            entry.payload = _json_object(entry.jws.payload)

    def _platform(self, entry: _Entry, log: Ed25519Verifier) -> None:
        jws = entry.jws
        assert jws is not None
        if not jws.verifies_with(log.public_key):
            self.fail(
                f"entry {entry.index} names the log ({log.name}) as its signer, but its "
                "signature does not verify with the log key",
                entry,
            )
            return
        claims = _json_object(jws.payload)
        typ = jws.header.get("typ")
        if claims is None or typ != f"{_TYP_PREFIX}{claims.get('kind')}{_TYP_SUFFIX}":
            self.fail(
                f"entry {entry.index} is signed by the log but its typ {typ!r} does not name "
                "its kind",
                entry,
            )
            return
        if entry.kind and entry.kind != claims.get("kind"):
            self.fail(
                f"entry {entry.index}: the bundle labels it {entry.kind!r}, but the log signed "
                f"it as {claims.get('kind')!r}",
                entry,
            )
            return
        entry.claims = claims

    def _keys(self, items: list) -> None:
        for item in items:
            key = self._key_fields(item)
            if key is None:
                continue
            known = self.keys.setdefault(key.kid, [])
            if any(k.public_key == key.public_key or k.number == key.number for k in known):
                self.fail(f"the bundle holds {key.name} twice")
                continue
            known.append(key)
            if key.problem is None:
                self._registration(key)
            if key.problem is None and key.rotated_in:
                self._rotations(key)
            if key.problem is None:
                self._retirement(key)
            if key.problem is None and key.revoked_in is not None:
                self._revocation(key)

    def _key_fields(self, item: object) -> _Key | None:
        if not isinstance(item, dict) or not isinstance(item.get("kid"), str):
            self.fail("a key in the bundle has no kid")
            return None
        kid = item["kid"]
        jwk = item.get("jwk")
        problem = None
        raw = b""
        if (
            not isinstance(jwk, dict)
            or jwk.get("kty") != "OKP"
            or jwk.get("crv") != "Ed25519"
            or not isinstance(jwk.get("x"), str)
        ):
            problem = f"the bundle's key for {kid} is not an Ed25519 OKP JWK"
        else:
            try:
                raw = _b64url_decode(jwk["x"].encode("ascii"))
            except (ValueError, UnicodeEncodeError, binascii.Error):
                raw = b""
            if len(raw) != 32:
                problem = f"the bundle's key for {kid}: JWK x is not a 32-byte base64url key"
            elif jwk.get("kid", kid) != kid:
                problem = f"the bundle's key for {kid} is a JWK with kid {jwk.get('kid')!r}"
        fingerprint = hashlib.sha256(raw).hexdigest()
        if problem is None and item.get("key_sha256", fingerprint) != fingerprint:
            problem = (
                f"the bundle's key for {kid} says SHA-256 {item.get('key_sha256')}, but the key's "
                f"SHA-256 is {fingerprint}"
            )
        registered = item.get("registered_in")
        revoked = item.get("revoked_in")
        retired = item.get("retired_in")
        # Bundles from before key rotation have no number and no rotations: key #1.
        number, rotated = item.get("number", 1), item.get("rotated_in", [])
        key = _Key(
            kid,
            raw,
            fingerprint,
            registered if _is_index(registered) else None,
            revoked if _is_index(revoked) else None,
            number=number if _is_index(number) else 0,
            rotated_in=rotated if isinstance(rotated, list) else [],
            retired_in=retired if _is_index(retired) else None,
        )
        if problem is None and key.registered_in is None:
            problem = f"the bundle gives no registration entry for {kid}'s key"
        if problem is None and (key.number < 1 or not all(_is_index(i) for i in key.rotated_in)):
            problem = f"the bundle's key for {kid} has no valid key number or rotation list"
        elif problem is None and key.number != len(key.rotated_in) + 1:
            problem = (
                f"the bundle's key #{key.number} for {kid} lists {len(key.rotated_in)} "
                f"rotation(s) (rotated_in), want {key.number - 1}"
            )
        if problem is not None:
            key.problem = problem
            self.fail(problem)
        return key

    def _registration(self, key: _Key) -> None:
        index = key.registered_in
        entry = self.entries.get(index)  # type: ignore[arg-type]
        where = f"{key.kid}'s key (SHA-256 {key.fingerprint})"
        if entry is None:
            key.problem = (
                f"{where} is said to be registered in entry {index}, which is not in the bundle"
            )
        elif not entry.included:
            key.problem = (
                f"{where} is said to be registered in entry {index}, which is not proven included"
            )
        elif entry.claims is None:
            key.problem = (
                f"{where} is said to be registered in entry {index}, which is not a valid "
                "entry signed by the log"
            )
        elif entry.claims.get("kind") != _REGISTERED_KIND:
            key.problem = (
                f"{where} is said to be registered in entry {index}, but that entry is a "
                f"{entry.claims.get('kind')}"
            )
        elif entry.claims.get("device") != key.kid:
            key.problem = (
                f"{where} is said to be registered in entry {index}, but that entry is about "
                f"{entry.claims.get('device')!r}, not {key.kid}"
            )
        elif key.number == 1 and entry.claims.get("public_key") != _b64url_encode(key.public_key):
            key.problem = (
                f"entry {index} registers another key for {key.kid} "
                f"({_claimed_key(entry.claims)}), not the bundle's key (SHA-256 {key.fingerprint})"
            )
        if key.problem is not None:
            self.fail(key.problem)

    def _rotations(self, key: _Key) -> None:
        """Registration, then each rotation in log order, hands the device from one
        key to the next, ending at this key."""
        previous = self.entries[key.registered_in].claims  # type: ignore[index]
        after = key.registered_in
        for number, index in enumerate(key.rotated_in, start=2):
            entry = self.entries.get(index)
            claims = entry.claims if entry is not None and entry.included else None
            where = f"{key.kid}'s key #{number} is said to be rotated in at entry {index}"
            if claims is None:
                key.problem = f"{where}, which is not a proven, log-signed entry of the bundle"
            elif claims.get("kind") != _ROTATED_KIND or claims.get("device") != key.kid:
                key.problem = (
                    f"{where}, but that entry is a {claims.get('kind')} of {claims.get('device')!r}"
                )
            elif index <= after or claims.get("key_number") != number:  # type: ignore[operator]
                key.problem = f"{where}, but the log has it out of order or as another key number"
            elif _claimed_fingerprint(previous) is None:
                # Else a rotation without previous_key_sha256 would "match" it.
                key.problem = f"{where}, but the key before it cannot be read"
            elif claims.get("previous_key_sha256") != _claimed_fingerprint(previous):
                key.problem = f"{where}, but it does not replace the key before it"
            if key.problem is not None:
                self.fail(key.problem)
                return
            previous, after = claims, index  # type: ignore[assignment]
        if previous.get("public_key") != _b64url_encode(key.public_key):
            key.problem = (
                f"entry {after} rotates {key.kid} to another key ({_claimed_key(previous)}), "
                f"not the bundle's key #{key.number} (SHA-256 {key.fingerprint})"
            )
            self.fail(key.problem)
            return
        key.valid_from = _moment(previous.get("at"))
        if key.valid_from is None:
            # Without it the key would vouch for readings dated before its rotation.
            key.problem = (
                f"entry {after} rotates {key.kid} to key #{key.number}, but its signed time "
                f"{previous.get('at')!r} is not an RFC 3339 time"
            )
            self.fail(key.problem)

    def _retirement(self, key: _Key) -> None:
        """A key is retired by the rotation that names it as the previous key. The
        bundle's ``retired_in`` only points at it: a proven, log-signed rotation of
        this key anywhere in the bundle bounds the key even if ``retired_in`` leaves
        it out, so that omitting it cannot let a retired key vouch for later readings."""
        rotations = sorted(
            entry.index
            for entry in self.entries.values()
            if entry.included
            and entry.claims is not None
            and entry.claims.get("kind") == _ROTATED_KIND
            and entry.claims.get("device") == key.kid
            and entry.claims.get("previous_key_sha256") == key.fingerprint
        )
        stated = key.retired_in
        if stated is not None and stated not in rotations:
            key.problem = (
                f"{key.name} is said to be retired in entry {stated}, which is not a proven, "
                "log-signed rotation of that key in the bundle"
            )
            self.fail(key.problem)
            return
        if not rotations:
            return
        index = rotations[0]
        if stated != index:
            said = "gives none" if stated is None else f"says entry {stated}"
            self.fail(
                f"entry {index}, a proven, log-signed rotation in the bundle, retires {key.name}, "
                f"but the bundle's retired_in for that key {said}: the retirement was left out "
                "or misstated"
            )
        claims = self.entries[index].claims
        assert claims is not None
        at = _moment(claims.get("at"))
        if at is None:
            key.problem = (
                f"entry {index} retires {key.name}, but its signed time {claims.get('at')!r} "
                "is not an RFC 3339 time"
            )
            self.fail(key.problem)
            return
        key.retired_in, key.retired_at = index, at
        key.retirement = f"retired in entry {index} at {claims['at']}"

    def _revocation(self, key: _Key) -> None:
        index = key.revoked_in
        entry = self.entries.get(index)  # type: ignore[arg-type]
        if entry is None or not entry.included or entry.claims is None:
            self.fail(
                f"{key.kid}'s key is said to be revoked in entry {index}, which is not a proven, "
                "log-signed entry of the bundle"
            )
            key.revoked_in = None
        elif entry.claims.get("kind") != _REVOKED_KIND or entry.claims.get("device") != key.kid:
            self.fail(
                f"{key.kid}'s key is said to be revoked in entry {index}, but that entry is a "
                f"{entry.claims.get('kind')} of {entry.claims.get('device')!r}"
            )
            key.revoked_in = None
        else:
            reason = entry.claims.get("reason")
            key.revocation = f"revoked in entry {index}" + (f" ({reason})" if reason else "")

    def _signatures(self, log: Ed25519Verifier) -> None:
        for entry in sorted(self.entries.values(), key=lambda e: e.index):
            if entry.jws is None:
                continue
            if entry.jws.kid == log.name:
                if entry.claims is not None and entry.included:
                    self.ok(
                        f"entry {entry.index} ({_describe_platform(entry.claims)}) is included "
                        f"and signed by the log key"
                    )
                    if entry.claims.get("kind") == _ROTATED_KIND:
                        self._request(entry.index, entry.claims)
                continue
            self._device_entry(entry)

    def _request(self, index: int, claims: dict) -> None:
        """Whether the device itself asked for a rotation: its ``request``, signed by
        the key being retired. Optional (a lost key cannot sign), so its absence is
        a warning, but a request that is there must verify."""
        device, number = claims.get("device"), claims.get("key_number")
        previous = claims.get("previous_key_number")
        if "request" not in claims:
            self.warn(
                f"rotation #{number} was made by the platform alone, without the device's "
                f"consent: entry {index} carries no request signed by key #{previous} of "
                f"{device} (allowed for a device whose key was lost or broken)"
            )
            return
        fingerprint = claims.get("previous_key_sha256")
        previous_key = self._key_with_fingerprint(str(device), fingerprint)
        where = f"rotation #{number} of {device} in entry {index} carries a request"
        if previous_key is None:
            self.fail(
                f"{where}, but the bundle holds no key with SHA-256 {fingerprint} (the key it "
                "retires) to check it with"
            )
            return
        problem = _request_problem(
            claims["request"],
            device=str(device),
            previous_key=previous_key,
            new_key=str(claims.get("public_key")),
        )
        if problem:
            self.fail(f"{where} that does not verify: {problem}")
            return
        self.ok(
            f"rotation #{number} was requested by key #{previous}: the request in entry {index} "
            f"is signed by key #{previous} of {device} (SHA-256 {fingerprint}) and asks for "
            f"key #{number} ({_claimed_key(claims)})"
        )

    def _key_with_fingerprint(self, kid: str, fingerprint: object) -> bytes | None:
        """The raw key of ``kid`` whose SHA-256 is ``fingerprint``, from the bundle's
        keys or its log-signed registrations and rotations; the hash binds it, so
        either source will do."""
        candidates = [key.public_key for key in self.keys.get(kid, [])]
        for entry in self.entries.values():
            claims = entry.claims
            if entry.included and claims is not None and claims.get("device") == kid:
                with contextlib.suppress(KeyError, ValueError, UnicodeEncodeError, binascii.Error):
                    candidates.append(_b64url_decode(str(claims["public_key"]).encode("ascii")))
        return next(
            (raw for raw in candidates if hashlib.sha256(raw).hexdigest() == fingerprint), None
        )

    def _device_entry(self, entry: _Entry) -> None:
        jws = entry.jws
        assert jws is not None
        kid = jws.kid
        what = _describe_reading(entry.payload) or f"{entry.kind or 'entry'} signed by {kid}"
        if entry.included:
            self.ok(
                f"entry {entry.index} ({what}) is included: its leaf hash "
                f"{_b64_text(entry.leaf)} and inclusion proof lead to the checkpoint root"
            )
        if (
            entry.payload is not None
            and "device" in entry.payload
            and entry.payload["device"] != kid
        ):
            self.fail(
                f"entry {entry.index} claims device {entry.payload['device']!r} in its payload "
                f"but is signed as {kid!r}",
                entry,
            )
        keys = self.keys.get(kid, [])
        if not keys:
            self.fail(
                f"entry {entry.index} is signed by {kid}, but the bundle holds no key for {kid}",
                entry,
            )
            return
        # The signature itself tells which of the device's keys signed: no guessing.
        key = next((k for k in keys if jws.verifies_with(k.public_key)), None)
        if key is None and len(keys) > 1:
            self.fail(
                f"entry {entry.index}'s signature does not verify with any of the bundle's "
                f"{len(keys)} keys for {kid}: the entry's bytes were changed or another key "
                "signed it",
                entry,
            )
            return
        if key is None and keys[0].problem is None:
            self.fail(
                f"entry {entry.index}'s signature does not verify with {kid}'s key "
                f"(SHA-256 {keys[0].fingerprint}) registered in entry {keys[0].registered_in}: "
                "the entry's bytes were changed or another key signed it",
                entry,
            )
            return
        key = key or keys[0]
        if key.problem is not None:
            self.fail(f"entry {entry.index}: cannot trust {kid}'s key: {key.problem}", entry)
            return
        established = key.established_in
        assert established is not None
        if established > entry.index:
            verb = "rotated in" if key.rotated_in else "registered"
            self.fail(
                f"entry {entry.index} was logged before {key.name} was {verb} (entry "
                f"{established})",
                entry,
            )
            return
        if key.revoked_in is not None and key.revoked_in < entry.index:
            self.fail(
                f"entry {entry.index} was logged after {kid}'s key was {key.revocation}",
                entry,
            )
            return
        window = self._window_problem(entry, key)
        if window:
            self.fail(window, entry)
            return
        noun = "the reading" if _describe_reading(entry.payload) else f"entry {entry.index}"
        later = f"; the key was {key.revocation}, after this entry" if key.revocation else ""
        if key.retirement:
            later += f"; the key was {key.retirement}, after the time the device signed"
        if key.rotated_in:
            self.ok(
                f"key #{key.number} of device {kid} (SHA-256 {key.fingerprint}), rotated in at "
                f"log index {established}, signed {noun}; the chain from its registration in "
                f"entry {key.registered_in} through "
                f"{_count(len(key.rotated_in), 'rotation', 'rotations')} is included{later}"
            )
            return
        self.ok(
            f"{noun} is signed by device {kid} whose key (SHA-256 {key.fingerprint}) was "
            f"registered in entry {key.registered_in}, itself included{later}"
        )

    def _window_problem(self, entry: _Entry, key: _Key) -> str:
        """A key vouches for what its device signed (``ts``) between its rotation
        in and its retirement; key #1 from any time."""
        if key.retired_at is None and key.valid_from is None:
            return ""
        ts = _moment((entry.payload or {}).get("ts"))
        if ts is None:
            return (
                f"entry {entry.index} is signed by {key.name}, whose validity is limited, "
                "but it carries no signed ts"
            )
        if key.retired_at is not None and ts >= key.retired_at:
            return (
                f"entry {entry.index} is signed by {key.name}, {key.retirement}, but the device "
                f"dated it {entry.payload['ts']}, not before that: a retired key signed it"  # type: ignore[index]
            )
        if key.number > 1 and key.valid_from is not None and ts < key.valid_from:
            return (
                f"entry {entry.index} is signed by {key.name}, rotated in at "
                f"{key.valid_from.isoformat()}, but the device dated it {entry.payload['ts']}, "  # type: ignore[index]
                "before that"
            )
        return ""

    def _summary(self, checkpoint: Checkpoint) -> None:
        if self.tlog_proofs_checked:
            self.ok(
                "the C2SP tlog-proof (c2sp.org/tlog-proof@v1) of "
                f"{_count(self.tlog_proofs_checked, 'entry', 'entries')} verifies on its own too"
            )
        subjects = [e for e in self.entries.values() if e.role == "subject"]
        readings = sum(1 for e in subjects if _describe_reading(e.payload))
        where = f"checkpoint {checkpoint.origin} size {checkpoint.size}"
        if self.report.verified:
            supporting = len(self.entries) - len(subjects)
            self.report.summary = (
                f"VERIFIED: {_count(len(subjects), 'entry', 'entries')} "
                f"({_count(readings, 'reading', 'readings')}) and "
                f"{_count(supporting, 'supporting entry', 'supporting entries')} are in the log "
                f"at {where}, checked against {self.source}."
            )


def verify_bundle(
    bundle: object,
    *,
    log_vkey: str | None = None,
    witness_vkeys: Iterable[str] = (),
    quorum: int | None = None,
) -> Report:
    """Check an evidence bundle (the parsed JSON) and report what it proves.

    ``log_vkey`` is the log's C2SP verifier key obtained independently; without
    it the bundle's own key is used, which proves only consistency (the report
    says so). ``witness_vkeys`` are cosignature/v1 (type ``0x04``) keys of the
    witnesses you trust; ``quorum`` (default: all of them) must have cosigned
    the checkpoint. Never raises on bad input: problems are ``fail`` findings.
    """
    report = Report()
    verifier = _Verifier(bundle, log_vkey, list(witness_vkeys), quorum, report)
    with contextlib.suppress(_Stop):
        verifier.run()
    if not report.verified:
        report.summary = f"NOT VERIFIED: {len(report.failures)} problem(s), see FAIL above."
    return report


def load_bundle(path: str | Path) -> Any:
    """The parsed JSON of a bundle file (``-`` for standard input); raises
    ``OSError`` or ``ValueError``."""
    if str(path) == "-":
        return json.loads(sys.stdin.buffer.read().decode("utf-8"))
    return json.loads(Path(path).read_bytes().decode("utf-8"))


def _key_argument(value: str) -> str:
    """A vkey given as text, or as the path of a file holding it."""
    path = Path(value)
    if "+" not in value or path.is_file():
        try:
            return path.read_text(encoding="utf-8").strip()
        except OSError as error:
            raise argparse.ArgumentTypeError(f"cannot read key file {value}: {error}") from None
    return value.strip()


def _argument_problem(log_vkey: str | None, witness_vkeys: list[str], quorum: int | None) -> str:
    """Why the keys or quorum given on the command line cannot be used, or ''."""
    if log_vkey is not None:
        try:
            new_verifier(log_vkey)
        except NoteError as error:
            return f"--log-vkey is not an Ed25519 (type 0x01) C2SP vkey: {error}"
    for vkey in witness_vkeys:
        try:
            parse_witness_vkey(vkey)
        except NoteError as error:
            return f"--witness-vkey {vkey[:60]!r} is not a cosignature/v1 (type 0x04) vkey: {error}"
    if quorum is not None and not 0 <= quorum <= len(witness_vkeys):
        return (
            f"--quorum {quorum} must be between 0 and the {len(witness_vkeys)} witness keys given"
        )
    return ""


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m ledger.verify BUNDLE [--log-vkey VKEY] [--witness-vkey VKEY ...]
    [--quorum N]``; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m ledger.verify",
        description=(
            "Verify a coldchain evidence bundle offline: the checkpoint's signature and "
            "witness cosignatures, every entry's inclusion proof, and every entry's signature "
            "by the log or by a device whose key registration is itself in the bundle."
        ),
        epilog="Exit status: 0 verified, 1 not verified, 2 unusable input.",
    )
    parser.add_argument("bundle", help="evidence bundle JSON file (- for standard input)")
    parser.add_argument(
        "--log-vkey",
        metavar="VKEY",
        type=_key_argument,
        help="the log's C2SP verifier key, or a file holding it, obtained independently "
        "(e.g. from /api/v1/ledger/vkey); without it the bundle's own key is trusted",
    )
    parser.add_argument(
        "--witness-vkey",
        metavar="VKEY",
        type=_key_argument,
        action="append",
        default=[],
        help="a witness's cosignature/v1 verifier key, or a file holding it (repeatable)",
    )
    parser.add_argument(
        "--quorum",
        metavar="N",
        type=int,
        help="how many of the given witnesses must have cosigned (default: all of them)",
    )
    args = parser.parse_args(argv)
    problem = _argument_problem(args.log_vkey, args.witness_vkey, args.quorum)
    if problem:
        parser.error(problem)  # exit status 2
    try:
        bundle = load_bundle(args.bundle)
    except (OSError, ValueError, RecursionError) as error:
        print(f"cannot read the bundle {args.bundle}: {error}", file=sys.stderr)
        return 2
    report = verify_bundle(
        bundle, log_vkey=args.log_vkey, witness_vkeys=args.witness_vkey, quorum=args.quorum
    )
    sys.stdout.write(report.render())
    if not report.verified:
        print(f"not verified: {report.failures[0]}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
