"""The target of a delivery: members of any of some lists who match a filter, read in chunks."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, RowMapping
from sqlalchemy.sql import ColumnElement

from mailcast.audience.filters import FilterError, compile_filter
from mailcast.store import profiles as store
from mailcast.store.db import Database


class TargetError(ValueError):
    """The target names a list that does not exist, or its filter is not valid."""


@dataclass(frozen=True)
class Target:
    lists: tuple[str, ...]
    filter: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The form stored in deliveries.target."""
        return {"lists": list(self.lists), "filter": self.filter}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Target:
        lists = data.get("lists")
        text = data.get("filter")
        if not isinstance(lists, list | tuple) or not all(isinstance(n, str) for n in lists):
            raise TargetError("a target's 'lists' must be a list of list names")
        if text is not None and not isinstance(text, str):
            raise TargetError("a target's 'filter' must be text or null")
        return cls(tuple(lists), text if text and text.strip() else None)


@dataclass(frozen=True, slots=True)
class TargetRow:
    profile_id: int
    email: str | None
    email_key: str | None
    first_name: str | None
    last_name: str | None
    attributes: dict[str, Any]
    email_subscribed: bool
    address_status: str | None  # from address_states; None when the address has no state


def validate_target(conn: Connection, target: Target) -> None:
    """Raise TargetError unless every list exists and the filter is valid."""
    _list_ids(conn, target)
    _condition(target)


def count_target(db: Database, target: Target) -> int:
    with db.read() as conn:
        list_ids = _list_ids(conn, target)
        return store.count_target(conn, list_ids, _condition(target))


def iter_target(db: Database, target: Target, chunk: int = 2000) -> Iterator[list[TargetRow]]:
    """The target's profiles, each once, in chunks of at most `chunk` rows.

    Order: profiles without an address (email_key NULL) first, by id; then by (email_key, id),
    so that profiles sharing an address are adjacent. Each chunk is read in its own short
    transaction and the next one starts after the last row (keyset pagination): memory stays
    bounded and writers are never blocked for long. A profile added or changed while the
    target is read shows up if its place in the order is still ahead.
    """
    if chunk < 1:
        raise ValueError("chunk must be at least 1")
    with db.read() as conn:
        list_ids = _list_ids(conn, target)
    condition = _condition(target)
    after: store.Position | None = None
    while True:
        with db.read() as conn:
            rows = store.target_page(conn, list_ids, condition, after, chunk)
        if rows:
            yield [_target_row(row) for row in rows]
            after = (rows[-1]["email_key"], int(rows[-1]["id"]))
        if len(rows) < chunk:
            return


def _list_ids(conn: Connection, target: Target) -> Sequence[int]:
    if not target.lists:
        raise TargetError("a target needs at least one list")
    found = store.list_ids(conn, target.lists)
    unknown = [name for name in target.lists if name not in found]
    if unknown:
        raise TargetError("unknown list: " + ", ".join(repr(name) for name in unknown))
    return sorted(set(found.values()))


def _condition(target: Target) -> ColumnElement[bool] | None:
    if target.filter is None or not target.filter.strip():
        return None
    try:
        return compile_filter(target.filter)
    except FilterError as exc:
        raise TargetError(f"invalid filter: {exc}") from exc


def _target_row(row: RowMapping) -> TargetRow:
    return TargetRow(
        profile_id=int(row["id"]),
        email=row["email"],
        email_key=row["email_key"],
        first_name=row["first_name"],
        last_name=row["last_name"],
        attributes=dict(row["attributes"] or {}),
        email_subscribed=bool(row["email_subscribed"]),
        address_status=row["address_status"],
    )
