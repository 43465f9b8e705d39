"""Helpers of the tracking tests: a delivery handed to the sandbox MTA, its tokens, its counts.

Test modules build their fixtures from these (a tests/tracking/conftest.py would be a second
module named `conftest` for mypy).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from mailcast.clock import ManualClock
from mailcast.context import Context
from mailcast.domain import EventKind
from mailcast.send.engine import send_until_idle
from mailcast.store import messages as message_store
from mailcast.store.tables import delivery_counters, events, messages, profiles
from mailcast.tracking.tokens import TokenKind, TrackingToken

if TYPE_CHECKING:
    from conftest import Scenario

A, B, C = "a@example.com", "b@example.com", "c@example.com"
BROWSER = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)


class Tracked:
    """A sent delivery, the signed URLs of its messages, and what tracking recorded."""

    def __init__(self, ctx: Context, delivery_id: int) -> None:
        self.ctx, self.delivery_id = ctx, delivery_id
        with ctx.db.read() as conn:
            rows = message_store.sending_log(conn, delivery_id, limit=10_000)
        self.ids: dict[str, int] = {row["address"]: int(row["id"]) for row in rows}

    def token(
        self, kind: TokenKind, address: str, url: str = "", issued_at: dt.datetime | None = None
    ) -> str:
        issued = issued_at or self.ctx.clock.now()
        link = 1 if kind is TokenKind.CLICK else 0
        token = TrackingToken(kind, self.ids[address], issued, link, url)
        return self.ctx.token_signer.sign(token)

    def pixel(self, address: str, **kw: Any) -> str:
        return f"/t/o/{self.token(TokenKind.OPEN, address, **kw)}.gif"

    def click(self, address: str, url: str = "https://example.com/x", **kw: Any) -> str:
        return f"/t/c/{self.token(TokenKind.CLICK, address, url, **kw)}"

    def mirror(self, address: str, **kw: Any) -> str:
        return f"/t/m/{self.token(TokenKind.MIRROR, address, **kw)}"

    def unsubscribe(self, address: str, **kw: Any) -> str:
        return f"/t/u/{self.token(TokenKind.UNSUBSCRIBE, address, **kw)}"

    def events(self) -> list[dict[str, Any]]:
        query = select(events).where(events.c.delivery_id == self.delivery_id)
        with self.ctx.db.read() as conn:
            rows = conn.execute(query.order_by(events.c.id)).mappings()
            return [dict(row) for row in rows if row["kind"] in _TRACKING_KINDS]

    def logged(self, kind: EventKind = EventKind.OPENED) -> int:
        """Hits of this kind in the event log: a row each, and the repeats it counted."""
        return sum(1 + e["repeats"] for e in self.events() if e["kind"] == kind)

    def counters(self) -> dict[str, Any]:
        query = select(delivery_counters).where(delivery_counters.c.delivery_id == self.delivery_id)
        with self.ctx.db.read() as conn:
            return dict(conn.execute(query).mappings().one())

    def message(self, address: str) -> dict[str, Any]:
        query = select(messages).where(messages.c.id == self.ids[address])
        with self.ctx.db.read() as conn:
            return dict(conn.execute(query).mappings().one())

    def subscribed(self, address: str) -> bool:
        query = select(profiles.c.email_subscribed).where(profiles.c.email == address)
        with self.ctx.db.read() as conn:
            return bool(conn.execute(query).scalar_one())


_TRACKING_KINDS = {EventKind.OPENED, EventKind.CLICKED, EventKind.UNSUBSCRIBED}


def send(ctx: Context, clock: ManualClock, scenario: Scenario, addresses: list[str]) -> Tracked:
    """A delivery to these addresses handed to the MTA, then a minute for people to read it."""
    scenario.audience(addresses)
    delivery_id = scenario.sending()
    send_until_idle(ctx)
    clock.advance(dt.timedelta(minutes=1))
    return Tracked(ctx, delivery_id)
