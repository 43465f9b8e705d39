"""Test helpers: a sending log by address; opens and clicks written as the recorder writes them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from mailcast.context import Context
from mailcast.store import messages as message_store
from mailcast.store.tracking import record_hits
from mailcast.tracking.recorder import Hit
from mailcast.tracking.tokens import TokenKind, TrackingToken


def log_by_address(ctx: Context, delivery_id: int) -> dict[str, dict[str, Any]]:
    with ctx.db.read() as conn:
        rows = message_store.sending_log(conn, delivery_id, limit=10_000)
    return {row["address"]: dict(row) for row in rows}


def hit(
    ctx: Context,
    kind: TokenKind,
    message_id: int,
    at: dt.datetime | None = None,
    *,
    machine: bool = False,
) -> None:
    """One open or click, written in its own batch through T2's record_hits."""
    when = at or ctx.clock.now()
    url = "https://example.com/x" if kind is TokenKind.CLICK else ""
    token = TrackingToken(kind, message_id, when, link=1 if url else 0, url=url)
    with ctx.db.write() as conn:
        record_hits(
            conn,
            [Hit(token, when, machine, "Mozilla/5.0", "127.0.0.1")],
            ctx.clock.now(),
            exclude_machine=ctx.settings.tracking.exclude_machine_events,
        )
