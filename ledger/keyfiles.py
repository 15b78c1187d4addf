"""Secret key files written once, readable by their owner only."""

from __future__ import annotations

import os
from pathlib import Path


def write_key_file_once(path: Path, secret: str) -> bool:
    """Write ``secret`` to ``path`` unless it exists; True if this call wrote it.

    Written under a temporary name and linked into place, so two processes
    starting at once both end up with the one key that won.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(secret + "\n")
    try:
        os.link(temporary, path)
        return True
    except FileExistsError:
        return False
    finally:
        temporary.unlink()
