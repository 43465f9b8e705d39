"""Named queries on users, their roles and their API tokens."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from mailcast.store.tables import api_tokens, user_roles, users


@dataclass(frozen=True, slots=True)
class UserRow:
    id: int
    name: str
    password_hash: str | None
    disabled: bool
    created_at: dt.datetime
    roles: frozenset[str]


@dataclass(frozen=True, slots=True)
class TokenRow:
    id: int
    user_id: int
    label: str | None
    created_at: dt.datetime
    revoked_at: dt.datetime | None


_USER_COLUMNS = (
    users.c.id,
    users.c.name,
    users.c.password_hash,
    users.c.disabled,
    users.c.created_at,
)


def insert_user(
    conn: Connection, name: str, password_hash: str | None, now: dt.datetime
) -> int | None:
    """Create a user; None when the name is already taken."""
    # A savepoint, so that losing a race on the unique name leaves the transaction usable
    # (PostgreSQL aborts the whole transaction on a failed statement otherwise).
    try:
        with conn.begin_nested():
            result = conn.execute(
                insert(users)
                .values(name=name, password_hash=password_hash, disabled=False, created_at=now)
                .returning(users.c.id)
            )
            return int(result.scalar_one())
    except IntegrityError:
        return None


def find_user(conn: Connection, name: str) -> UserRow | None:
    return _one_user(conn, users.c.name == name)


def find_user_by_id(conn: Connection, user_id: int) -> UserRow | None:
    return _one_user(conn, users.c.id == user_id)


def find_user_by_token_hash(conn: Connection, token_hash: str) -> UserRow | None:
    """The enabled owner of a token that is not revoked."""
    owner = (
        select(api_tokens.c.user_id)
        .where(api_tokens.c.token_hash == token_hash, api_tokens.c.revoked_at.is_(None))
        .scalar_subquery()
    )
    row = _one_user(conn, users.c.id == owner)
    return row if row is not None and not row.disabled else None


def all_users(conn: Connection) -> list[UserRow]:
    roles = _roles_by_user(conn, None)
    rows = conn.execute(select(*_USER_COLUMNS).order_by(users.c.name))
    return [_user_row(row, roles.get(row.id, frozenset())) for row in rows]


def replace_roles(conn: Connection, user_id: int, roles: Iterable[str]) -> None:
    conn.execute(delete(user_roles).where(user_roles.c.user_id == user_id))
    rows = [{"user_id": user_id, "role": role} for role in sorted(set(roles))]
    if rows:
        conn.execute(insert(user_roles), rows)


def update_password_hash(conn: Connection, user_id: int, password_hash: str | None) -> None:
    conn.execute(update(users).where(users.c.id == user_id).values(password_hash=password_hash))


def update_disabled(conn: Connection, user_id: int, disabled: bool) -> None:
    conn.execute(update(users).where(users.c.id == user_id).values(disabled=disabled))


def insert_token(
    conn: Connection, user_id: int, token_hash: str, label: str | None, now: dt.datetime
) -> int:
    result = conn.execute(
        insert(api_tokens)
        .values(user_id=user_id, token_hash=token_hash, label=label, created_at=now)
        .returning(api_tokens.c.id)
    )
    return int(result.scalar_one())


def revoke_token_by_hash(conn: Connection, token_hash: str, now: dt.datetime) -> bool:
    """Revoke one live token; False when there was none to revoke."""
    result = conn.execute(
        update(api_tokens)
        .where(api_tokens.c.token_hash == token_hash, api_tokens.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return bool(result.rowcount)


def revoke_user_token(conn: Connection, user_id: int, token_id: int, now: dt.datetime) -> bool:
    result = conn.execute(
        update(api_tokens)
        .where(
            api_tokens.c.id == token_id,
            api_tokens.c.user_id == user_id,
            api_tokens.c.revoked_at.is_(None),
        )
        .values(revoked_at=now)
    )
    return bool(result.rowcount)


def tokens_of(conn: Connection, user_id: int) -> list[TokenRow]:
    query = (
        select(
            api_tokens.c.id,
            api_tokens.c.user_id,
            api_tokens.c.label,
            api_tokens.c.created_at,
            api_tokens.c.revoked_at,
        )
        .where(api_tokens.c.user_id == user_id)
        .order_by(api_tokens.c.id)
    )
    return [
        TokenRow(
            id=row.id,
            user_id=row.user_id,
            label=row.label,
            created_at=row.created_at,
            revoked_at=row.revoked_at,
        )
        for row in conn.execute(query)
    ]


def _one_user(conn: Connection, condition: ColumnElement[bool]) -> UserRow | None:
    row = conn.execute(select(*_USER_COLUMNS).where(condition)).one_or_none()
    if row is None:
        return None
    return _user_row(row, _roles_by_user(conn, row.id).get(row.id, frozenset()))


def _roles_by_user(conn: Connection, user_id: int | None) -> dict[int, frozenset[str]]:
    query = select(user_roles.c.user_id, user_roles.c.role)
    if user_id is not None:
        query = query.where(user_roles.c.user_id == user_id)
    found: dict[int, set[str]] = defaultdict(set)
    for row in conn.execute(query):
        found[row.user_id].add(row.role)
    return {uid: frozenset(roles) for uid, roles in found.items()}


def _user_row(row: Any, roles: frozenset[str]) -> UserRow:
    return UserRow(
        id=row.id,
        name=row.name,
        password_hash=row.password_hash,
        disabled=bool(row.disabled),
        created_at=row.created_at,
        roles=roles,
    )
