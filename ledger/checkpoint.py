"""C2SP transparency log checkpoints (https://c2sp.org/tlog-checkpoint).

A checkpoint is the text of a signed note (:mod:`ledger.note`), three or more
newline-terminated, non-empty lines (tlog-checkpoint, "Note text")::

    <origin>
    <tree size, ASCII decimal, no leading zeroes>
    <base64 of the RFC 6962 / RFC 9162 root hash>
    [extension lines]

:func:`parse_checkpoint` is strict: it accepts exactly the texts
:func:`format_checkpoint` can produce, so ``format(parse(t)) == t``. It is
stricter than Go's ``tlog.ParseTree`` in two places: the root hash must be
canonical base64 (no stray low bits), and the size must fit in a signed 64-bit
integer (as in Go's ``tlog``, which uses ``int64``).

Stdlib and ``cryptography`` only.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable
from dataclasses import dataclass

from ledger.note import (
    Note,
    Verifier,
    VerifierList,
    decode_base64,
    is_valid_name,
    open_note,
)

__all__ = [
    "HASH_SIZE",
    "MAX_TREE_SIZE",
    "Checkpoint",
    "CheckpointError",
    "OriginMismatchError",
    "format_checkpoint",
    "open_checkpoint",
    "parse_checkpoint",
]

HASH_SIZE = 32
#: Largest tree size accepted (Go's ``tlog`` uses ``int64`` sizes).
MAX_TREE_SIZE = 2**63 - 1
#: Upper bound on the checkpoint text we parse (torchwood uses the same).
_MAX_CHECKPOINT_SIZE = 1_000_000

_SIZE_RE = re.compile(r"0|[1-9][0-9]*")
_BAD_CHAR_RE = re.compile("[\x00-\x09\x0b-\x1f\ud800-\udfff]")


class CheckpointError(ValueError):
    """The text is not a well-formed checkpoint (tlog-checkpoint, "Note text")."""


class OriginMismatchError(CheckpointError):
    """The checkpoint is for another log than the one expected."""


@dataclass(frozen=True)
class Checkpoint:
    """A parsed checkpoint. ``root_hash`` is the raw 32-byte root; ``extensions``
    are the extension lines without their newlines."""

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def format(self) -> str:
        """The checkpoint text (the note text to sign)."""
        return format_checkpoint(self.origin, self.size, self.root_hash, self.extensions)

    def __str__(self) -> str:
        return self.format()


def format_checkpoint(
    origin: str, size: int, root_hash: bytes, extensions: Iterable[str] = ()
) -> str:
    """The checkpoint text ``origin\\nsize\\nbase64(root)\\n[extension lines]``
    (tlog-checkpoint, "Note text").

    Stricter than the MUSTs: the origin must also follow the SHOULD (a valid key
    name, i.e. no Unicode spaces and no ``+``), so that the log's key name can
    equal it (tlog-checkpoint, "Signatures"). Raises :class:`CheckpointError`.
    """
    if not is_valid_name(origin) or _BAD_CHAR_RE.search(origin):
        raise CheckpointError(f"invalid origin {origin!r}: want a key name, e.g. example.com/log")
    if isinstance(size, bool) or not isinstance(size, int) or not 0 <= size <= MAX_TREE_SIZE:
        raise CheckpointError(f"invalid tree size {size!r}")
    if not isinstance(root_hash, bytes | bytearray) or len(root_hash) != HASH_SIZE:
        raise CheckpointError("the root hash is 32 bytes")
    ext = list(extensions)
    for line in ext:
        if not isinstance(line, str) or not line or "\n" in line or _BAD_CHAR_RE.search(line):
            raise CheckpointError(f"invalid extension line {line!r}")
    root = base64.b64encode(bytes(root_hash)).decode("ascii")
    return "".join(f"{line}\n" for line in [origin, str(size), root, *ext])


def parse_checkpoint(text: str | bytes) -> Checkpoint:
    """Parse a checkpoint text (the note text, without signatures), per
    tlog-checkpoint "Note text": a non-empty origin, a decimal size without
    leading zeroes, a base64 32-byte root hash, then zero or more non-empty
    extension lines, every line ending in a newline. The origin is not required
    to be a URL (clients MUST NOT assume it), only non-empty.

    Total: any input returns a :class:`Checkpoint` or raises :class:`CheckpointError`.
    """
    if isinstance(text, bytes | bytearray):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError:
            raise CheckpointError("checkpoint is not valid UTF-8") from None
    if not isinstance(text, str):
        raise CheckpointError(f"checkpoint must be str or bytes, not {type(text).__name__}")
    if len(text) > _MAX_CHECKPOINT_SIZE:
        raise CheckpointError("checkpoint too large")
    if not text.endswith("\n"):
        raise CheckpointError("checkpoint must end in a newline")
    if _BAD_CHAR_RE.search(text):
        raise CheckpointError("checkpoint contains a control character or invalid UTF-8")
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise CheckpointError("checkpoint needs origin, size and root hash lines")
    origin, size_line, hash_line, *extensions = lines
    if not origin:
        raise CheckpointError("empty origin")
    if _SIZE_RE.fullmatch(size_line) is None:
        raise CheckpointError(f"invalid tree size {size_line!r}")
    if len(size_line) > 19 or int(size_line) > MAX_TREE_SIZE:
        raise CheckpointError("tree size too large")
    try:
        root_hash = decode_base64(hash_line, canonical=True)
    except ValueError:
        raise CheckpointError(f"invalid root hash {hash_line!r}") from None
    if len(root_hash) != HASH_SIZE:
        raise CheckpointError("the root hash is not 32 bytes")
    if any(not line for line in extensions):
        raise CheckpointError("empty extension line")
    return Checkpoint(origin, int(size_line), root_hash, tuple(extensions))


def open_checkpoint(
    signed_checkpoint: str | bytes,
    verifiers: Iterable[Verifier] | VerifierList,
    *,
    origin: str | None = None,
) -> tuple[Checkpoint, Note]:
    """Open a signed checkpoint: :func:`ledger.note.open_note`, then
    :func:`parse_checkpoint` of its text, then, if ``origin`` is given, check
    that the checkpoint is for that log.

    Which signatures are required (the log's, a witness quorum) is the caller's
    policy: inspect ``note.sigs``. Raises :class:`ledger.note.NoteError` or
    :class:`CheckpointError`.
    """
    note = open_note(signed_checkpoint, verifiers)
    checkpoint = parse_checkpoint(note.text)
    if origin is not None and checkpoint.origin != origin:
        raise OriginMismatchError(f"checkpoint origin {checkpoint.origin!r}, want {origin!r}")
    return checkpoint, note
