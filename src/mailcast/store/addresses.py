"""Named queries on address states, and the address list (states, unsubscribes, complaints)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    CompoundSelect,
    Connection,
    RowMapping,
    exists,
    func,
    select,
    text,
    union,
    update,
)
from sqlalchemy.sql import ColumnElement

from mailcast.domain import AddressState, AddressStatus, EventKind, FailureReason
from mailcast.store.db import insert_on_conflict
from mailcast.store.tables import address_states, events, profiles

# Namespace of mailcast's advisory locks on addresses (PostgreSQL), apart from anyone else's.
_ADDRESS_LOCKS = 0x6D630001
# Keep each IN list well under SQLite's limit of bound parameters.
_CHUNK = 1000


def set_address_status(
    conn: Connection,
    address_key: str,
    status: AddressStatus,
    now: dt.datetime,
    reason: FailureReason | None = None,
    detail: str | None = None,
) -> None:
    values = {
        "status": status,
        "failure_reason": reason,
        "detail": detail,
        "status_changed_at": now,
        "updated_at": now,
    }
    insert = insert_on_conflict(conn, address_states)
    statement = insert.values(address=address_key, error_count=0, **values)
    conn.execute(statement.on_conflict_do_update(index_elements=["address"], set_=values))


def get_address_state(conn: Connection, address_key: str) -> RowMapping | None:
    query = select(address_states).where(address_states.c.address == address_key)
    return conn.execute(query).mappings().first()


# --- Weighing feedback: lock, read, save ---------------------------------------------------


def lock_addresses(conn: Connection, keys: Collection[str]) -> None:
    """Serialise writers that weigh the same addresses, rows or not yet, until commit.

    SQLite needs nothing: its writers already hold the database lock (BEGIN IMMEDIATE). On
    PostgreSQL the locks are taken in one fixed order, so two writers never deadlock.
    """
    if conn.dialect.name != "postgresql" or not keys:
        return
    conn.execute(
        text(
            "SELECT pg_advisory_xact_lock(:ns, h) FROM ("
            " SELECT DISTINCT hashtext(k) AS h FROM unnest(CAST(:keys AS text[])) AS k"
            " ORDER BY h) AS ordered"
        ),
        {"ns": _ADDRESS_LOCKS, "keys": sorted(keys)},
    )


def states_for_update(conn: Connection, keys: Collection[str]) -> dict[str, AddressState]:
    """The states of these addresses that have one, their rows locked until commit."""
    found: dict[str, AddressState] = {}
    ordered = sorted(keys)
    for start in range(0, len(ordered), _CHUNK):
        query = (
            select(address_states)
            .where(address_states.c.address.in_(ordered[start : start + _CHUNK]))
            .order_by(address_states.c.address)
            .with_for_update()
        )
        found |= {row["address"]: state_of(row) for row in conn.execute(query).mappings()}
    return found


def save_states(conn: Connection, states: Mapping[str, AddressState], now: dt.datetime) -> None:
    """Write new states, one statement for the whole batch."""
    if not states:
        return
    insert = insert_on_conflict(conn, address_states)
    columns = ("status", "error_count", "last_error_at", "failure_reason", "detail")
    statement = insert.on_conflict_do_update(
        index_elements=["address"],
        set_={name: insert.excluded[name] for name in (*columns, "status_changed_at")}
        | {"updated_at": now},
    )
    conn.execute(statement, [_row(key, state, now) for key, state in sorted(states.items())])


def state_of(row: RowMapping) -> AddressState:
    reason = row["failure_reason"]
    return AddressState(
        status=AddressStatus(row["status"]),
        error_count=int(row["error_count"] or 0),
        last_error_at=row["last_error_at"],
        failure_reason=FailureReason(reason) if reason else None,
        detail=row["detail"],
        status_changed_at=row["status_changed_at"],
    )


def _row(key: str, state: AddressState, now: dt.datetime) -> dict[str, Any]:
    return {
        "address": key,
        "status": state.status,
        "error_count": state.error_count,
        "last_error_at": state.last_error_at,
        "failure_reason": state.failure_reason,
        "detail": state.detail,
        "status_changed_at": state.status_changed_at or now,
        "updated_at": now,
    }


# --- Releases -------------------------------------------------------------------------------


def release_matching(
    conn: Connection,
    statuses: Collection[AddressStatus],
    now: dt.datetime,
    detail: str,
    *,
    keys: Sequence[str] | None = None,
    domain: str | None = None,
    reason: FailureReason | None = None,
    since: dt.datetime | None = None,
) -> list[str]:
    """Make valid again the addresses in these statuses that match every filter given."""
    conditions: list[ColumnElement[bool]] = [address_states.c.status.in_(list(statuses))]
    if domain is not None:
        conditions.append(address_states.c.address.endswith(f"@{domain}", autoescape=True))
    if reason is not None:
        conditions.append(address_states.c.failure_reason == reason)
    if since is not None:
        conditions.append(address_states.c.status_changed_at >= since)
    if keys is None:
        return _release(conn, conditions, now, detail)
    released: list[str] = []
    ordered = sorted(set(keys))
    for start in range(0, len(ordered), _CHUNK):
        chunk = address_states.c.address.in_(ordered[start : start + _CHUNK])
        released += _release(conn, [*conditions, chunk], now, detail)
    return released


def release_expired(
    conn: Connection,
    status: AddressStatus,
    reason: FailureReason | None,
    last_error_before: dt.datetime,
    now: dt.datetime,
    detail: str,
) -> int:
    """Release the addresses in this status (and reason) whose last error is old enough."""
    since = func.coalesce(address_states.c.last_error_at, address_states.c.status_changed_at)
    conditions: list[ColumnElement[bool]] = [
        address_states.c.status == status,
        since <= last_error_before,
    ]
    if reason is not None:
        conditions.append(address_states.c.failure_reason == reason)
    return len(_release(conn, conditions, now, detail))


def _release(
    conn: Connection, conditions: list[ColumnElement[bool]], now: dt.datetime, detail: str
) -> list[str]:
    # The rows are locked in address order, as states_for_update does: no deadlock between them.
    targets = (
        select(address_states.c.address)
        .where(*conditions)
        .order_by(address_states.c.address)
        .with_for_update()
    )
    statement = (
        update(address_states)
        .where(address_states.c.address.in_(targets), *conditions)
        .values(
            status=AddressStatus.VALID,
            error_count=0,
            last_error_at=None,
            failure_reason=None,
            detail=detail,
            status_changed_at=now,
            updated_at=now,
        )
        .returning(address_states.c.address)
    )
    return sorted(conn.execute(statement).scalars())


# --- Reading --------------------------------------------------------------------------------


@dataclass(frozen=True)
class AddressQuery:
    """Which addresses a page lists; every filter given must match."""

    statuses: Collection[AddressStatus] = ()  # none: every status (no state row is `valid`)
    search: str | None = None  # case-folded, found anywhere in the address
    domain: str | None = None  # in ASCII, lower-cased: the addresses of that domain
    unsubscribed: bool = False  # only those a profile of which unsubscribed
    complained: bool = False  # only those a profile of which complained


def address_page(
    conn: Connection, query: AddressQuery, after: str | None = None, limit: int = 100
) -> list[RowMapping]:
    """Addresses in address order from after `after` (keyset pagination), with their state.

    Listed: every address with a state, and every profile's address that unsubscribed or
    complained; with a search or a domain, every matching profile's address too. Each row
    also says whether a profile of it unsubscribed and when one last complained.
    """
    known = _known_addresses(query, after).subquery("known")
    key = known.c.address
    status = func.coalesce(address_states.c.status, AddressStatus.VALID.value)
    unsubscribed = exists().where(
        profiles.c.email_key == key, profiles.c.email_subscribed.is_(False)
    )
    complained_at = (
        select(func.max(events.c.at))
        .join(profiles, profiles.c.id == events.c.profile_id)
        .where(profiles.c.email_key == key, events.c.kind == EventKind.COMPLAINED)
        .scalar_subquery()
    )
    page = (
        select(
            key.label("address"),
            status.label("status"),
            *(address_states.c[name] for name in _STATE_COLUMNS),
            unsubscribed.label("unsubscribed"),
            complained_at.label("complained_at"),
        )
        .select_from(known.outerjoin(address_states, address_states.c.address == key))
        .order_by(key)
        .limit(limit)
    )
    if query.statuses:
        page = page.where(status.in_([str(s) for s in query.statuses]))
    if query.unsubscribed:
        page = page.where(unsubscribed)
    if query.complained:
        page = page.where(complained_at.is_not(None))
    return list(conn.execute(page).mappings())


_STATE_COLUMNS = ("error_count", "last_error_at", "failure_reason", "detail", "status_changed_at")


def _known_addresses(query: AddressQuery, after: str | None) -> CompoundSelect:
    """The addresses a page may list: with a state, or a profile's (opted out, or matching)."""
    states = select(address_states.c.address.label("address"))
    complainers = select(events.c.profile_id).where(events.c.kind == EventKind.COMPLAINED)
    people = select(profiles.c.email_key).where(profiles.c.email_key.is_not(None))
    if query.search is None and query.domain is None:
        people = people.where(
            profiles.c.email_subscribed.is_(False) | profiles.c.id.in_(complainers)
        )
    if query.search is not None:
        states = states.where(address_states.c.address.contains(query.search, autoescape=True))
        people = people.where(profiles.c.email_key.contains(query.search, autoescape=True))
    if query.domain is not None:
        at_domain = f"@{query.domain}"
        states = states.where(address_states.c.address.endswith(at_domain, autoescape=True))
        people = people.where(profiles.c.email_key.endswith(at_domain, autoescape=True))
    if after is not None:
        states = states.where(address_states.c.address > after)
        people = people.where(profiles.c.email_key > after)
    return union(states, people)


def count_by_status(conn: Connection) -> dict[AddressStatus, int]:
    query = select(address_states.c.status, func.count()).group_by(address_states.c.status)
    return {AddressStatus(status): int(n) for status, n in conn.execute(query)}
