"""The send worker's database steps, each one transaction: claim, mark, record, finish."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import Connection

from mailcast.context import Context
from mailcast.domain import DeliveryState, MessageStatus
from mailcast.feedback import quarantine
from mailcast.send.outcomes import Recorded
from mailcast.send.sendable import Sendable, SendableDeliveries
from mailcast.store import deliveries as delivery_store
from mailcast.store import messages as message_store
from mailcast.store.messages import ClaimedMessage


@dataclass
class EngineStats:
    relayed: int = 0
    refused: int = 0
    released: int = 0
    batches: int = 0
    deliveries_sent: list[int] = field(default_factory=list)


class WorkerStore:
    """What one worker reads and writes; called from a thread (marks on SQLite: the loop)."""

    def __init__(
        self, ctx: Context, worker: str, sendable: SendableDeliveries, stats: EngineStats
    ) -> None:
        self.ctx = ctx
        self.worker = worker
        self.stats = stats
        self._settings = ctx.settings.send
        self._sendable = sendable
        self._claim_turns = 0

    def in_flight_elsewhere(self) -> int:
        with self.ctx.db.read() as conn:
            return message_store.count_in_flight(conn)

    def begin_hand_offs(self, message_ids: list[int], wait: bool = True) -> set[int]:
        with self.ctx.db.write(wait=wait) as conn:
            return message_store.begin_hand_offs(conn, self.worker, message_ids)

    def extend_leases(self) -> None:
        with self.ctx.db.write() as conn:
            message_store.extend_leases(conn, self.worker, self._lease_until(self.ctx.clock.now()))

    def claim(self) -> list[ClaimedMessage]:
        """The next batch of the deliveries in turn; a delivery with nothing left finishes."""
        now = self.ctx.clock.now()
        with self.ctx.db.write() as conn:
            message_store.release_expired_leases(conn, now)
            for delivery_id, sendable in self._in_turn():
                batch = message_store.claim_batch(
                    conn, delivery_id, self.worker, now, self._lease_until(now), self._batch_size
                )
                if batch:
                    self._claim_turns += 1
                    return batch
                if sendable.state is DeliveryState.SENDING:
                    self._finish(conn, delivery_id, now)
        return []

    def record(
        self, results: list[Recorded], fatal: dict[int, str], pauses: dict[int, str]
    ) -> None:
        """A batch of outcomes, what they say about the addresses, and the deliveries that
        failed, paused or ended with it."""
        now = self.ctx.clock.now()
        moves: dict[int, Counter[tuple[MessageStatus, MessageStatus]]] = {}
        for result in results:
            moves.setdefault(result.delivery_id, Counter())[(result.old, result.new)] += 1
        rows = [r.row for r in results]
        new_events = [r.event for r in results if r.event]
        notes = [r.address_note for r in results if r.address_note]
        with self.ctx.db.write() as conn:
            message_store.record_batch(conn, self.worker, rows, new_events, moves, now)
            # What the replies said about the addresses: quarantine, errors, successes.
            quarantine.note_all(conn, notes, self.ctx.settings.quarantine.policy)
            for delivery_id, reason in fatal.items():
                delivery_store.fail_sending(conn, delivery_id, reason, now)
            for delivery_id, reason in pauses.items():
                delivery_store.pause_for_relay(conn, delivery_id, reason, now)
            for delivery_id in moves.keys() - fatal.keys() - pauses.keys():
                self._finish(conn, delivery_id, now)
            # A message given back once its delivery stopped, failed or ended will never leave.
            for delivery_id in moves.keys() | fatal.keys():
                message_store.mark_not_sent(conn, delivery_id, now)
        self.stats.batches += 1

    @property
    def _batch_size(self) -> int:
        return self._settings.batch_size

    def _lease_until(self, now: dt.datetime) -> dt.datetime:
        return now + dt.timedelta(seconds=self._settings.lease_seconds)

    def _in_turn(self) -> list[tuple[int, Sendable]]:
        """The deliveries to claim from, each claim starting with the next: several sending at
        once share the worker batch by batch, and none waits for another to end."""
        # A copy: the sending tasks drop deliveries (errors) while this thread claims.
        sendable = list(self._sendable.items())
        first = self._claim_turns % len(sendable) if sendable else 0
        return sendable[first:] + sendable[:first]

    def _finish(self, conn: Connection, delivery_id: int, now: dt.datetime) -> None:
        if message_store.finish_sending(conn, delivery_id, now):
            self.stats.deliveries_sent.append(delivery_id)
