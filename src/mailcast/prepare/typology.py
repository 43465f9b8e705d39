"""The filtering rules that read what recipients already received: fatigue and copies."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import RowMapping

from mailcast.audience.target import TargetRow
from mailcast.config import TypologySettings
from mailcast.context import Context
from mailcast.store import preparation as store


@dataclass(frozen=True)
class FatigueRule:
    """At most `max_messages` messages per profile in the sliding `period` (ACS).

    Counted: the profile's messages handed to the MTA within the period, and those still
    queued for a delivery that is going out (store.preparation.message_counts). A fresh
    preparation has cleared its own messages first; an append counts its delivery's earlier
    messages like any others. A profile that has its count already is left out.
    """

    max_messages: int
    period: dt.timedelta

    @classmethod
    def from_settings(cls, typology: TypologySettings) -> FatigueRule | None:
        if typology.fatigue_max is None:
            return None
        return cls(typology.fatigue_max, dt.timedelta(days=typology.fatigue_days))

    def tired(self, count: int) -> bool:
        return count >= self.max_messages

    def detail(self, count: int) -> str:
        days = self.period / dt.timedelta(days=1)
        messages = "message" if count == 1 else "messages"
        return f"{count} {messages} in the last {days:g} days"


@dataclass(frozen=True)
class History:
    """What one chunk of the target already received, read at once for the whole chunk."""

    # Profile id → messages the fatigue rule counts (profiles without any are absent).
    messages: dict[int, int] = field(default_factory=dict)
    # Addresses the copied delivery delivered to (log status `sent`).
    delivered: frozenset[str] = frozenset()


class Typology:
    """The history-reading rules of one preparation: which apply, and their per-chunk reads."""

    def __init__(self, ctx: Context, delivery: RowMapping) -> None:
        self.ctx = ctx
        self.fatigue = FatigueRule.from_settings(ctx.settings.typology)
        # A copy made to retry a delivery may leave out whom the original delivered to.
        leave_out = delivery["leave_out_delivered"] and delivery["copied_from_id"] is not None
        self.copied_from: int | None = delivery["copied_from_id"] if leave_out else None

    def history(self, chunk: list[TargetRow]) -> History:
        """At most two queries for the whole chunk, none when neither rule applies."""
        if self.fatigue is None and self.copied_from is None:
            return History()
        now = self.ctx.clock.now()
        with self.ctx.db.read() as conn:
            counts = {}
            if self.fatigue is not None:
                ids = {row.profile_id for row in chunk if row.email}
                counts = store.message_counts(conn, ids, now - self.fatigue.period, now)
            delivered: set[str] = set()
            if self.copied_from is not None:
                addresses = {row.email for row in chunk if row.email}
                delivered = store.delivered_addresses(conn, self.copied_from, addresses)
        return History(counts, frozenset(delivered))
