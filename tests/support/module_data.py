"""Data built once for a module and rolled back after it.

What Django's ``TestCase.setUpTestData`` does for a class: the data is
created in a transaction that stays open for the module, each test runs in a
savepoint of its own (pytest-django's ``db``) and gets a deep copy of the
built objects, so neither its writes nor its changes to the objects reach the
next test.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TypeVar

from django.db import transaction
from django.test import override_settings

Built = TypeVar("Built")


@contextmanager
def module_transaction(django_db_blocker, **settings) -> Iterator[None]:
    """Database access with ``settings`` in a transaction rolled back on exit."""
    with django_db_blocker.unblock(), override_settings(**settings), transaction.atomic():
        yield
        transaction.set_rollback(True)


def own_copy(built: Built) -> Built:
    """The built objects as a test may change them: a deep copy of its own."""
    return copy.deepcopy(built)
