"""Statements that write a batch of rows: compiled once, one round trip for the whole batch.

SQLAlchemy's per-row parameter handling was most of the time of recording a batch, on a
thread that shares the GIL with the sending: each row's values go through the columns' own
bind processors alone. On PostgreSQL the batch is one statement whose columns arrive as
arrays (`unnest`): the server plans it once instead of executing it once per row, which
halved its work per row and a third of the client's. SQLite runs the statement per row
(executemany), which costs it little: it has no server to talk to.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Dialect, Table, bindparam, insert, update


def update_rows(
    conn: Connection,
    table: Table,
    columns: Sequence[str],
    rows: list[dict[str, Any]],
    *,
    same: dict[str, Any],
    only_where: dict[str, Any] | None = None,
) -> None:
    """Set `columns` of each row (found by its "id") to its values, and `same` on every row;
    `only_where`: only rows whose columns hold these values."""
    only_where = only_where or {}
    key = (conn.dialect, table, tuple(columns), tuple(same), tuple(only_where))
    # A condition's parameter is named apart: a column may be both set and tested.
    constant = same | {f"where_{name}": value for name, value in only_where.items()}
    if conn.dialect.name == "postgresql":
        # UPDATE ... FROM sets a row once, from any one of its matches; one statement per
        # row set it for each in turn, the last standing: the last row of an id is kept.
        last = list({row["id"]: row for row in rows}.values())
        arrays = _array_update(*key)
        conn.exec_driver_sql(arrays.sql, arrays.parameters(last, constant))
        return
    statement = _update(*key)
    conn.exec_driver_sql(statement.sql, statement.parameters(rows, constant))


def insert_rows(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert the rows in their order; the table's defaults fill the columns a row leaves out."""
    # A statement takes the columns of its first row: rows that give others go in their own.
    for _, alike in itertools.groupby(rows, key=_columns):
        _insert_alike(conn, table, list(alike))


def _columns(row: dict[str, Any]) -> tuple[str, ...]:
    return tuple(row)


