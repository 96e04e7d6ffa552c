"""Single-row reads and inserts that skip the ORM's query compiler, for the API's hottest paths.

Building and compiling a queryset costs about a millisecond of CPU on a small
server, several times what the database spends on a primary-key or
unique-column lookup. `row_get` and `row_insert` write their SQL once per
process from the models' metadata (so it follows schema changes) and convert
values the way the ORM does: a row read goes through each field's database
converters and Model.from_db, a row written through each field's pre_save and
get_db_prep_save. They run on `planned_cursor`, so that PostgreSQL plans each
of them once per connection rather than once per request.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import cache
from typing import Any, TypeVar

from django.db import connection, models
from django.db.models import signals

M = TypeVar("M", bound=models.Model)
Converters = tuple[tuple[Callable[[Any, Any, Any], Any], ...], Any]  # (converters, the column they apply to)


@cache
def _preparing_cursor_class() -> type:
    from django.db.backends.postgresql.base import ServerBindingCursor

    class PreparingCursor(ServerBindingCursor):
        """Sends parameters apart from the statement, which psycopg prepares on the connection's first use."""

        def execute(self, query: Any, params: Any = None, *, prepare: bool | None = None, binary: Any = None) -> Any:
            return super().execute(query, params, prepare=True, binary=binary)

    return PreparingCursor


@contextmanager
def planned_cursor() -> Iterator[Any]:
    """A Django cursor for a fixed statement of a hot path: on PostgreSQL, planned once per connection.

    Django binds parameters on the client: the values are quoted into the text
    of the statement, so PostgreSQL parses and plans it again on every request.
    For the statements every API request makes, that was most of their
    database time: a job's status read took about 135 microseconds of
    PostgreSQL's CPU on a small server, and 45 once prepared; the key lookup
    with its counters 320, and 95. This cursor sends the parameters apart from
    the statement and has psycopg prepare it, once per connection (psycopg
    keeps up to 100 per connection). PgBouncer in transaction mode passes such
    statements from version 1.21, with max_prepared_statements set.

    Only for statements whose parameters are compared with or stored into
    columns: psycopg types a Python int by its size (int2, int4, int8), so an
    expression of parameters alone (`%s * %s`) could overflow. Elsewhere it is
    Django's ordinary cursor.
    """
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            yield cursor
        return
    connection.ensure_connection()
    raw = connection.connection
    if raw.prepare_threshold is None:
        # Django sets None, under which psycopg ignores prepare=True. Any number turns preparing back on for
        # this connection's server-binding cursors, which only this function makes; Django's never prepare.
        raw.prepare_threshold = 5
    ordinary = raw.cursor_factory
    raw.cursor_factory = _preparing_cursor_class()
    try:
        cursor = connection.cursor()  # Django's wrapper (errors, query log) around the preparing cursor
    finally:
        raw.cursor_factory = ordinary
    with cursor:
        yield cursor


@cache
def _shape(model: type[models.Model]) -> tuple[str, tuple[str, ...], tuple[Converters, ...]]:
    """The model's quoted column list, attribute names and per-column converters."""
    table = connection.ops.quote_name(model._meta.db_table)
    fields = model._meta.concrete_fields
    columns = ", ".join(f"{table}.{connection.ops.quote_name(field.column)}" for field in fields)
    converters = []
    for field in fields:
        column = field.get_col(model._meta.db_table)
        chain = tuple(connection.ops.get_db_converters(column) + field.get_db_converters(connection))
        converters.append((chain, column))
    return columns, tuple(field.attname for field in fields), tuple(converters)


@cache
def _sql(model: type[models.Model], where: tuple[str, ...], related: str | None) -> str:
    columns, _, _ = _shape(model)
    table = connection.ops.quote_name(model._meta.db_table)
    joins = ""
    if related:
        target = model._meta.get_field(related).related_model
        target_table = connection.ops.quote_name(target._meta.db_table)
        target_columns, _, _ = _shape(target)
        columns += ", " + target_columns
        fk = connection.ops.quote_name(model._meta.get_field(related).column)
        pk = connection.ops.quote_name(target._meta.pk.column)
        joins = f" INNER JOIN {target_table} ON {table}.{fk} = {target_table}.{pk}"
    conditions = []
    for name in where:
        column = connection.ops.quote_name(model._meta.get_field(name.removesuffix("__isnull")).column)
        conditions.append(f"{table}.{column} IS NULL" if name.endswith("__isnull") else f"{table}.{column} = %s")
    return f"SELECT {columns} FROM {table}{joins} WHERE {' AND '.join(conditions)} LIMIT 2"  # noqa: S608


