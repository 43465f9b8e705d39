"""The deliveries whose messages may leave now, each compiled once: its composer, its relays."""

from __future__ import annotations

import datetime as dt
from collections.abc import ItemsView
from dataclasses import dataclass

from sqlalchemy import RowMapping

from mailcast.compose.composer import Composer, DeliveryContent
from mailcast.context import Context
from mailcast.deliveries.relays import relays_for
from mailcast.domain import DeliveryState, FeedbackMode
from mailcast.store import deliveries as delivery_store
from mailcast.tracking.links import LinkTracker

_STILL_SENDING = (DeliveryState.SENDING, DeliveryState.SENT)


@dataclass
class Sendable:
    """A delivery whose messages may leave now."""

    composer: Composer
    mode: FeedbackMode
    state: DeliveryState
    validity_ends_at: dt.datetime
    relays: tuple[str, ...]  # those it may use: all, or those it names


class SendableDeliveries:
    """By delivery id. `refresh` and `check_states` read the database (run them in a thread);
    the sending tasks drop a delivery meanwhile (`pop`) when its send cannot go on."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._by_id: dict[int, Sendable] = {}
        self._composers: dict[tuple[int, int], Composer] = {}  # by delivery id and version

    def get(self, delivery_id: int) -> Sendable | None:
        return self._by_id.get(delivery_id)

    def pop(self, delivery_id: int) -> None:
        self._by_id.pop(delivery_id, None)

    def items(self) -> ItemsView[int, Sendable]:
        return self._by_id.items()

    def refresh(self) -> None:
        now = self.ctx.clock.now()
        with self.ctx.db.read() as conn:
            rows = delivery_store.deliveries_in(conn, _STILL_SENDING)
        self._by_id = {
            row["id"]: self._sendable_from(row)
            for row in rows
            if row["validity_ends_at"] is None or row["validity_ends_at"] > now
        }

    def check_states(self) -> None:
        """Drop the deliveries paused, stopped or failed since the last refresh.

        The messages held for them then go back to the queue without being sent.
        """
        sendable = list(self._by_id.items())  # the sending tasks may drop one meanwhile
        sending = [i for i, s in sendable if s.state is DeliveryState.SENDING]
        if not sending:
            return
        with self.ctx.db.read() as conn:
            states = delivery_store.states_of(conn, sending)
        for delivery_id in sending:
            if states.get(delivery_id) not in _STILL_SENDING:
                self.pop(delivery_id)

    def relays_of(self, names: list[str] | None) -> tuple[str, ...]:
        return tuple(relays_for(self.ctx.settings, names))

    def _sendable_from(self, row: RowMapping) -> Sendable:
        validity_end = row["validity_ends_at"] or self.ctx.clock.now() + dt.timedelta(
            hours=row["validity_hours"]
        )
        return Sendable(
            composer=self._composer(row),
            mode=FeedbackMode(row["feedback_mode"]),
            state=DeliveryState(row["state"]),
            validity_ends_at=validity_end,
            relays=self.relays_of(row["relays"]),
        )

    def _composer(self, row: RowMapping) -> Composer:
        key = (row["id"], row["version"])
        if key not in self._composers:
            content = DeliveryContent.of_delivery(row)
            self._composers[key] = Composer(
                content,
                self.ctx.signer,
                LinkTracker.from_context(self.ctx),
                self.ctx.settings.templates,
                self.ctx.dkim,
            )
        return self._composers[key]
