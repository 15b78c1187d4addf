"""C2SP transparency log proofs (https://c2sp.org/tlog-proof), ``.tlog-proof`` files.

An offline-verifiable proof that an entry is in a log (tlog-proof, "Format"),
a sequence of newline-separated lines::

    c2sp.org/tlog-proof@v1
    extra <base64 opaque data>          (optional, not authenticated)
    index <0-based entry index, decimal, no leading zeroes>
    <base64 hash>                       (zero or more: the RFC 6962 inclusion
    ...                                  proof, from the leaf's sibling up)

    <the signed checkpoint note, verbatim, with its cosignatures>

:func:`parse_tlog_proof` checks syntax only (the checkpoint note's syntax and
its checkpoint text included); :func:`verify_tlog_proof` checks the log's
signature, an optional witness quorum and the inclusion of the entry.

Stdlib and ``cryptography`` only (plus :mod:`ledger.merkle` for verification).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from ledger.checkpoint import (
    HASH_SIZE,
    Checkpoint,
    CheckpointError,
    parse_checkpoint,
)
from ledger.note import (
    Note,
    NoteError,
    Verifier,
    decode_base64,
    open_note,
    split_note,
)

__all__ = [
    "HEADER",
    "MAX_INDEX",
    "MAX_PROOF_HASHES",
    "TlogProof",
    "TlogProofError",
    "TlogProofVerificationError",
    "format_tlog_proof",
    "parse_tlog_proof",
    "verify_tlog_proof",
]

#: The first line of every proof (tlog-proof, "Format").
HEADER = "c2sp.org/tlog-proof@v1"
#: Largest index accepted (tree sizes are int64, as in Go's tlog).
MAX_INDEX = 2**63 - 2
#: An inclusion proof in a tree of at most 2^63 - 1 leaves has at most 63 hashes.
MAX_PROOF_HASHES = 63
_MAX_PROOF_TEXT = 2_000_000

_INDEX_RE = re.compile(r"index (0|[1-9][0-9]*)")


class TlogProofError(ValueError):
    """The text is not a well-formed tlog-proof (tlog-proof, "Format")."""


class TlogProofVerificationError(TlogProofError):
    """The proof is well-formed but does not prove what was asked."""


@dataclass(frozen=True)
class TlogProof:
    """A parsed tlog-proof. ``signed_checkpoint`` is the checkpoint note verbatim
    (text, blank line, signature lines); ``proof`` the inclusion proof hashes
    (raw 32 bytes each); ``extra`` the opaque, unauthenticated extra data, or
    ``None`` when the proof has no ``extra`` line."""

    index: int
    proof: tuple[bytes, ...]
    signed_checkpoint: str
    extra: bytes | None = None
    checkpoint: Checkpoint = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        try:
            text, _ = split_note(self.signed_checkpoint)
            parsed = parse_checkpoint(text)
        except (NoteError, CheckpointError) as exc:
            raise TlogProofError(f"invalid checkpoint: {exc}") from None
        object.__setattr__(self, "checkpoint", parsed)

    def format(self) -> str:
        """The proof text (see :func:`format_tlog_proof`)."""
        return format_tlog_proof(self.index, self.proof, self.signed_checkpoint, self.extra)


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def format_tlog_proof(
    index: int,
    proof: Sequence[bytes],
    signed_checkpoint: str,
    extra: bytes | None = None,
) -> str:
    """The text of a tlog-proof (tlog-proof, "Format"): the header, an
    ``extra`` line if ``extra`` is given (it must then be non-empty: with no
    extra data the line is omitted), ``index <index>``, one base64 line per
    proof hash, an empty line, then ``signed_checkpoint`` verbatim.

    Checks that the parts are well-formed (the checkpoint note's syntax, not its
    signatures); raises :class:`TlogProofError`.
    """
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index <= MAX_INDEX:
        raise TlogProofError(f"invalid index {index!r}")
    hashes = list(proof)
    if len(hashes) > MAX_PROOF_HASHES:
        raise TlogProofError(f"more than {MAX_PROOF_HASHES} proof hashes")
    for h in hashes:
        if not isinstance(h, bytes | bytearray) or len(h) != HASH_SIZE:
            raise TlogProofError("every proof hash is 32 bytes")
    if extra is not None and (not isinstance(extra, bytes | bytearray) or not extra):
        raise TlogProofError("extra data must be non-empty bytes, or None")
    if not isinstance(signed_checkpoint, str):
        raise TlogProofError("the signed checkpoint must be a str")
    TlogProof(index, tuple(bytes(h) for h in hashes), signed_checkpoint, extra)  # validates
    lines = [HEADER]
    if extra is not None:
        lines.append(f"extra {_b64(bytes(extra))}")
    lines.append(f"index {index}")
    lines.extend(_b64(bytes(h)) for h in hashes)
    return "\n".join(lines) + "\n\n" + signed_checkpoint


def parse_tlog_proof(text: str | bytes) -> TlogProof:
    """Parse a tlog-proof (tlog-proof, "Format"). Strict: the header, then an
    optional ``extra <base64>`` line (non-empty), then ``index N`` (decimal, no
    leading zeroes), then at most 63 canonical base64 32-byte hashes, an empty
    line, and a syntactically valid signed note whose text is a valid checkpoint.

    Nothing is verified (see :func:`verify_tlog_proof`); the proof length is
    not checked against the index and tree size here. Total: any input returns
    a :class:`TlogProof` or raises :class:`TlogProofError`.
    """
    if isinstance(text, bytes | bytearray):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError:
            raise TlogProofError("proof is not valid UTF-8") from None
    if not isinstance(text, str):
        raise TlogProofError(f"proof must be str or bytes, not {type(text).__name__}")
    if len(text) > _MAX_PROOF_TEXT:
        raise TlogProofError("proof too large")
    head, sep, signed_checkpoint = text.partition("\n\n")
    if not sep:
        raise TlogProofError("no empty line before the checkpoint")
    lines = head.split("\n")
    if lines[0] != HEADER:
        raise TlogProofError(f"first line must be {HEADER!r}")
    pos = 1
    extra: bytes | None = None
    if pos < len(lines) and lines[pos].startswith("extra "):
        try:
            extra = decode_base64(lines[pos][len("extra ") :], canonical=True)
        except ValueError:
            raise TlogProofError("extra data is not canonical base64") from None
        if not extra:
            raise TlogProofError("empty extra data (omit the line instead)")
        pos += 1
    if pos >= len(lines):
        raise TlogProofError("missing index line")
    match = _INDEX_RE.fullmatch(lines[pos])
    if match is None or len(match.group(1)) > 19 or int(match.group(1)) > MAX_INDEX:
        raise TlogProofError(f"invalid index line {lines[pos][:40]!r}")
    index = int(match.group(1))
    hash_lines = lines[pos + 1 :]
    if len(hash_lines) > MAX_PROOF_HASHES:
        raise TlogProofError(f"more than {MAX_PROOF_HASHES} proof hashes")
    proof: list[bytes] = []
    for line in hash_lines:
        try:
            h = decode_base64(line, canonical=True)
        except ValueError:
            raise TlogProofError(f"invalid proof hash line {line[:60]!r}") from None
        if len(h) != HASH_SIZE:
            raise TlogProofError("a proof hash is not 32 bytes")
        proof.append(h)
    return TlogProof(index, tuple(proof), signed_checkpoint, extra)


def verify_tlog_proof(
    proof: TlogProof | str | bytes,
    *,
    log_verifier: Verifier,
    entry: bytes | None = None,
    leaf_hash: bytes | None = None,
    witnesses: Iterable[Verifier] = (),
    quorum: int = 0,
    origin: str | None = None,
) -> tuple[Checkpoint, Note]:
    """Verify a tlog-proof offline: the checkpoint note carries a valid signature
    by ``log_verifier``, valid cosignatures by at least ``quorum`` distinct
    ``witnesses`` (any failing signature by a known key rejects the proof), its
    origin is ``origin`` (default: the log key's name, which SHOULD match,
    tlog-checkpoint "Signatures"), and the inclusion proof proves that ``entry``
    (hashed as an RFC 9162 leaf), or ``leaf_hash``, is leaf ``index``.

    Returns the checkpoint and the opened note. Raises :class:`TlogProofError`
    (:class:`TlogProofVerificationError` for a failed check), or a
    :class:`ledger.note.NoteError` from opening the note.
    """
    from ledger import merkle  # only verification needs the tree code

    parsed = proof if isinstance(proof, TlogProof) else parse_tlog_proof(proof)
    if (entry is None) == (leaf_hash is None):
        raise TypeError("give exactly one of entry and leaf_hash")
    if not isinstance(quorum, int) or quorum < 0:
        raise TypeError("quorum must be a non-negative int")
    witness_list = list(witnesses)
    note = open_note(parsed.signed_checkpoint, [log_verifier, *witness_list])
    signed_by = {(s.name, s.key_hash) for s in note.sigs}
    if (log_verifier.name, log_verifier.key_hash) not in signed_by:
        raise TlogProofVerificationError("the checkpoint is not signed by the log key")
    witness_ids = {(w.name, w.key_hash) for w in witness_list} - {
        (log_verifier.name, log_verifier.key_hash)
    }
    cosigned = len(witness_ids & signed_by)
    if cosigned < quorum:
        raise TlogProofVerificationError(f"{cosigned} witness cosignatures, want {quorum}")
    checkpoint = parsed.checkpoint
    want_origin = log_verifier.name if origin is None else origin
    if checkpoint.origin != want_origin:
        raise TlogProofVerificationError(
            f"checkpoint origin {checkpoint.origin!r}, want {want_origin!r}"
        )
    if entry is not None:
        leaf = merkle.leaf_hash(bytes(entry))
    else:
        assert leaf_hash is not None
        leaf = bytes(leaf_hash)
    if not merkle.verify_inclusion(
        leaf, parsed.index, checkpoint.size, list(parsed.proof), checkpoint.root_hash
    ):
        raise TlogProofVerificationError(
            f"inclusion proof for index {parsed.index} in tree size {checkpoint.size} fails"
        )
    return checkpoint, note
