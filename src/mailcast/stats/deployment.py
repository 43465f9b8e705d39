"""The Deployment block of a delivery: progress and KPIs, read from the live counters.

Open and click rates come from the shown snapshot (ACS: refreshed on a schedule and by
Compute stats), so the block says when they were last refreshed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, RowMapping

from mailcast.context import Context
from mailcast.domain import (
    DeliveryState,
    ExclusionReason,
    Kpis,
    PauseCause,
    ShownState,
    StatusCounts,
    kpis,
    shown_state,
)
from mailcast.store import counters as counter_store
from mailcast.store import deliveries as delivery_store
from mailcast.store import messages as message_store
from mailcast.store import stats as stats_store


@dataclass(frozen=True)
class Deployment:
    delivery_id: int
    name: str
    state: DeliveryState
    counts: StatusCounts
    kpis: Kpis
    excluded: int
    exclusions: dict[ExclusionReason, int]
    in_flight: int
    error_reason: str | None
    # When the open and click rates were last refreshed; None: not yet.
    rates_refreshed_at: dt.datetime | None = None
    # Sending or sent, with nothing left to send but retries: it reads "sending (retry)".
    only_retries_left: bool = False
    # Messages handed over again after a worker died before recording their hand-off: the
    # recipient may have received them twice.
    relayed_more_than_once: int = 0
    # Why the send is paused, and whether relay faults paused it (it then resumes by itself).
    pause_reason: str | None = None
    paused_by: PauseCause | None = None
    # The relays it may use, by name; None: every relay of the settings.
    relays: list[str] | None = None

    @property
    def progress(self) -> float:
        """Share of the messages to deliver that were processed (or dropped by an opt-out).

        A stopped send or one ended by an error shows what it processed, not the messages it
        gave up; a delivery with nothing to deliver shows nothing done (0), never 100 %.
        """
        done = self.counts.processed
        if self.state not in CUT_SHORT:
            done += self.counts.not_sent  # recipients who opted out during the send
        return done / self.counts.to_deliver if self.counts.to_deliver else 0.0

    @property
    def live_kpis(self) -> Kpis:
        """The KPIs with the live unique opens and clicks, beside the shown snapshot's."""
        return kpis(self.counts)


# States whose remaining messages were given up: their progress is what they processed.
CUT_SHORT = frozenset({DeliveryState.STOPPED, DeliveryState.ERROR, DeliveryState.SKIPPED})


def deployment(ctx: Context, delivery_id: int) -> Deployment:
    with ctx.db.read() as conn:
        return deployment_in(conn, delivery_id)


def deployment_in(conn: Connection, delivery_id: int) -> Deployment:
    """The block read in the caller's transaction (a page reads everything in one)."""
    delivery = delivery_store.get_delivery(conn, delivery_id)
    counts = counter_store.read_counts(conn, delivery_id)
    shown_opens, shown_clicks, refreshed_at = stats_store.shown_rates(conn, delivery_id)
    shown = dataclasses.replace(counts, unique_opens=shown_opens, unique_clicks=shown_clicks)
    paused = delivery["state"] == DeliveryState.PAUSED
    return Deployment(
        delivery_id=delivery_id,
        name=delivery["name"],
        state=DeliveryState(delivery["state"]),
        counts=counts,
        kpis=kpis(shown),
        excluded=counter_store.excluded_count(conn, delivery_id),
        exclusions=delivery_store.exclusion_counts(conn, delivery_id),
        in_flight=message_store.count_in_flight(conn, delivery_id),
        error_reason=delivery["error_reason"],
        rates_refreshed_at=refreshed_at,
        only_retries_left=bool(message_store.only_retries_left(conn, [delivery_id])),
        relayed_more_than_once=message_store.count_relayed_more_than_once(conn, delivery_id),
        pause_reason=delivery["pause_reason"] if paused else None,
        paused_by=_paused_by(delivery) if paused else None,
        relays=delivery["relays"],
    )


def _paused_by(delivery: RowMapping) -> PauseCause | None:
    return PauseCause(delivery["paused_by"]) if delivery["paused_by"] else None


def display_state(d: Deployment) -> ShownState:
    """The delivery's state as shown: label, Stibee's word, colour."""
    return shown_state(d.state, only_retries_left=d.only_retries_left)


def display_states(ctx: Context, rows: Sequence[RowMapping]) -> dict[int, ShownState]:
    """The shown state of each delivery row (of store.deliveries), by id, in one query."""
    with ctx.db.read() as conn:
        retrying = message_store.only_retries_left(conn, [row["id"] for row in rows])
    return {
        row["id"]: shown_state(DeliveryState(row["state"]), only_retries_left=row["id"] in retrying)
        for row in rows
    }
