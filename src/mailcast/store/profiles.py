"""Named queries on profiles, lists and list members, the same on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import (
    JSON,
    Connection,
    Float,
    RowMapping,
    Select,
    String,
    and_,
    cast,
    exists,
    func,
    select,
    update,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import ColumnElement
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from mailcast.store.db import insert_on_conflict
from mailcast.store.tables import address_states, list_members, lists, profiles

# Keeps every IN (...) well under SQLite's and PostgreSQL's bound-parameter limits.
_IN_CHUNK = 1000

# A position in the target order: (email_key, profile id); email_key None sorts first.
Position = tuple[str | None, int]


def _chunks(values: Sequence[Any], size: int = _IN_CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


# --- Lists ----------------------------------------------------------------------------------


def ensure_list(conn: Connection, name: str, now: dt.datetime) -> int:
    """The id of the list called `name`, created when missing."""
    if not name.strip() or len(name) > lists.c.name.type.length:  # type: ignore[attr-defined]
        raise ValueError(f"a list name must have 1 to 200 characters, not {name!r}")
    stmt = insert_on_conflict(conn, lists).values(name=name, created_at=now)
    conn.execute(stmt.on_conflict_do_nothing(index_elements=[lists.c.name]))
    return int(conn.execute(select(lists.c.id).where(lists.c.name == name)).scalar_one())


def list_names(conn: Connection) -> list[str]:
    return list(conn.execute(select(lists.c.name).order_by(lists.c.name)).scalars())


def list_ids(conn: Connection, names: Iterable[str]) -> dict[str, int]:
    """The ids of the lists among `names` that exist, by name."""
    query = select(lists.c.name, lists.c.id).where(lists.c.name.in_(list(names)))
    return {row.name: int(row.id) for row in conn.execute(query)}


def list_sizes(conn: Connection) -> dict[str, int]:
    query = (
        select(lists.c.name, func.count(list_members.c.profile_id))
        .select_from(lists.outerjoin(list_members))
        .group_by(lists.c.name)
    )
    return {name: int(count) for name, count in conn.execute(query)}


def add_members(conn: Connection, list_id: int, profile_ids: Sequence[int]) -> None:
    """Make the profiles members of the list; members already there stay as they are."""
    if profile_ids:
        stmt = insert_on_conflict(conn, list_members).on_conflict_do_nothing()
        conn.execute(stmt, [{"list_id": list_id, "profile_id": pid} for pid in profile_ids])


def member_ids(conn: Connection, list_id: int) -> list[int]:
    query = select(list_members.c.profile_id).where(list_members.c.list_id == list_id)
    return sorted(int(pid) for pid in conn.execute(query).scalars())


# --- Profiles -------------------------------------------------------------------------------


def max_profile_id(conn: Connection) -> int:
    return int(conn.execute(select(func.coalesce(func.max(profiles.c.id), 0))).scalar_one())


def profile_ids_by_email(conn: Connection, emails: Sequence[str]) -> dict[str, int]:
    """The ids of the profiles that already hold these addresses (exactly as stored)."""
    found: dict[str, int] = {}
    for part in _chunks(emails):
        query = select(profiles.c.email, profiles.c.id).where(profiles.c.email.in_(part))
        found.update({row.email: int(row.id) for row in conn.execute(query)})
    return found


def upsert_profiles(
    conn: Connection, rows: Sequence[dict[str, Any]], now: dt.datetime
) -> list[int]:
    """Insert profiles, or merge them into the profile holding the same `email`.

    Each row has email, email_key, first_name, last_name, attributes; no two rows may share
    an email. A merge keeps names the row leaves empty, merges the attribute dicts (the row's
    values win) and never touches `email_subscribed`: an unsubscribed contact stays so.
    Returns the profile ids, in no particular order.
    """
    if not rows:
        return []
    stmt = insert_on_conflict(conn, profiles)
    new = stmt.excluded
    stmt = stmt.on_conflict_do_update(
        index_elements=[profiles.c.email],
        set_={
            "email_key": new.email_key,
            "first_name": func.coalesce(new.first_name, profiles.c.first_name),
            "last_name": func.coalesce(new.last_name, profiles.c.last_name),
            "attributes": _merged_attributes(conn, new.attributes),
            "updated_at": new.updated_at,
        },
    )
    values = [
        {**row, "email_subscribed": True, "created_at": now, "updated_at": now} for row in rows
    ]
    return [int(pid) for pid in conn.execute(stmt.returning(profiles.c.id), values).scalars()]


def _merged_attributes(conn: Connection, incoming: ColumnElement[Any]) -> ColumnElement[Any]:
    # Attribute values are flat strings, so a JSON merge patch is a plain dict update.
    if conn.dialect.name == "postgresql":
        merged = cast(profiles.c.attributes, postgresql.JSONB).op("||")(
            cast(incoming, postgresql.JSONB)
        )
        return cast(merged, JSON)
    return func.json_patch(profiles.c.attributes, incoming)


def insert_profile(conn: Connection, values: dict[str, Any], now: dt.datetime) -> int:
    """A new profile as given (no merge): e.g. one without an address."""
    row = {"attributes": {}, "email_subscribed": True, "created_at": now, "updated_at": now}
    stmt = insert_on_conflict(conn, profiles).values({**row, **values}).returning(profiles.c.id)
    return int(conn.execute(stmt).scalar_one())


def get_profile(conn: Connection, profile_id: int) -> RowMapping | None:
    query = select(profiles).where(profiles.c.id == profile_id)
    return conn.execute(query).mappings().first()


def get_profile_by_email(conn: Connection, email: str) -> RowMapping | None:
    return conn.execute(select(profiles).where(profiles.c.email == email)).mappings().first()


def count_profiles(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(profiles)).scalar_one())


def set_email_subscribed(
    conn: Connection, profile_id: int, subscribed: bool, now: dt.datetime
) -> None:
    conn.execute(
        update(profiles)
        .where(profiles.c.id == profile_id)
        .values(email_subscribed=subscribed, updated_at=now)
    )


# --- Targets --------------------------------------------------------------------------------


def _in_lists(list_ids: Sequence[int]) -> ColumnElement[bool]:
    # EXISTS, not a join: a profile in several of the lists is still one recipient.
    return exists().where(
        list_members.c.profile_id == profiles.c.id, list_members.c.list_id.in_(list_ids)
    )


def _target_where(
    list_ids: Sequence[int], condition: ColumnElement[bool] | None
) -> ColumnElement[bool]:
    where = _in_lists(list_ids)
    return where if condition is None else and_(where, condition)


def count_target(
    conn: Connection, list_ids: Sequence[int], condition: ColumnElement[bool] | None
) -> int:
    query = select(func.count()).select_from(profiles).where(_target_where(list_ids, condition))
    return int(conn.execute(query).scalar_one())


def target_page(
    conn: Connection,
    list_ids: Sequence[int],
    condition: ColumnElement[bool] | None,
    after: Position | None,
    limit: int,
) -> list[RowMapping]:
    """The next `limit` target rows after `after`, in (email_key, id) order, NULL keys first.

    Keyset pagination in two runs, each walking an index: first the profiles without an
    address by id, then the others by (email_key, id). `after` is the last row of the
    previous page (None for the first page). Fewer than `limit` rows means the end.
    """
    where = _target_where(list_ids, condition)
    rows: list[RowMapping] = []
    if after is None or after[0] is None:
        last_id = 0 if after is None else after[1]
        keyless = profiles.c.email_key.is_(None) & (profiles.c.id > last_id)
        query = _target_select().where(where, keyless).order_by(profiles.c.id)
        rows = list(conn.execute(query.limit(limit)).mappings())
        if len(rows) == limit:
            return rows
        after = None
    keyed: ColumnElement[bool] = profiles.c.email_key.is_not(None)
    if after is not None:
        key, last_id = after
        # The first conjunct alone is what both databases can answer from the index.
        keyed = and_(
            profiles.c.email_key >= key,
            (profiles.c.email_key > key) | (profiles.c.id > last_id),
        )
    query = _target_select().where(where, keyed).order_by(profiles.c.email_key, profiles.c.id)
    rows.extend(conn.execute(query.limit(limit - len(rows))).mappings())
    return rows


def _target_select() -> Select[Any]:
    joined = profiles.outerjoin(address_states, address_states.c.address == profiles.c.email_key)
    return select(
        profiles.c.id,
        profiles.c.email,
        profiles.c.email_key,
        profiles.c.first_name,
        profiles.c.last_name,
        profiles.c.attributes,
        profiles.c.email_subscribed,
        address_states.c.status.label("address_status"),
    ).select_from(joined)


# --- Expressions for the filter language ----------------------------------------------------


def attribute_text(name: str) -> ColumnElement[str]:
    """A custom attribute as text; NULL when the profile does not have it."""
    return profiles.c.attributes[name].as_string()


class attribute_number(FunctionElement[float]):
    """A custom attribute as a number; NULL unless its text is a JSON number.

    The guard keeps both databases alike: PostgreSQL would fail on CAST('abc' AS FLOAT) and
    SQLite would read it as 0. Exponents of three digits or more are not numbers, so that no
    value overflows a double on either side.
    """

    type = Float()
    name = "attribute_number"
    inherit_cache = True

    def __init__(self, name: str) -> None:
        super().__init__(attribute_text(name))


@compiles(attribute_number, "sqlite")
def _attribute_number_sqlite(element: attribute_number, compiler: SQLCompiler, **kw: Any) -> str:
    text = compiler.process(element.clauses, **kw)
    return (
        f"CASE WHEN json_valid({text}) THEN CASE WHEN json_type({text}) IN ('integer', 'real')"
        f" AND {text} NOT GLOB '*[eE]*[0-9][0-9][0-9]*' THEN CAST({text} AS REAL) END END"
    )


@compiles(attribute_number, "postgresql")
def _attribute_number_pg(element: attribute_number, compiler: SQLCompiler, **kw: Any) -> str:
    text = compiler.process(element.clauses, **kw)
    number = "^[[:space:]]*-?(0|[1-9][0-9]*)([.][0-9]+)?([eE][+-]?[0-9]{1,2})?[[:space:]]*$"
    return f"CASE WHEN {text} ~ '{number}' THEN CAST({text} AS DOUBLE PRECISION) END"


class email_domain(FunctionElement[str]):
    """The part of a profile's case-folded address after the @."""

    type = String()
    name = "email_domain"
    inherit_cache = True

    def __init__(self) -> None:
        super().__init__(profiles.c.email_key)


@compiles(email_domain, "sqlite")
def _email_domain_sqlite(element: email_domain, compiler: SQLCompiler, **kw: Any) -> str:
    key = compiler.process(element.clauses, **kw)
    return f"substr({key}, instr({key}, '@') + 1)"


@compiles(email_domain, "postgresql")
def _email_domain_pg(element: email_domain, compiler: SQLCompiler, **kw: Any) -> str:
    key = compiler.process(element.clauses, **kw)
    return f"substr({key}, strpos({key}, '@') + 1)"


def profiles_page(conn: Connection, after: int = 0, limit: int = 100) -> list[RowMapping]:
    """Profiles by id, the `limit` next ones after the id `after` (keyset pagination)."""
    query = select(profiles).where(profiles.c.id > after).order_by(profiles.c.id).limit(limit)
    return list(conn.execute(query).mappings())


def lists_of(conn: Connection, profile_id: int) -> list[str]:
    """The names of the lists the profile belongs to."""
    query = (
        select(lists.c.name)
        .join(list_members, list_members.c.list_id == lists.c.id)
        .where(list_members.c.profile_id == profile_id)
        .order_by(lists.c.name)
    )
    return list(conn.execute(query).scalars())
