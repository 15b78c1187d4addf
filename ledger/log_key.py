"""The log's own Ed25519 key: signs checkpoints and platform entries."""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path

from django.conf import settings

from ledger.keyfiles import write_key_file_once
from ledger.note import Ed25519Signer, generate_key, new_signer

logger = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def log_signer() -> Ed25519Signer:
    """From LEDGER_SIGNING_KEY, else the key file, created on first use.

    The key's name is the log's origin, as C2SP tlog-checkpoint recommends.
    """
    skey = settings.LEDGER_SIGNING_KEY
    if not skey:
        path = settings.LEDGER_SIGNING_KEY_PATH
        if not path.exists():
            _create_key_file(path)
        skey = path.read_text().strip()
    signer = new_signer(skey)
    if signer.name != settings.LEDGER_ORIGIN:
        raise RuntimeError(
            f"the log signing key is named {signer.name!r} but LEDGER_ORIGIN is "
            f"{settings.LEDGER_ORIGIN!r}; they must match"
        )
    return signer


def _create_key_file(path: Path) -> None:
    skey, _ = generate_key(settings.LEDGER_ORIGIN)
    if write_key_file_once(path, skey):
        logger.warning("ledger: created a new log signing key in %s", path)


def log_vkey() -> str:
    """The C2SP verifier key others use to check our checkpoints and entries."""
    return log_signer().vkey
