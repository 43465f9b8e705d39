"""Named queries on dashboard sessions and on failed logins (the login rate limit)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Connection, delete, func, insert, select, update

from mailcast.store.tables import login_failures, sessions, users


@dataclass(frozen=True, slots=True)
class SessionRow:
    user_id: int
    csrf_token: str
    last_seen_at: dt.datetime
    expires_at: dt.datetime


def insert_session(
    conn: Connection,
    token_hash: str,
    user_id: int,
    csrf_token: str,
    now: dt.datetime,
    expires_at: dt.datetime,
    peer: str | None,
    user_agent: str | None,
) -> None:
    conn.execute(
        insert(sessions).values(
            token_hash=token_hash,
            user_id=user_id,
            csrf_token=csrf_token,
            created_at=now,
            last_seen_at=now,
            expires_at=expires_at,
            peer=peer[:100] if peer else None,
            user_agent=user_agent[:300] if user_agent else None,
        )
    )


def find_live_session(conn: Connection, token_hash: str, now: dt.datetime) -> SessionRow | None:
    """The session, unless it expired or its user is disabled."""
    query = (
        select(
            sessions.c.user_id,
            sessions.c.csrf_token,
            sessions.c.last_seen_at,
            sessions.c.expires_at,
        )
        .join(users, users.c.id == sessions.c.user_id)
        .where(
            sessions.c.token_hash == token_hash,
            sessions.c.expires_at > now,
            users.c.disabled.is_(False),
        )
    )
    row = conn.execute(query).one_or_none()
    if row is None:
        return None
    return SessionRow(row.user_id, row.csrf_token, row.last_seen_at, row.expires_at)


def touch_session(conn: Connection, token_hash: str, now: dt.datetime) -> None:
    conn.execute(
        update(sessions).where(sessions.c.token_hash == token_hash).values(last_seen_at=now)
    )


def delete_session(conn: Connection, token_hash: str) -> None:
    conn.execute(delete(sessions).where(sessions.c.token_hash == token_hash))


def delete_sessions_of(conn: Connection, user_id: int) -> int:
    """End every session of the user; returns how many there were."""
    result = conn.execute(delete(sessions).where(sessions.c.user_id == user_id))
    return int(result.rowcount)


def delete_expired_sessions(conn: Connection, now: dt.datetime) -> int:
    result = conn.execute(delete(sessions).where(sessions.c.expires_at <= now))
    return int(result.rowcount)


def count_sessions_of(conn: Connection, user_id: int) -> int:
    query = select(func.count()).where(sessions.c.user_id == user_id)
    return int(conn.execute(query).scalar_one())


# --- Failed logins --------------------------------------------------------------------------


def insert_failure(conn: Connection, username: str, peer: str, now: dt.datetime) -> None:
    conn.execute(insert(login_failures).values(username=username[:100], peer=peer[:100], at=now))


def failures_since(
    conn: Connection, username: str, peer: str, since: dt.datetime
) -> tuple[int, int]:
    """Failed logins since the moment: (for this user name, from this peer)."""
    recent = login_failures.c.at > since
    by_name = select(func.count()).where(login_failures.c.username == username[:100], recent)
    by_peer = select(func.count()).where(login_failures.c.peer == peer[:100], recent)
    return int(conn.execute(by_name).scalar_one()), int(conn.execute(by_peer).scalar_one())


def delete_failures_of(conn: Connection, username: str) -> None:
    conn.execute(delete(login_failures).where(login_failures.c.username == username[:100]))


def delete_failures_before(conn: Connection, before: dt.datetime) -> None:
    conn.execute(delete(login_failures).where(login_failures.c.at <= before))
