"""Bulk writes on the ingest hot path that the ORM makes slow on PostgreSQL.

``bulk_create`` sends one placeholder per value (8,000 for a batch of 500
readings) that psycopg must rewrite on every call, and ``bulk_update``
builds a CASE expression per row and field. One statement with a typed
array per column (``unnest``) does the same work at a fraction of the cost.
Other databases fall back to the ORM.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import psycopg
from django.db import connection, models


@contextmanager
def binary_cursor() -> Iterator[psycopg.Cursor]:
    """A cursor that sends parameters apart from the query; ``%b`` ones in binary.

    Django's default client-side binding quotes every array element into the
    SQL text, and psycopg's text format for arrays escapes each element with
    a regular expression (20 times slower for the sequencer's 8 KiB tree
    chunks; ``readings_ingest`` without signature checks spent 99-113 instead
    of 53-70 us of client CPU per reading). It runs on Django's own
    connection, so inside the caller's transaction, and its errors become
    Django's: callers catch ``django.db.OperationalError``, and Django drops a
    connection that broke instead of reusing it.
    """
    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        yield cursor


def _columns(model: type[models.Model], names: Sequence[str]) -> list[tuple[str, str]]:
    fields = [model._meta.get_field(name) for name in names]
    return [(field.column, field.db_type(connection)) for field in fields]


def insert_rows(model: type[models.Model], names: Sequence[str], rows: Sequence[Sequence]) -> None:
    """Insert ``rows`` (values in the order of ``names``) in one statement."""
    if not rows:
        return
    if connection.vendor != "postgresql":
        _bulk_create(model, names, rows)
        return
    with binary_cursor() as cursor:
        _insert_unnest(cursor, model, names, rows)


def insert_returning_ids(
    model: type[models.Model], names: Sequence[str], rows: Sequence[Sequence]
) -> list[int]:
    """Insert ``rows`` (values in the order of ``names``); their new ids, in order."""
    if not rows:
        return []
    if connection.vendor != "postgresql":
        return [obj.pk for obj in _bulk_create(model, names, rows)]
    with binary_cursor() as cursor:
        # Ids drawn from the table's sequence first: each row's id is then
        # known by position, whatever order the server inserts in.
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [model._meta.db_table, len(rows)],
        )
        ids = [row[0] for row in cursor.fetchall()]
        _insert_unnest(
            cursor, model, ["id", *names], [(i, *row) for i, row in zip(ids, rows, strict=True)]
        )
    return ids


def _bulk_create(
    model: type[models.Model], names: Sequence[str], rows: Sequence[Sequence]
) -> list[models.Model]:
    attnames = [model._meta.get_field(name).attname for name in names]
    return model.objects.bulk_create(
        [model(**dict(zip(attnames, row, strict=True))) for row in rows], batch_size=1000
    )


def _insert_unnest(
    cursor: psycopg.Cursor,
    model: type[models.Model],
    names: Sequence[str],
    rows: Sequence[Sequence],
) -> None:
    columns = _columns(model, names)
    column_list = ", ".join(connection.ops.quote_name(column) for column, _ in columns)
    arrays = ", ".join(f"%b::{db_type}[]" for _, db_type in columns)
    cursor.execute(
        f"INSERT INTO {connection.ops.quote_name(model._meta.db_table)} ({column_list}) "
        f"SELECT * FROM unnest({arrays})",
        [list(values) for values in zip(*rows, strict=True)],
    )


def update_by_key(
    model: type[models.Model], names: Sequence[str], objects: Sequence[models.Model]
) -> None:
    """Write the fields ``names`` of ``objects`` back, one statement for all of them."""
    if not objects:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_update(objects, list(names))
        return
    pk = model._meta.pk
    columns = [(pk.column, pk.db_type(connection)), *_columns(model, names)]
    table = connection.ops.quote_name(model._meta.db_table)
    quoted = [connection.ops.quote_name(column) for column, _ in columns]
    arrays = ", ".join(f"%b::{db_type}[]" for _, db_type in columns)
    assignments = ", ".join(f"{column} = v.{column}" for column in quoted[1:])
    sql = (
        f"UPDATE {table} AS t SET {assignments} FROM unnest({arrays}) AS v({', '.join(quoted)}) "
        f"WHERE t.{quoted[0]} = v.{quoted[0]}"
    )
    values = [[obj.pk for obj in objects]] + [
        [getattr(obj, model._meta.get_field(name).attname) for obj in objects] for name in names
    ]
    with binary_cursor() as cursor:
        cursor.execute(sql, values)
