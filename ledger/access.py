"""Who may read an entry's bytes: decided by the app that knows what they are.

Checkpoints and proofs are public, but an entry's data can be one party's
business (a reading, an assessment). The ledger knows nothing of parties, so
a higher layer registers the rule here, the way apps register checkers;
until one does, only staff read entry bytes.
"""

from __future__ import annotations

from collections.abc import Callable

from ledger.models import Entry

EntryReadPolicy = Callable[[object, Entry], bool]

_policy: EntryReadPolicy | None = None


def register_entry_read_policy(policy: EntryReadPolicy) -> None:
    global _policy
    _policy = policy


def entry_readable_by(user, entry: Entry) -> bool:
    if _policy is not None:
        return _policy(user, entry)
    return bool(getattr(user, "is_staff", False))
