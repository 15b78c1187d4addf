"""Evidence bundles: log entries with everything needed to verify them offline.

A bundle (schema ``coldchain-evidence/v1``, documented in ``docs/ledger.md``)
holds the chosen entries, an inclusion proof for each against ONE signed
checkpoint, that checkpoint exactly as ``/api/v1/ledger/checkpoint`` serves it
(signed note plus witness cosignatures), the log's verifier key, and, per
entry, the same proof as a C2SP tlog-proof. ``python -m ledger.verify``
(:mod:`ledger.verify`) checks it without Django.

The ledger knows nothing about devices: entries are opaque signed bytes. Apps
whose entries are signed by their own keys register an *evidence context
provider* for their entry kind (as they register checkers with
:mod:`ledger.checkers`); it names the signing keys and the log entries that
registered them, which the bundle then includes with their own proofs. Apps
may also register named *selectors* (``device``, ``reading`` ...) that turn a
value and an optional time range into entry indices, for ``export_evidence``.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from ledger.checkers import EntryRow
from ledger.jws import b64url_encode
from ledger.log_key import log_signer, log_vkey
from ledger.merkle import (
    ProofError,
    check_inclusion,
    inclusion_node_ids,
    inclusion_proof,
    leaf_hash,
)
from ledger.models import Checkpoint, Entry
from ledger.services import checkpoint_latest, checkpoint_with_cosignatures
from ledger.storage import load_nodes, node_getter
from ledger.tlog_proof import format_tlog_proof
from ledger.verify import BUNDLE_FORMAT

__all__ = [
    "BUNDLE_FORMAT",
    "EvidenceContext",
    "EvidenceError",
    "EvidenceProvider",
    "EvidenceSelector",
    "SignerKey",
    "context_providers_for",
    "evidence_bundle",
    "evidence_selector",
    "register_evidence_context",
    "register_evidence_selector",
    "registered_selectors",
]

_BATCH = 500


class EvidenceError(ValueError):
    """The bundle cannot be built as asked (nothing sealed, unknown index ...)."""


@dataclass(frozen=True)
class SignerKey:
    """A key that signed entries of the bundle: ``kid`` as in the JWS header,
    the raw 32-byte Ed25519 public key, the index of the platform-signed entry
    that registered the signer (claims ``device`` = kid, ``public_key`` =
    base64url key) and, if the key was revoked, the index of the revocation
    entry. A signer whose key was rotated has several keys: key ``number`` n
    came from the rotation entries ``rotated_in`` (keys #2 .. #n, in log
    order) and, once replaced, was retired by the rotation ``retired_in``."""

    kid: str
    public_key: bytes
    registered_in: int | None
    revoked_in: int | None = None
    number: int = 1
    rotated_in: tuple[int, ...] = ()
    retired_in: int | None = None


@dataclass(frozen=True)
class EvidenceContext:
    """What a provider adds for a batch of entries: signer keys, and further
    entry indices to include (beyond the keys' registration and revocation)."""

    keys: tuple[SignerKey, ...] = ()
    indices: tuple[int, ...] = ()


#: Receives sealed entries of one kind, returns their context.
EvidenceProvider = Callable[[list[EntryRow]], EvidenceContext]
#: ``selector(value, since, until)``: indices of sealed entries (``since``
#: inclusive, ``until`` exclusive; either may be None).
EvidenceSelector = Callable[[str, datetime | None, datetime | None], list[int]]

_providers: dict[str, list[EvidenceProvider]] = {}
_selectors: dict[str, EvidenceSelector] = {}


def register_evidence_context(kind: str, provider: EvidenceProvider) -> None:
    """Have ``provider`` add context to every bundled entry of ``kind``."""
    registered = _providers.setdefault(kind, [])
    if provider not in registered:
        registered.append(provider)


def context_providers_for(kind: str) -> list[EvidenceProvider]:
    return list(_providers.get(kind, []))


def register_evidence_selector(name: str, selector: EvidenceSelector) -> None:
    """Offer ``export_evidence --select NAME=VALUE`` (and ``--device`` for ``device``)."""
    _selectors[name] = selector


def registered_selectors() -> list[str]:
    return sorted(_selectors)


def evidence_selector(name: str) -> EvidenceSelector:
    try:
        return _selectors[name]
    except KeyError:
        known = ", ".join(registered_selectors()) or "none"
        raise EvidenceError(f"no app offers a {name!r} selector (registered: {known})") from None


# --------------------------------------------------------------------------- building


@dataclass
class _Collected:
    rows: dict[int, tuple[EntryRow, str]] = field(default_factory=dict)
    keys: dict[tuple[str, bytes], SignerKey] = field(default_factory=dict)


def _b64(raw: bytes) -> str:
    return base64.b64encode(bytes(raw)).decode("ascii")


def _checkpoint(size: int | None) -> Checkpoint:
    if size is None:
        checkpoint = checkpoint_latest()
        if checkpoint is None or checkpoint.size == 0:
            raise EvidenceError("the log has no checkpoint over any entry yet: run seal first")
        return checkpoint
    checkpoint = Checkpoint.objects.filter(size=size).first()
    if checkpoint is None:
        raise EvidenceError(f"no checkpoint at tree size {size}")
    return checkpoint


def _fetch(indices: list[int], collected: _Collected) -> None:
    for start in range(0, len(indices), _BATCH):
        chunk = indices[start : start + _BATCH]
        rows = Entry.objects.filter(sealed__index__in=chunk).values_list(
            "sealed__index", "id", "data", "leaf_hash", "kind"
        )
        found = {
            index: (EntryRow(index, pk, bytes(data), bytes(leaf)), kind)
            for index, pk, data, leaf, kind in rows
        }
        for index in chunk:
            if index not in found:
                raise EvidenceError(f"no sealed entry at index {index}")
            row, kind = found[index]
            if leaf_hash(row.data) != row.leaf_hash:
                raise EvidenceError(
                    f"entry {index}'s stored leaf hash does not match its bytes: run verify_ledger"
                )
            collected.rows[index] = (row, kind)


def _add_context(new: list[int], collected: _Collected) -> set[int]:
    """Ask the providers about the entries in ``new``; return further indices."""
    by_kind: dict[str, list[EntryRow]] = {}
    for index in new:
        row, kind = collected.rows[index]
        by_kind.setdefault(kind, []).append(row)
    wanted: set[int] = set()
    for kind, rows in by_kind.items():
        for provider in context_providers_for(kind):
            context = provider(rows)
            wanted.update(context.indices)
            for key in context.keys:
                identity = (key.kid, bytes(key.public_key))
                known = collected.keys.get(identity)
                if known is not None and known != key:
                    raise EvidenceError(f"two different histories are given for a key of {key.kid}")
                collected.keys[identity] = key
                wanted.update(key.rotated_in)
                for index in (key.registered_in, key.revoked_in, key.retired_in):
                    if index is not None:
                        wanted.add(index)
    return wanted


def _proofs(indices: list[int], checkpoint: Checkpoint) -> dict[int, list[bytes]]:
    """Inclusion proofs for many entries, reading each batch's stored nodes in one query."""
    proofs: dict[int, list[bytes]] = {}
    size = checkpoint.size
    for start in range(0, len(indices), _BATCH):
        chunk = indices[start : start + _BATCH]
        node_ids = {node for index in chunk for node in inclusion_node_ids(index, size)}
        get_node = node_getter(load_nodes(node_ids))
        for index in chunk:
            proofs[index] = inclusion_proof(index, size, get_node)
    return proofs


def _key_json(key: SignerKey) -> dict:
    raw = bytes(key.public_key)
    if len(raw) != 32:
        raise EvidenceError(f"{key.kid}'s public key is {len(raw)} bytes, want 32")
    return {
        "kid": key.kid,
        "jwk": {"kty": "OKP", "crv": "Ed25519", "x": b64url_encode(raw), "kid": key.kid},
        "key_sha256": hashlib.sha256(raw).hexdigest(),
        "registered_in": key.registered_in,
        "number": key.number,
        "rotated_in": list(key.rotated_in),
        "retired_in": key.retired_in,
        "revoked_in": key.revoked_in,
    }


def evidence_bundle(
    indices: Iterable[int], *, size: int | None = None, tlog_proofs: bool = True
) -> dict:
    """The evidence bundle (a JSON-ready dict) for the sealed entries at
    ``indices``, against the checkpoint of tree size ``size`` (default: the
    latest), with the context the registered providers add.

    Every proof is checked against the checkpoint's root before it is returned.
    Raises :class:`EvidenceError`.
    """
    subjects = sorted(set(indices))
    if not subjects:
        raise EvidenceError("no entries selected")
    checkpoint = _checkpoint(size)
    root, tree_size = bytes(checkpoint.root_hash), checkpoint.size
    outside = [i for i in subjects if not 0 <= i < tree_size]
    if outside:
        raise EvidenceError(
            f"entry {outside[0]} is not under the checkpoint of size {tree_size}"
            + (" (seal first, or wait for the next checkpoint)" if size is None else "")
        )
    collected = _Collected()
    _fetch(subjects, collected)
    new = subjects
    while new:
        wanted = _add_context(new, collected)
        for identity, key in list(collected.keys.items()):
            # A revocation or retirement logged after this checkpoint is not (yet) evidence here.
            if key.revoked_in is not None and key.revoked_in >= tree_size:
                wanted.discard(key.revoked_in)
                key = collected.keys[identity] = replace(key, revoked_in=None)
            if key.retired_in is not None and key.retired_in >= tree_size:
                wanted.discard(key.retired_in)
                collected.keys[identity] = replace(key, retired_in=None)
        for index in wanted:
            if not 0 <= index < tree_size:
                raise EvidenceError(
                    f"context entry {index} is not under the checkpoint of size {tree_size}"
                )
        new = sorted(wanted - set(collected.rows))
        _fetch(new, collected)

    all_indices = sorted(collected.rows)
    proofs = _proofs(all_indices, checkpoint)
    signed_note = checkpoint_with_cosignatures(checkpoint)
    subject_set = set(subjects)
    entries = []
    for index in all_indices:
        row, kind = collected.rows[index]
        proof = proofs[index]
        try:
            check_inclusion(row.leaf_hash, index, tree_size, proof, root)
        except ProofError as error:
            raise EvidenceError(
                f"the stored tree gives entry {index} a proof that fails ({error}): "
                "run verify_ledger"
            ) from None
        item = {
            "index": index,
            "role": "subject" if index in subject_set else "context",
            "kind": kind,
            "data": _b64(row.data),
            "leaf_hash": _b64(row.leaf_hash),
            "inclusion_proof": [_b64(h) for h in proof],
        }
        if tlog_proofs:
            item["tlog_proof"] = format_tlog_proof(index, proof, signed_note)
        entries.append(item)
    return {
        "format": BUNDLE_FORMAT,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "log": {"origin": log_signer().name, "vkey": log_vkey()},
        "checkpoint": {
            "size": tree_size,
            "root_hash": _b64(root),
            "signed_note": signed_note,
        },
        "entries": entries,
        "keys": [
            _key_json(key)
            for key in sorted(collected.keys.values(), key=lambda k: (k.kid, k.number))
        ],
    }
