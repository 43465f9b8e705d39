"""Dashboard sessions: password login with a rate limit, session cookies and their CSRF tokens.

The cookie carries a random token; the database keeps only its SHA-256, so a stolen table
opens no session. Each session has its own CSRF token, which every form sends back.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import Connection

from mailcast.context import Context
from mailcast.store import sessions as store
from mailcast.users.service import User, UserError, get_user_by_id, verify_password

SESSION_COOKIE = "mailcast_session"
# last_seen_at is written at most this often: a page polling every second costs no write.
_TOUCH_EVERY = dt.timedelta(minutes=1)
_UNKNOWN_PEER = "unknown"


class LoginRefused(UserError):
    """The user name or the password is wrong (which one is not said), or the user is disabled."""

    def __init__(self) -> None:
        super().__init__("wrong user name or password")


class LoginThrottled(UserError):
    """Too many failed logins lately for this user name or from this address."""

    def __init__(self, minutes: float) -> None:
        super().__init__(
            f"too many failed logins: try again in {minutes:g} minutes"
            " (the limit counts per user name and per address)"
        )


def login(ctx: Context, name: str, password: str, peer: str | None) -> User:
    """The user with this name and password; LoginRefused or LoginThrottled otherwise."""
    name, peer = name.strip(), peer or _UNKNOWN_PEER
    now = ctx.clock.now()
    _check_not_throttled(ctx, name, peer, now)
    user = verify_password(ctx.db, name, password)
    if user is None:
        _record_failure(ctx, name, peer, now)
        raise LoginRefused()
    _forget_failures(ctx, name, now)
    return user


def open_session(
    ctx: Context, user: User, peer: str | None, user_agent: str | None
) -> tuple[str, str]:
    """A new session for the user: (cookie token, CSRF token)."""
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    now = ctx.clock.now()
    expires_at = now + dt.timedelta(hours=ctx.settings.sessions.lifetime_hours)
    with ctx.db.write() as conn:
        store.delete_expired_sessions(conn, now)
        store.insert_session(conn, _digest(token), user.id, csrf, now, expires_at, peer, user_agent)
    return token, csrf


def session_user(ctx: Context, token: str) -> tuple[User, str] | None:
    """(user, CSRF token) of a live session; None when unknown, expired, revoked or disabled."""
    now = ctx.clock.now()
    with ctx.db.read() as conn:
        found = store.find_live_session(conn, _digest(token), now)
    if found is None:
        return None
    user = get_user_by_id(ctx.db, found.user_id)
    if user is None:
        return None
    if now - found.last_seen_at >= _TOUCH_EVERY:
        with ctx.db.write() as conn:
            store.touch_session(conn, _digest(token), now)
    return user, found.csrf_token


def close_session(ctx: Context, token: str) -> None:
    """Log out: the session ends at once (an unknown token is fine)."""
    with ctx.db.write() as conn:
        store.delete_session(conn, _digest(token))


def close_sessions_of(conn: Connection, user_id: int) -> int:
    """End every session of the user (password changed); returns how many were open."""
    return store.delete_sessions_of(conn, user_id)


def csrf_matches(expected: str, given: str | None) -> bool:
    """Constant-time comparison of a form's CSRF token with the expected one."""
    return bool(given) and secrets.compare_digest(expected.encode(), str(given).encode())


def _check_not_throttled(ctx: Context, name: str, peer: str, now: dt.datetime) -> None:
    limits = ctx.settings.sessions
    since = now - dt.timedelta(minutes=limits.login_window_minutes)
    with ctx.db.read() as conn:
        by_name, by_peer = store.failures_since(conn, name, peer, since)
    if max(by_name, by_peer) >= limits.login_attempts:
        raise LoginThrottled(limits.login_window_minutes)


def _record_failure(ctx: Context, name: str, peer: str, now: dt.datetime) -> None:
    with ctx.db.write() as conn:
        store.insert_failure(conn, name, peer, now)


def _forget_failures(ctx: Context, name: str, now: dt.datetime) -> None:
    # A successful login clears the name's count; old failures of anyone are purged here too.
    since = now - dt.timedelta(minutes=ctx.settings.sessions.login_window_minutes)
    with ctx.db.write() as conn:
        store.delete_failures_of(conn, name)
        store.delete_failures_before(conn, since)


def _digest(token: str) -> str:
    # 256 random bits: a plain SHA-256 is enough, and keeps the lookup an indexed equality.
    return hashlib.sha256(token.encode()).hexdigest()
