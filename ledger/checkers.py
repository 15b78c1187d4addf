"""Apps that keep decoded copies of entries register a checker here, the way
apps register admin classes, so ``verify_ledger`` proves that what they show
equals what the log holds without the ledger importing them."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class EntryRow:
    index: int
    entry_id: int
    data: bytes
    leaf_hash: bytes


@dataclass(frozen=True)
class Problem:
    index: int
    message: str

    def __str__(self) -> str:
        return f"entry {self.index}: {self.message}"


# A checker receives a batch of sealed entries of its kind and yields problems.
EntryChecker = Callable[[list[EntryRow]], Iterable[Problem]]

_checkers: dict[str, list[EntryChecker]] = {}


def register_checker(kind: str, checker: EntryChecker) -> None:
    registered = _checkers.setdefault(kind, [])
    if checker not in registered:
        registered.append(checker)


def checkers_for(kind: str) -> list[EntryChecker]:
    return list(_checkers.get(kind, []))
