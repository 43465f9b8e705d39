"""User accounts, argon2 passwords, API tokens and role checks, shared by the CLI and the API."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from mailcast.clock import Clock
from mailcast.domain import Action, Role, missing_role
from mailcast.store import sessions as session_store
from mailcast.store import users as store
from mailcast.store.db import Database

TOKEN_PREFIX = "mc_"
MAX_NAME_LENGTH = 100
# The password is hashed, so its length only bounds the hashing work; the label is a column.
MAX_PASSWORD_LENGTH = 1000
MAX_LABEL_LENGTH = 100
MIN_PASSWORD_LENGTH = 8

_hasher = PasswordHasher()
_KNOWN_ROLES = frozenset(role.value for role in Role)


@dataclass(frozen=True)
class User:
    id: int
    name: str
    roles: frozenset[Role]


@dataclass(frozen=True)
class TokenInfo:
    """What is known of a token once it is issued: never the token itself."""

    id: int
    label: str | None
    created_at: dt.datetime
    revoked_at: dt.datetime | None


class UserError(ValueError):
    """A request about users that cannot be done: the message says why."""


class UnknownUser(UserError):
    def __init__(self, name: str) -> None:
        super().__init__(f"no user named '{name}'")
        self.name = name


class PermissionDenied(Exception):
    """A user tried an action their roles do not allow; nothing was changed."""

    def __init__(self, user: str, action: Action, role: Role) -> None:
        super().__init__(f"user '{user}' may not {action}: the role '{role}' is missing")
        self.user = user
        self.action = action
        self.missing_role = role


# --- Authorization --------------------------------------------------------------------------


def authorize(user: User, action: Action) -> None:
    """Raise PermissionDenied unless the user's roles allow the action (SPEC §2)."""
    role = missing_role(user.roles, action)
    if role is not None:
        raise PermissionDenied(user.name, action, role)


def may(user: User, action: Action) -> bool:
    return missing_role(user.roles, action) is None


# --- Accounts -------------------------------------------------------------------------------


def add_user(
    db: Database,
    name: str,
    roles: Iterable[Role | str],
    password: str | None,
    clock: Clock,
) -> User:
    """Create a user; without a password the user can only work through API tokens."""
    name = _checked_name(name)
    granted = parse_roles(roles)
    # Hash before the transaction: argon2 is slow on purpose, the write lock should not wait.
    password_hash = _hash(password) if password is not None else None
    with db.write() as conn:
        user_id = store.insert_user(conn, name, password_hash, clock.now())
        if user_id is None:
            raise UserError(f"a user named '{name}' already exists")
        store.replace_roles(conn, user_id, granted)
    return User(id=user_id, name=name, roles=granted)


def get_user(db: Database, name: str) -> User | None:
    with db.read() as conn:
        row = store.find_user(conn, name)
    return _user(row) if row is not None else None


def get_user_by_id(db: Database, user_id: int) -> User | None:
    with db.read() as conn:
        row = store.find_user_by_id(conn, user_id)
    return _user(row) if row is not None else None


def list_users(db: Database) -> list[User]:
    with db.read() as conn:
        return [_user(row) for row in store.all_users(conn)]


def set_roles(db: Database, name: str, roles: Iterable[Role | str]) -> User:
    """Replace the user's roles with exactly these."""
    granted = parse_roles(roles)
    with db.write() as conn:
        row = _require(store.find_user(conn, name), name)
        store.replace_roles(conn, row.id, granted)
    return User(id=row.id, name=row.name, roles=granted)


def set_password(db: Database, name: str, password: str | None) -> None:
    """Set or (with None) remove the password; tokens keep working, sessions all end."""
    password_hash = _hash(password) if password is not None else None
    with db.write() as conn:
        row = _require(store.find_user(conn, name), name)
        store.update_password_hash(conn, row.id, password_hash)
        # Whoever logged in with the old password (perhaps not the owner) is logged out.
        session_store.delete_sessions_of(conn, row.id)


def set_disabled(db: Database, name: str, disabled: bool = True) -> None:
    """A disabled user keeps their history but can neither log in nor use a token."""
    with db.write() as conn:
        row = _require(store.find_user(conn, name), name)
        store.update_disabled(conn, row.id, disabled)


