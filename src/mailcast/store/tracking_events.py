"""The event rows of opens and clicks: a repeat within the window adds to a row's counter.

One URL fetched in a loop must not write a row per fetch. A hit joins the newest row of the
same message, kind, link and machine flag unless it came `window` or more after that row's
time; joining adds one to the row's `repeats`. Every hit is still counted (the counters and
the recount take 1 + repeats per row), and a flood writes at most a row per window. The
batch is collapsed in memory first: a SELECT per 500 messages, one INSERT, one UPDATE.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, bindparam, insert, select, update

from mailcast.domain import EventKind
from mailcast.store.tables import events
from mailcast.tracking.tokens import TokenKind

if TYPE_CHECKING:
    from mailcast.tracking.recorder import Hit

EVENT_KINDS = {TokenKind.OPEN: EventKind.OPENED, TokenKind.CLICK: EventKind.CLICKED}
CHUNK = 500  # messages per statement: well under both databases' parameter limits

# message, event kind, link number, link URL, machine: what makes two hits the same one.
_Key = tuple[int, str, int | None, str | None, bool]


@dataclass
class _Row:
    """An event row this batch adds to: one already written (`id`) or a new one."""

    at: dt.datetime
    id: int | None = None
    values: dict[str, Any] | None = None  # a new row's columns
    added: int = 0  # repeats this batch adds

    def takes(self, at: dt.datetime, window: dt.timedelta) -> bool:
        return at < self.at + window


def write_events(
    conn: Connection,
    hits: Sequence[Hit],
    owners: dict[int, tuple[int, int | None]],
    window: dt.timedelta,
) -> None:
    """Log these hits (of messages in `owners`, rows locked): new rows and repeats."""
    if not hits:
        return
    ordered = sorted(hits, key=lambda hit: hit.at)
    rows = _collapsed(ordered, _newest_rows(conn, ordered, window), owners, window)
    _insert(conn, [row for row in rows if row.id is None])
    _add_repeats(conn, [row for row in rows if row.id is not None and row.added])


def _collapsed(
    hits: Sequence[Hit],
    newest: dict[_Key, _Row],
    owners: dict[int, tuple[int, int | None]],
    window: dt.timedelta,
) -> list[_Row]:
    """Every row the hits (oldest first) add to or start, given the newest rows logged."""
    rows = list(newest.values())
    for hit in hits:
        key = _key_of_hit(hit)
        row = newest.get(key)
        if row is not None and row.takes(hit.at, window):
            row.added += 1
        else:
            newest[key] = _new_row(hit, owners)
            rows.append(newest[key])
    return rows


def _newest_rows(conn: Connection, hits: Sequence[Hit], window: dt.timedelta) -> dict[_Key, _Row]:
    """The newest row already logged for each key that a hit of this batch may repeat."""
    if not window:
        return {}
    since = hits[0].at - window
    message_ids = sorted({hit.token.message_id for hit in hits})
    found: dict[_Key, _Row] = {}
    for part in chunks(message_ids):
        query = (
            select(
                events.c.id,
                events.c.message_id,
                events.c.kind,
                events.c.machine,
                events.c.at,
                events.c.detail,
            )
            .where(
                events.c.message_id.in_(part),
                events.c.kind.in_(list(EVENT_KINDS.values())),
                events.c.at > since,
            )
            .order_by(events.c.at, events.c.id)
        )
        for row in conn.execute(query):
            found[_key_of_row(row)] = _Row(row.at, id=row.id)
    return found


def _key_of_hit(hit: Hit) -> _Key:
    token = hit.token
    kind = EVENT_KINDS[token.kind].value
    if token.kind is TokenKind.CLICK:
        return (token.message_id, kind, token.link, token.url, hit.machine)
    return (token.message_id, kind, None, None, hit.machine)


def _key_of_row(row: Any) -> _Key:
    kind = str(row.kind)
    if kind == EventKind.CLICKED:
        detail = row.detail or {}
        return (row.message_id, kind, detail.get("link"), detail.get("url"), bool(row.machine))
    return (row.message_id, kind, None, None, bool(row.machine))


def _new_row(hit: Hit, owners: dict[int, tuple[int, int | None]]) -> _Row:
    token = hit.token
    delivery_id, profile_id = owners[token.message_id]
    values = {
        "delivery_id": delivery_id,
        "message_id": token.message_id,
        "profile_id": profile_id,
        "kind": EVENT_KINDS[token.kind].value,
        "at": hit.at,
        "machine": hit.machine,
        "detail": _detail(hit),
        "source_key": None,
        "failure_type": None,
        "failure_reason": None,
    }
    return _Row(hit.at, values=values)


def _detail(hit: Hit) -> dict[str, Any]:
    # The first hit's; its repeats may have come from other addresses or agents.
    detail: dict[str, Any] = {"user_agent": hit.user_agent, "ip": hit.ip}
    if hit.token.kind is TokenKind.CLICK:
        detail |= {"link": hit.token.link, "url": hit.token.url}
    return detail


def _insert(conn: Connection, rows: Sequence[_Row]) -> None:
    if rows:
        conn.execute(insert(events), [(row.values or {}) | {"repeats": row.added} for row in rows])


def _add_repeats(conn: Connection, rows: Sequence[_Row]) -> None:
    if not rows:
        return
    stmt = (
        update(events)
        .where(events.c.id == bindparam("row_id"))
        .values(repeats=events.c.repeats + bindparam("added", type_=events.c.repeats.type))
    )
    conn.execute(stmt, [{"row_id": row.id, "added": row.added} for row in rows])


def chunks(values: Sequence[int], size: int = CHUNK) -> Iterable[Sequence[int]]:
    """`values` a statement's worth at a time."""
    for start in range(0, len(values), size):
        yield values[start : start + size]