def _insert_alike(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    fields = tuple(rows[0])
    if conn.dialect.name == "postgresql":
        arrays = _array_insert(conn.dialect, table, fields)
        conn.exec_driver_sql(arrays.sql, arrays.parameters(rows, {}))
        return
    statement = _insert(conn.dialect, table, fields)
    conn.exec_driver_sql(statement.sql, statement.parameters(rows, {}))


# --- one statement per row (executemany) ------------------------------------------------------


@dataclass(frozen=True)
class _PerRow:
    sql: str
    names: tuple[str, ...]  # the parameters, in the statement's order
    positional: bool
    processors: tuple[tuple[int, Callable[[Any], Any]], ...]  # by position in `names`
    fixed: dict[str, Any]  # the values the statement gives itself (claimed_by: None...)

    def parameters(self, rows: list[dict[str, Any]], constant: dict[str, Any]) -> list[Any]:
        constant = self.fixed | constant
        converted: list[Any] = []
        for row in rows:
            given = row | constant
            values = [given[name] for name in self.names]
            for index, processor in self.processors:
                if values[index] is not None:
                    values[index] = processor(values[index])
            converted.append(
                tuple(values) if self.positional else dict(zip(self.names, values, strict=True))
            )
        return converted


@functools.cache
def _update(
    dialect: Dialect,
    table: Table,
    columns: tuple[str, ...],
    same: tuple[str, ...],
    only_where: tuple[str, ...],
) -> _PerRow:
    where = [table.c.id == bindparam("id")]
    where += [table.c[name] == bindparam(f"where_{name}") for name in only_where]
    values: dict[str, Any] = {name: bindparam(name) for name in columns}
    values |= {name: bindparam(name, type_=table.c[name].type) for name in same}
    return _PerRow(*_compile(update(table).where(*where).values(values), dialect))


@functools.cache
def _insert(dialect: Dialect, table: Table, fields: tuple[str, ...]) -> _PerRow:
    values: dict[str, Any] = {name: bindparam(name, type_=table.c[name].type) for name in fields}
    for name, default in _defaults(table, fields).items():
        values[name] = default
    return _PerRow(*_compile(insert(table).inline().values(values), dialect))


def _compile(statement: Any, dialect: Dialect) -> tuple[Any, ...]:
    compiled = statement.compile(dialect=dialect)
    if compiled.positional:
        names = tuple(compiled.positiontup or ())
    else:  # named (psycopg's %(name)s): the binds the statement holds
        names = tuple(n for n in compiled.binds if f"%({n})s" in compiled.string)
    processors = []
    for index, name in enumerate(names):
        processor = compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
        if processor is not None:
            processors.append((index, processor))
    fixed = {name: bind.value for name, bind in compiled.binds.items() if not bind.required}
    return compiled.string, names, compiled.positional, tuple(processors), fixed


def _defaults(table: Table, fields: tuple[str, ...]) -> dict[str, Any]:
    """The defaults SQLAlchemy would have filled in per row."""
    return {
        column.name: getattr(column.default, "arg", None)
        for column in table.columns
        if column.name not in fields and column.default is not None
    }


# --- PostgreSQL: one statement, the columns as arrays -----------------------------------------


@dataclass(frozen=True)
class _Arrays:
    sql: str
    columns: tuple[str, ...]  # sent as one array each, in this order
    processors: tuple[Callable[[Any], Any] | None, ...]  # by position in `columns`
    fixed: dict[str, Any]
    scalars: dict[str, Callable[[Any], Any]]  # the constants' processors, by parameter

    def parameters(self, rows: list[dict[str, Any]], constant: dict[str, Any]) -> dict[str, Any]:
        given = dict(self.fixed)
        for name, value in constant.items():
            processor = self.scalars.get(name)
            given[name] = value if processor is None or value is None else processor(value)
        for index, name in enumerate(self.columns):
            values = [row[name] for row in rows]
            processor = self.processors[index]
            if processor is not None:
                values = [None if v is None else processor(v) for v in values]
            given[f"a{index}"] = values
        return given


@functools.cache
def _array_update(
    dialect: Dialect,
    table: Table,
    columns: tuple[str, ...],
    same: tuple[str, ...],
    only_where: tuple[str, ...],
) -> _Arrays:
    quote = dialect.identifier_preparer.quote
    name = quote(table.name)
    given = ("id", *columns)
    sets = [f"{quote(c)} = u.{quote(c)}" for c in columns]
    sets += [f"{quote(c)} = %({c})s" for c in same]
    where = [f"{name}.id = u.id"] + [f"{name}.{quote(c)} = %(where_{c})s" for c in only_where]
    sql = (
        f"UPDATE {name} SET {', '.join(sets)} FROM {_unnest(dialect, table, given)}"
        f" WHERE {' AND '.join(where)}"
    )
    scalars = {c: _processors(dialect, table, (c,))[0] for c in same}
    scalars |= {f"where_{c}": _processors(dialect, table, (c,))[0] for c in only_where}
    kept = {name: p for name, p in scalars.items() if p is not None}
    return _Arrays(sql, given, _processors(dialect, table, given), {}, kept)


@functools.cache
def _array_insert(dialect: Dialect, table: Table, fields: tuple[str, ...]) -> _Arrays:
    quote = dialect.identifier_preparer.quote
    defaults = _defaults(table, fields)
    names = [*fields, *defaults]
    values = [f"u.{quote(f)}" for f in fields] + [f"%(d_{c})s" for c in defaults]
    # In the batch's order: the rows' ids follow it, as they did one insert after another.
    sql = (
        f"INSERT INTO {quote(table.name)} ({', '.join(quote(n) for n in names)})"
        f" SELECT {', '.join(values)} FROM {_unnest(dialect, table, fields, ordered=True)}"
        " ORDER BY u.n"
    )
    fixed = {f"d_{c}": _bound(dialect, table, c, v) for c, v in defaults.items()}
    return _Arrays(sql, fields, _processors(dialect, table, fields), fixed, {})


def _unnest(dialect: Dialect, table: Table, columns: tuple[str, ...], ordered: bool = False) -> str:
    quote = dialect.identifier_preparer.quote
    arrays = ", ".join(
        f"%(a{i})b::{table.c[c].type.compile(dialect=dialect)}[]" for i, c in enumerate(columns)
    )
    names = ", ".join(quote(c) for c in columns) + (", n" if ordered else "")
    return f"unnest({arrays}){' WITH ORDINALITY' if ordered else ''} AS u({names})"


def _processors(
    dialect: Dialect, table: Table, columns: tuple[str, ...]
) -> tuple[Callable[[Any], Any] | None, ...]:
    return tuple(table.c[c].type.dialect_impl(dialect).bind_processor(dialect) for c in columns)


def _bound(dialect: Dialect, table: Table, column: str, value: Any) -> Any:
    processor = table.c[column].type.dialect_impl(dialect).bind_processor(dialect)
    return value if processor is None or value is None else processor(value)