def parse_roles(roles: Iterable[Role | str]) -> frozenset[Role]:
    granted: set[Role] = set()
    for role in roles:
        try:
            granted.add(Role(role))
        except ValueError:
            known = ", ".join(r.value for r in Role)
            raise UserError(f"unknown role '{role}' (known roles: {known})") from None
    return frozenset(granted)


# --- Passwords ------------------------------------------------------------------------------


def verify_password(db: Database, name: str, password: str) -> User | None:
    """The user when the password is theirs and they are enabled, else None."""
    with db.read() as conn:
        row = store.find_user(conn, name)
    if row is None or row.password_hash is None:
        # Spend the same time as a real check, so response times do not reveal user names.
        _matches(_dummy_hash(), password)
        return None
    if not _matches(row.password_hash, password) or row.disabled:
        return None
    _rehash_if_outdated(db, row.id, row.password_hash, password)
    return _user(row)


def _rehash_if_outdated(db: Database, user_id: int, password_hash: str, password: str) -> None:
    # Hashes made with older argon2 parameters are upgraded at the next successful login.
    if _hasher.check_needs_rehash(password_hash):
        with db.write() as conn:
            store.update_password_hash(conn, user_id, _hasher.hash(password))


def _hash(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise UserError(f"a password has at most {MAX_PASSWORD_LENGTH} characters")
    return _hasher.hash(password)


def _matches(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@cache
def _dummy_hash() -> str:
    return _hasher.hash(secrets.token_urlsafe(16))


# --- API tokens -----------------------------------------------------------------------------


def create_token(db: Database, user: User, label: str | None, clock: Clock) -> str:
    """Issue a new token for the user; it is shown once, only its sha256 is kept."""
    if label is not None and len(label) > MAX_LABEL_LENGTH:
        raise UserError(f"a token's label has at most {MAX_LABEL_LENGTH} characters")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with db.write() as conn:
        store.insert_token(conn, user.id, _token_hash(token), label, clock.now())
    return token


def authenticate_token(db: Database, token: str) -> User | None:
    """The owner of a live token, or None (unknown, revoked, or the user is disabled)."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    with db.read() as conn:
        row = store.find_user_by_token_hash(conn, _token_hash(token))
    return _user(row) if row is not None else None


def revoke_token(db: Database, token: str, clock: Clock) -> bool:
    """Revoke a token by its value; False when it was unknown or already revoked."""
    with db.write() as conn:
        return store.revoke_token_by_hash(conn, _token_hash(token), clock.now())


def revoke_token_id(db: Database, name: str, token_id: int, clock: Clock) -> bool:
    """Revoke one of the user's tokens by its id (as `list_tokens` shows it)."""
    with db.write() as conn:
        row = _require(store.find_user(conn, name), name)
        return store.revoke_user_token(conn, row.id, token_id, clock.now())


def list_tokens(db: Database, name: str) -> list[TokenInfo]:
    with db.read() as conn:
        row = _require(store.find_user(conn, name), name)
        tokens = store.tokens_of(conn, row.id)
    return [TokenInfo(t.id, t.label, t.created_at, t.revoked_at) for t in tokens]


def _token_hash(token: str) -> str:
    # Tokens carry 256 random bits, so a fast unsalted hash is enough to make a stolen
    # table useless while keeping the lookup a plain indexed equality.
    return hashlib.sha256(token.encode()).hexdigest()


# --- Helpers --------------------------------------------------------------------------------


def _checked_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise UserError("a user name cannot be empty")
    if len(name) > MAX_NAME_LENGTH:
        raise UserError(f"a user name has at most {MAX_NAME_LENGTH} characters")
    if any(ch.isspace() or not ch.isprintable() for ch in name):
        raise UserError(f"a user name cannot contain spaces or control characters: {name!r}")
    return name


def _require(row: store.UserRow | None, name: str) -> store.UserRow:
    if row is None:
        raise UnknownUser(name)
    return row


def _user(row: store.UserRow) -> User:
    # Roles the code no longer knows (a downgrade) grant nothing rather than failing a login.
    roles = frozenset(Role(r) for r in row.roles if r in _KNOWN_ROLES)
    return User(id=row.id, name=row.name, roles=roles)
