"""The send loop: claim a batch, spread it over the relays in rotation, compose, wait for the
turn, relay, record the batch, and again."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import os
import secrets
import socket
from collections.abc import Callable
from typing import Any, TypeVar

from mailcast.context import Context
from mailcast.domain import DeliveryState
from mailcast.send import outcomes
from mailcast.send.composing import Composing
from mailcast.send.hand_offs import HandOffMarks
from mailcast.send.outcomes import Recorded
from mailcast.send.probe import ProbeEnvelope
from mailcast.send.ready import Ready, Sent, Turn
from mailcast.send.relay import Envelope, RelayConnection, RelayReply, ReplyKind
from mailcast.send.relay_pauses import RelayPauses
from mailcast.send.replies import Concern, read_reply
from mailcast.send.rotation import RelayRotation
from mailcast.send.sendable import Sendable, SendableDeliveries
from mailcast.send.turns import Held, Turns
from mailcast.send.worker_store import EngineStats, WorkerStore
from mailcast.store.messages import ClaimedMessage

_T = TypeVar("_T")
_UNREACHABLE_RETRY = dt.timedelta(seconds=5)
# How soon a pause, stop or error decided elsewhere reaches the messages this worker holds.
_STATE_CHECK_SECONDS = 0.1


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class SendEngine:
    """One worker: a coordinator that claims and records, and one task per relay connection
    (each relay has its own connections and its own queue)."""

    def __init__(self, ctx: Context, worker: str | None = None) -> None:
        self.ctx = ctx
        self.send_settings = ctx.settings.send
        self.worker = worker or worker_name()
        self.stats = EngineStats()
        self._rotation = RelayRotation(ctx.settings.named_relays, self.send_settings)
        # Per relay; None tells a sending task to end (the worker stops).
        self._queues: dict[str, asyncio.Queue[ClaimedMessage | None]] = {
            name: asyncio.Queue() for name in self._rotation.names
        }
        self._results: list[Recorded] = []
        self._fatal: dict[int, str] = {}
        self._outstanding = 0  # claimed and not yet recorded
        self._low_water = 1  # a queue shorter than this wakes the coordinator
        self._sendable = SendableDeliveries(ctx)
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._store = WorkerStore(ctx, self.worker, self._sendable, self.stats)
        self._marks = HandOffMarks(self._store.begin_hand_offs, inline=ctx.db.is_sqlite)
        self._composing = Composing(ctx, self._give_up)
        self._turns = Turns(ctx, self._stopping)
        self._pauses: dict[int, str] = {}  # deliveries to pause at the next write, and why
        self._relay_pauses = RelayPauses(ctx, self._rotation, self._sendable)

    # --- the coordinator ------------------------------------------------------------------

    async def run(self, *, until_idle: bool = False, stop: asyncio.Event | None = None) -> None:
        """Send until stopped, or (until_idle) until nothing is left to send now."""
        connections = [
            (name, RelayConnection(self._rotation.settings(name)))
            for name in self._rotation.names
            for _ in range(self._rotation.settings(name).concurrency or self._concurrency)
        ]
        senders = [asyncio.create_task(self._sender(name, c)) for name, c in connections]
        try:
            await self._coordinate(until_idle, stop)
        finally:
            await self._shut_down(senders, [c for _, c in connections])

    @property
    def _concurrency(self) -> int:
        return self.send_settings.concurrency

    @property
    def _queued(self) -> int:
        return sum(queue.qsize() for queue in self._queues.values())

    async def _coordinate(self, until_idle: bool, stop: asyncio.Event | None) -> None:
        loop = asyncio.get_running_loop()
        next_refresh = next_heartbeat = next_state_check = 0.0
        while not (stop and stop.is_set()):
            await self._flush()
            if loop.time() >= next_refresh:
                await asyncio.to_thread(self._sendable.refresh)
                await self._relay_pauses.probe(loop.time())
                next_refresh = loop.time() + self.send_settings.poll_seconds
            elif self._outstanding and loop.time() >= next_state_check:
                await asyncio.to_thread(self._sendable.check_states)
                next_state_check = loop.time() + _STATE_CHECK_SECONDS
            if loop.time() >= next_heartbeat:
                await asyncio.to_thread(self._store.extend_leases)
                next_heartbeat = loop.time() + self.send_settings.lease_seconds / 3
            claimed = 0
            if self._queued < self.send_settings.batch_size:
                batch = await self._batch_step(self._store.claim)
                self._enqueue(batch)
                claimed = len(batch)
                # While claims bring messages, the next claim starts before the queue runs dry
                # (a record and a claim take longer than the last messages take to go).
                self._low_water = self.send_settings.batch_size // 2 if claimed else 1
            idle = claimed == 0 and self._outstanding == 0
            # Messages leased by a worker that died come back when the lease runs out.
            if idle and until_idle and not await asyncio.to_thread(self._store.in_flight_elsewhere):
                return
            await self._wait(self.send_settings.poll_seconds if idle else 0.05)

    async def _wait(self, timeout: float) -> None:
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout)

    async def _shut_down(
        self, senders: list[asyncio.Task[None]], conns: list[RelayConnection]
    ) -> None:
        """Stop: what is being handed over finishes and is recorded, the rest goes back now."""
        self._stopping.set()
        for queue in self._queues.values():
            while not queue.empty():
                if (msg := queue.get_nowait()) is not None:
                    self._results.append(outcomes.released(msg))
            for _ in senders:  # more than its own tasks: every one of them ends
                queue.put_nowait(None)
        await self._let_hand_offs_finish(senders)
        await self._flush()
        await asyncio.gather(*(c.close() for c in conns), return_exceptions=True)
        self._composing.close()

    async def _let_hand_offs_finish(self, senders: list[asyncio.Task[None]]) -> None:
        # A relay that stops answering cannot hold the stop longer than its own timeout: a
        # hand-off cut short then stays in flight until its lease runs out.
        _, late = await asyncio.wait(senders, timeout=self.ctx.settings.relay.timeout)
        for task in late:
            task.cancel()
        await asyncio.gather(*senders, return_exceptions=True)

    async def _batch_step(self, step: Callable[..., _T], *args: Any) -> _T:
        """A batch's claim or record. On SQLite on the loop, as the marks are: from a thread
        it held the write lock for as long as it waited for the interpreter, and every mark
        waited behind it. A server is written to from a thread."""
        if self.ctx.db.is_sqlite:
            return step(*args)
        return await asyncio.to_thread(step, *args)

    def _enqueue(self, batch: list[ClaimedMessage]) -> None:
        self._outstanding += len(batch)
        self._composing.submit(batch, self._sendable.get(batch[0].delivery_id) if batch else None)
        for msg in batch:
            self._dispatch(msg)

    def _dispatch(self, msg: ClaimedMessage) -> None:
        """To the queue of a relay in rotation that its delivery may use; else back, later."""
        sendable = self._sendable.get(msg.delivery_id)
        if sendable is None:
            self._results.append(outcomes.released(msg))
            return
        now = self._loop_time()
        relay = self._rotation.choose(sendable.relays, now)
        if relay is not None:
            self._queues[relay].put_nowait(msg)
            return
        retry_at = self._retry_at()
        if self._rotation.in_rotation(sendable.relays):  # resting: their quotas are used up
            wait = dt.timedelta(seconds=self._rotation.rest_left(sendable.relays, now))
            retry_at = self.ctx.clock.now() + wait
        else:
            self._stranded(msg.delivery_id, sendable)
        self._results.append(outcomes.released(msg, retry_at=retry_at))

    def _retry_at(self) -> dt.datetime:
        return self.ctx.clock.now() + _UNREACHABLE_RETRY

    async def _flush(self) -> None:
        if self._results or self._fatal or self._pauses:
            results, self._results = self._results, []
            fatal, self._fatal = self._fatal, {}
            pauses, self._pauses = self._pauses, {}
            await self._batch_step(self._store.record, results, fatal, pauses)
            self._outstanding -= len(results)
            self._composing.forget([result.row["id"] for result in results])

    # --- the sending tasks ----------------------------------------------------------------

    async def _sender(self, relay: str, connection: RelayConnection) -> None:
        """Hand messages over one after the other. The next one is made ready (its turn, its
        content) while this one is with the relay, so that its envelope can go with this one's
        data and be answered while its hand-off is marked."""
        ready = await self._next_ready(relay, connection)
        ahead: asyncio.Task[Ready | None] | None = None
        try:
            while ready is not None:
                ahead = asyncio.create_task(self._next_ready(relay, connection))
                following = functools.partial(self._envelope_if_ready, ahead)
                self._finished(await self._transmitted(ready, following))
                ready = await ahead
                ahead = None
                if ready is not None and self._stopping.is_set():
                    self._finished(self._given_back(ready))
                    ready = await self._next_ready(relay, connection)
        finally:
            if ahead is not None:
                ahead.cancel()

    def _finished(self, result: Recorded | None) -> None:
        if result is None:  # gone to another relay
            return
        self._results.append(result)
        if len(self._results) >= self.send_settings.batch_size or self._queued < self._low_water:
            self._wake.set()

    async def _next_ready(self, relay: str, connection: RelayConnection) -> Ready | None:
        """The next message of the relay's queue that may go now; None: the worker stops."""
        queue = self._queues[relay]
        while (msg := await queue.get()) is not None:
            prepared = await self._prepared(relay, connection, msg)
            if isinstance(prepared, Ready):
                return prepared
            self._finished(prepared)
        return None

    async def _prepared(
        self, relay: str, connection: RelayConnection, msg: ClaimedMessage
    ) -> Ready | Recorded | None:
        """Its turn taken and its content composed; else what became of it."""
        sendable = self._sendable.get(msg.delivery_id)
        if sendable is None or msg.delivery_id in self._fatal:
            self.stats.released += 1
            return outcomes.released(msg)
        if not self._rotation.in_rotation((relay,)):  # taken out since it was queued
            self._dispatch(msg)
            return None
        group = self._turns.group_of(msg.address)
        later = await self._turns.paced(relay, group)
        if later is not None:  # before composing: a held domain costs no rendering
            return outcomes.released(msg, retry_at=later)
        turn = Turn(relay, group, connection)
        try:
            prepared = await self._made_ready(turn, msg, sendable)
        except BaseException:
            self._turns.ended(group)
            raise
        if not isinstance(prepared, Ready):
            self._turns.ended(group)
        return prepared

    async def _made_ready(
        self, turn: Turn, msg: ClaimedMessage, sendable: Sendable
    ) -> Ready | Recorded | None:
        now = self.ctx.clock.now()
        composed = await self._composing.composed(msg, sendable, now)
        if isinstance(composed, str):  # the template failed for this recipient
            return outcomes.unrenderable(msg, sendable.mode, composed, now)
        held = await self._turns.shared(turn.relay, turn.group)
        if held is not None:
            return self._held(msg, sendable, turn.relay, held)
        return Ready(msg, sendable, Sent(composed, turn))

    async def _transmitted(
        self, ready: Ready, following: Callable[[], Envelope | None]
    ) -> Recorded | None:
        """The message handed over to the relay (with the envelope of the one that follows,
        if it is ready by then), and what its reply makes of it."""
        msg, sendable, sent = ready
        try:
            if msg.delivery_id in self._fatal or not self._rotation.in_rotation((sent.relay,)):
                return self._given_back(ready)  # gone wrong while it waited its go
            if not await self._hand_off_begins(msg):
                return outcomes.released(msg)
            reply = await sent.turn.connection.send(sent.envelope, following)
            return await self._outcome(msg, sendable, reply, sent)
        finally:
            self._turns.ended(sent.turn.group)

    def _envelope_if_ready(self, ahead: asyncio.Task[Ready | None]) -> Envelope | None:
        """The next message's envelope, if it is ready and will go (the worker goes on)."""
        if not ahead.done() or ahead.cancelled() or ahead.exception() is not None:
            return None
        ready = ahead.result()
        return ready.sent.envelope if ready and not self._stopping.is_set() else None

    def _given_back(self, ready: Ready) -> Recorded | None:
        """A message made ready and not handed over: to another relay, or back to the queue."""
        if self._stopping.is_set():  # the queues are closing: none would take it
            return outcomes.released(ready.msg)
        self._dispatch(ready.msg)
        return None

    def _held(
        self, msg: ClaimedMessage, sendable: Sendable, relay: str, held: Held
    ) -> Recorded | None:
        """A quota is used up until then, or the worker stops (a wait of zero). The relay's own
        quota used up, another relay may take it now."""
        if held.by_relay and held.wait:
            self._rotation.rest(relay, self._loop_time() + held.wait.total_seconds())
            if self._rotation.choose(sendable.relays, self._loop_time()) is not None:
                self._dispatch(msg)
                return None
        retry_at = self.ctx.clock.now() + held.wait if held.wait else None
        return outcomes.released(msg, retry_at=retry_at)

    async def _outcome(
        self, msg: ClaimedMessage, sendable: Sendable, reply: RelayReply, sent: Sent
    ) -> Recorded | None:
        now, header, relay = self.ctx.clock.now(), sent.message_id_header, sent.turn.relay
        if reply.kind is ReplyKind.ACCEPTED:
            self._rotation.answered(relay)
            self.stats.relayed += 1
            return outcomes.accepted(msg, sendable.mode, reply, header, now, self.worker)
        if reply.kind is ReplyKind.REFUSED:
            return self._refused(msg, sendable, reply, sent)
        if reply.kind is ReplyKind.UNSENDABLE:
            return outcomes.unsendable(msg, sendable.mode, reply.text, now)
        for_good = reply.kind is ReplyKind.FATAL
        self._relay_fault(relay, _session_fault(reply), None, for_good=for_good)
        if self._rotation.in_rotation(sendable.relays) and relay not in self._live(sendable):
            self._dispatch(msg)  # another relay takes it now
            return None
        # Not handed over: back in the queue a little later, while the relay recovers.
        retry_at = self._retry_at()
        pause = min(0.1 * self._rotation.faults(relay), 5.0)
        await self._turns.unless_stopping(asyncio.sleep(pause))
        return outcomes.released(msg, retry_at=retry_at)

    def _refused(
        self, msg: ClaimedMessage, sendable: Sendable, reply: RelayReply, sent: Sent
    ) -> Recorded:
        """A refusal counts against the address only when it is about the recipient."""
        now, header, relay = self.ctx.clock.now(), sent.message_id_header, sent.turn.relay
        reading = read_reply(reply)
        if reading.concern is Concern.RECIPIENT:
            self._rotation.answered(relay)
            self.stats.refused += 1
            return outcomes.refused(
                msg, sendable.mode, reply, header, now, sendable.validity_ends_at
            )
        if reading.concern is Concern.RELAY:
            probe = ProbeEnvelope(sent.composed.envelope_from, sent.composed.recipient)
            self._relay_fault(relay, f"the relay refuses: {reply.code} {reply.text}", probe)
            return outcomes.deferred(msg, reply, header, self._retry_at())
        about_sender = reading.concern is Concern.RELAY_PACE
        until = self._turns.slowed(
            relay if about_sender else None, sent.turn.group, reading.wait_seconds
        )
        return outcomes.deferred(msg, reply, header, until)

    def _relay_fault(
        self, relay: str, reason: str, probe: ProbeEnvelope | None, *, for_good: bool = False
    ) -> None:
        """One more relay-level fault in a row; a relay out of rotation pauses the sends that
        have no other relay."""
        now = self._loop_time()
        if for_good:
            out = self._rotation.fail_for_good(relay, reason, now)
        else:
            out = self._rotation.fault(relay, reason, probe, now)
        if out:
            for delivery_id, sendable in list(self._sendable.items()):
                if not self._rotation.in_rotation(sendable.relays):
                    self._stranded(delivery_id, sendable)

    def _live(self, sendable: Sendable) -> list[str]:
        return [r for r in sendable.relays if self._rotation.in_rotation((r,))]

    def _stranded(self, delivery_id: int, sendable: Sendable) -> None:
        """None of its relays is in rotation: a send pauses, or fails when waiting cannot cure
        it (a login refused, no relay configured by the names it gives)."""
        reason = self._rotation.reason(sendable.relays)
        if not self._rotation.cured_by_waiting(sendable.relays):
            self._give_up(delivery_id, reason)
        elif sendable.state is DeliveryState.SENDING:
            self._pauses[delivery_id] = reason
            self._sendable.pop(delivery_id)

    def _loop_time(self) -> float:
        return asyncio.get_running_loop().time()

    async def _hand_off_begins(self, msg: ClaimedMessage) -> bool:
        """Count the hand-off as begun, durably, before its DATA; False: it must not begin."""
        try:
            return await self._marks.begin(msg.id)
        except Exception:  # the database is out of reach: it stays unsent, the worker goes on
            return False

    def _give_up(self, delivery_id: int, reason: str) -> None:
        """The send of this delivery cannot go on: it goes to error at the next write.

        The messages held for it from now on go back to the queue, to be marked not sent.
        """
        self._fatal[delivery_id] = reason
        self._sendable.pop(delivery_id)


def _session_fault(reply: RelayReply) -> str:
    if reply.kind is ReplyKind.FATAL:
        return reply.text
    return f"relay unreachable: {reply.text}"


def send_until_idle(ctx: Context) -> EngineStats:
    """Run one worker until every due message has been handed over (demo, tests, scripts)."""
    engine = SendEngine(ctx)
    asyncio.run(engine.run(until_idle=True))
    return engine.stats
