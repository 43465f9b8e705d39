"""Conditions on a set of values: one array parameter on PostgreSQL, an expanding IN on SQLite.

An IN list of 500 parameters is a statement of its own for each batch size: psycopg parses
its text anew every time (it caches only short statements) and the server plans it anew.
`= ANY(array)` is one statement whatever the size, which psycopg prepares once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Connection, any_, bindparam
from sqlalchemy.dialects.postgresql import ARRAY

S = TypeVar("S")


def in_set(column: ColumnElement[Any], name: str, dialect: str) -> ColumnElement[bool]:
    """`column` is one of the values given as the parameter `name` (a list)."""
    if dialect == "postgresql":
        return column == any_(bindparam(name, type_=ARRAY(column.type)))
    return column.in_(bindparam(name, expanding=True))


class ByDialect(Generic[S]):
    """A statement built once for each database kind it runs on: `STATEMENT(conn)`."""

    def __init__(self, build: Callable[[str], S]) -> None:
        self._build = build
        self._built: dict[str, S] = {}

    def __call__(self, conn: Connection) -> S:
        name = conn.dialect.name
        if name not in self._built:
            self._built[name] = self._build(name)
        return self._built[name]