def _instance(model: type[M], values: list[Any]) -> M:
    _, names, converters = _shape(model)
    converted = []
    for value, (chain, column) in zip(values, converters, strict=True):
        for convert in chain:
            value = convert(value, column, connection)
        converted.append(value)
    return model.from_db(connection.alias, names, converted)


def row_columns(model: type[models.Model]) -> str:
    """The model's columns, qualified by its table and in the order row_instance expects (for RETURNING)."""
    return _shape(model)[0]


def row_instance(model: type[M], values: Sequence[Any]) -> M:
    """An instance of `model` from a row of row_columns(model), converted as the ORM converts what it reads."""
    return _instance(model, list(values))


def row_get(model: type[M], /, related: str | None = None, for_update: bool = False, **where: Any) -> M | None:
    """The one row of `model` matching `where` (column=value; `name__isnull=True` for IS NULL), or None.

    `where` must name a unique combination; `related` names a foreign key to
    fetch in the same query, as select_related would (the relation must not be null).
    `for_update` locks the rows read until the transaction ends, as select_for_update
    does (where the database has row locks).
    """
    keys = tuple(sorted(where))
    for key in keys:
        if key.endswith("__isnull") and where[key] is not True:
            raise ValueError(f"{key}: only True is supported")
    params = [where[key] for key in keys if not key.endswith("__isnull")]
    with planned_cursor() as cursor:
        lock = " FOR UPDATE" if for_update and connection.features.has_select_for_update else ""
        cursor.execute(_sql(model, keys, related) + lock, params)
        rows = cursor.fetchall()
    if not rows:
        return None
    if len(rows) > 1:
        raise model.MultipleObjectsReturned(f"{model.__name__}: more than one row for {where}")
    row = list(rows[0])
    own = len(_shape(model)[1])
    instance = _instance(model, row[:own])
    if related:
        target = model._meta.get_field(related).related_model
        setattr(instance, related, _instance(target, row[own:]))
    return instance


@cache
def _insert_shape(model: type[models.Model]) -> tuple[str, tuple[models.Field, ...]]:
    """The INSERT statement for a new row (the auto primary key returned) and the fields it writes."""
    meta = model._meta
    fields = tuple(field for field in meta.local_concrete_fields if field is not meta.auto_field)
    table = connection.ops.quote_name(meta.db_table)
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    returning = connection.ops.quote_name(meta.pk.column)
    sql = f"INSERT INTO {table} ({columns}) VALUES ({placeholders}) RETURNING {returning}"  # noqa: S608
    return sql, fields


def row_insert(instance: M) -> M:
    """Save a new instance in one INSERT, as `Model.objects.create` would, and return it.

    The values go through each field's pre_save and get_db_prep_save, as in the
    ORM's own insert; the primary key comes back with RETURNING. Instances of a
    model with save signals, a parent model or no auto primary key take the
    ORM's way instead, so nothing those would do is skipped; save() overrides
    are not called (the hot-path models have none that act on an insert).
    """
    model = type(instance)
    meta = model._meta
    ordinary = (
        meta.auto_field is not None
        and not meta.parents
        and not signals.pre_save.has_listeners(model)
        and not signals.post_save.has_listeners(model)
    )
    if not ordinary or instance.pk is not None or not connection.features.can_return_columns_from_insert:
        instance.save(force_insert=True)
        return instance
    sql, fields = _insert_shape(model)
    values = [field.get_db_prep_save(field.pre_save(instance, True), connection) for field in fields]
    with planned_cursor() as cursor:
        cursor.execute(sql, values)
        instance.pk = cursor.fetchone()[0]
    instance._state.adding = False
    instance._state.db = connection.alias
    return instance
