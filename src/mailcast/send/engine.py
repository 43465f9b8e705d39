"""The send loop: claim a batch, compose, throttle, relay, record the batch, and again."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import secrets
import socket
from collections import Counter
from collections.abc import Awaitable
from dataclasses import dataclass, field

from sqlalchemy import Connection, RowMapping

from mailcast.compose.composer import ComposedMessage, Composer, DeliveryContent, Recipient
from mailcast.compose.templates import RenderError
from mailcast.context import Context
from mailcast.domain import DeliveryState, FeedbackMode, MessageStatus
from mailcast.feedback import quarantine
from mailcast.send import outcomes
from mailcast.send.domain_groups import DomainGroups
from mailcast.send.hand_offs import HandOffMarks
from mailcast.send.outcomes import Recorded
from mailcast.send.pacing import RELAY, Pacer
from mailcast.send.probe import ProbeEnvelope, relay_answers
from mailcast.send.relay import Envelope, RelayConnection, RelayReply, ReplyKind
from mailcast.send.replies import Concern, read_reply
from mailcast.send.shared_limits import SharedLimits, limits_of
from mailcast.store import deliveries as delivery_store
from mailcast.store import messages as message_store
from mailcast.store.messages import ClaimedMessage
from mailcast.tracking.links import LinkTracker

_UNREACHABLE_RETRY = dt.timedelta(seconds=5)
# A sending task waits out a domain's rate in place up to this; longer, the message goes back.
_LONGEST_PACE_WAIT = dt.timedelta(seconds=1)
_SESSION_POLL = dt.timedelta(milliseconds=10)  # how often a task looks for a group's session
# How soon a pause, stop or error decided elsewhere reaches the messages this worker holds.
_STATE_CHECK_SECONDS = 0.1
_STILL_SENDING = (DeliveryState.SENDING, DeliveryState.SENT)


@dataclass
class _Sendable:
    """A delivery whose messages may leave now, compiled once."""

    composer: Composer
    mode: FeedbackMode
    state: DeliveryState
    validity_ends_at: dt.datetime


@dataclass
class EngineStats:
    relayed: int = 0
    refused: int = 0
    released: int = 0
    batches: int = 0
    deliveries_sent: list[int] = field(default_factory=list)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class SendEngine:
    """One worker: a coordinator that claims and records, and one task per relay connection."""

    def __init__(self, ctx: Context, worker: str | None = None) -> None:
        self.ctx = ctx
        self.send_settings = ctx.settings.send
        self.worker = worker or worker_name()
        self.stats = EngineStats()
        # None tells a sending task to end (the worker stops).
        self._queue: asyncio.Queue[ClaimedMessage | None] = asyncio.Queue()
        self._results: list[Recorded] = []
        self._fatal: dict[int, str] = {}
        self._outstanding = 0  # claimed and not yet recorded
        self._sendable: dict[int, _Sendable] = {}
        self._composers: dict[tuple[int, int], Composer] = {}
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._marks = HandOffMarks(self._begin_hand_offs)
        self._shared = SharedLimits(ctx.db, limits_of(self.send_settings))
        self._groups = DomainGroups(ctx.settings.domain_groups)
        self._pacer = Pacer(ctx.settings.pacing, ctx.clock.now, self._groups.ceiling)
        self._sessions: Counter[str] = Counter()  # per domain group, being handed over now
        self._claim_turns = 0
        # Relay-level faults in a row: unreachable, or the relay refusing sender or relaying.
        self._relay_faults = 0
        self._pauses: dict[int, str] = {}  # deliveries to pause at the next write, and why
        self._probe = _ProbeState(self.send_settings.probe_first_seconds)
        self._render_failures: Counter[int] = Counter()  # per delivery, while none rendered
        self._rendered: set[int] = set()

    # --- the coordinator ------------------------------------------------------------------

    async def run(self, *, until_idle: bool = False, stop: asyncio.Event | None = None) -> None:
        """Send until stopped, or (until_idle) until nothing is left to send now."""
        connections = [RelayConnection(self.ctx.settings.relay) for _ in range(self._concurrency)]
        senders = [asyncio.create_task(self._sender(c)) for c in connections]
        try:
            await self._coordinate(until_idle, stop)
        finally:
            await self._shut_down(senders, connections)

    @property
    def _concurrency(self) -> int:
        return self.send_settings.concurrency

    async def _coordinate(self, until_idle: bool, stop: asyncio.Event | None) -> None:
        loop = asyncio.get_running_loop()
        next_refresh = next_heartbeat = next_state_check = 0.0
        while not (stop and stop.is_set()):
            await self._flush()
            if loop.time() >= next_refresh:
                await asyncio.to_thread(self._refresh_sendable)
                await self._probe_relay_if_paused(loop.time())
                next_refresh = loop.time() + self.send_settings.poll_seconds
            elif self._outstanding and loop.time() >= next_state_check:
                await asyncio.to_thread(self._check_states)
                next_state_check = loop.time() + _STATE_CHECK_SECONDS
            if loop.time() >= next_heartbeat:
                await asyncio.to_thread(self._extend_leases)
                next_heartbeat = loop.time() + self.send_settings.lease_seconds / 3
            claimed = 0
            if self._queue.qsize() < self.send_settings.batch_size:
                claimed = await asyncio.to_thread(self._claim)
            idle = claimed == 0 and self._outstanding == 0
            # Messages leased by a worker that died come back when the lease runs out.
            if idle and until_idle and not await asyncio.to_thread(self._in_flight_elsewhere):
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
        unsent = []
        while not self._queue.empty():
            unsent.append(self._queue.get_nowait())
        self._results.extend(outcomes.released(msg) for msg in unsent if msg is not None)
        for _ in senders:
            self._queue.put_nowait(None)
        await self._let_hand_offs_finish(senders)
        await self._flush()
        await asyncio.gather(*(c.close() for c in conns), return_exceptions=True)

    async def _let_hand_offs_finish(self, senders: list[asyncio.Task[None]]) -> None:
        # A relay that stops answering cannot hold the stop longer than its own timeout: a
        # hand-off cut short then stays in flight until its lease runs out.
        _, late = await asyncio.wait(senders, timeout=self.ctx.settings.relay.timeout)
        for task in late:
            task.cancel()
        await asyncio.gather(*senders, return_exceptions=True)

    # --- database steps (run in a thread) -------------------------------------------------

    def _refresh_sendable(self) -> None:
        now = self.ctx.clock.now()
        with self.ctx.db.read() as conn:
            rows = delivery_store.deliveries_in(conn, (DeliveryState.SENDING, DeliveryState.SENT))
        self._sendable = {
            row["id"]: self._sendable_from(row)
            for row in rows
            if row["validity_ends_at"] is None or row["validity_ends_at"] > now
        }

    def _check_states(self) -> None:
        """Drop the deliveries paused, stopped or failed since the last refresh.

        The messages held for them then go back to the queue without being sent.
        """
        sendable = list(self._sendable.items())  # the sending tasks may drop one meanwhile
        sending = [i for i, s in sendable if s.state is DeliveryState.SENDING]
        if not sending:
            return
        with self.ctx.db.read() as conn:
            states = delivery_store.states_of(conn, sending)
        for delivery_id in sending:
            if states.get(delivery_id) not in _STILL_SENDING:
                self._sendable.pop(delivery_id, None)

    def _sendable_from(self, row: RowMapping) -> _Sendable:
        key = (row["id"], row["version"])
        if key not in self._composers:
            content = DeliveryContent(
                delivery_id=row["id"],
                subject=row["subject"],
                from_addr=row["from_addr"],
                reply_to=row["reply_to"],
                html=row["html_template"],
                text=row["text_template"],
                inline_css=row["inline_css"],
            )
            self._composers[key] = Composer(
                content,
                self.ctx.signer,
                LinkTracker.from_context(self.ctx),
                self.ctx.settings.templates,
                self.ctx.dkim,
            )
        validity_end = row["validity_ends_at"] or self.ctx.clock.now() + dt.timedelta(
            hours=row["validity_hours"]
        )
        return _Sendable(
            composer=self._composers[key],
            mode=FeedbackMode(row["feedback_mode"]),
            state=DeliveryState(row["state"]),
            validity_ends_at=validity_end,
        )

    def _paused_by_relay(self) -> list[int]:
        with self.ctx.db.read() as conn:
            return delivery_store.paused_by_relay(conn)

    def _resume(self, delivery_ids: list[int]) -> None:
        with self.ctx.db.write() as conn:
            delivery_store.resume_after_relay(conn, delivery_ids, self.ctx.clock.now())
        self._refresh_sendable()

    def _in_flight_elsewhere(self) -> int:
        with self.ctx.db.read() as conn:
            return message_store.count_in_flight(conn)

    def _begin_hand_offs(self, message_ids: list[int]) -> set[int]:
        with self.ctx.db.write() as conn:
            return message_store.begin_hand_offs(conn, self.worker, message_ids)

    def _extend_leases(self) -> None:
        lease_until = self.ctx.clock.now() + dt.timedelta(seconds=self.send_settings.lease_seconds)
        with self.ctx.db.write() as conn:
            message_store.extend_leases(conn, self.worker, lease_until)

    def _claim(self) -> int:
        now = self.ctx.clock.now()
        lease_until = now + dt.timedelta(seconds=self.send_settings.lease_seconds)
        with self.ctx.db.write() as conn:
            message_store.release_expired_leases(conn, now)
            for delivery_id, sendable in self._in_turn():
                batch = message_store.claim_batch(
                    conn, delivery_id, self.worker, now, lease_until, self.send_settings.batch_size
                )
                if batch:
                    self._enqueue(batch)
                    self._claim_turns += 1
                    return len(batch)
                if sendable.state is DeliveryState.SENDING:
                    self._finish(conn, delivery_id, now)
        return 0

    def _in_turn(self) -> list[tuple[int, _Sendable]]:
        """The deliveries to claim from, each claim starting with the next: several sending at
        once share the worker batch by batch, and none waits for another to end."""
        # A copy: the sending tasks drop deliveries (errors) while this thread claims.
        sendable = list(self._sendable.items())
        first = self._claim_turns % len(sendable) if sendable else 0
        return sendable[first:] + sendable[:first]

    def _enqueue(self, batch: list[ClaimedMessage]) -> None:
        self._outstanding += len(batch)
        for msg in batch:
            self._queue.put_nowait(msg)

    def _finish(self, conn: Connection, delivery_id: int, now: dt.datetime) -> None:
        if message_store.finish_sending(conn, delivery_id, now):
            self.stats.deliveries_sent.append(delivery_id)

    async def _flush(self) -> None:
        if self._results or self._fatal or self._pauses:
            results, self._results = self._results, []
            fatal, self._fatal = self._fatal, {}
            pauses, self._pauses = self._pauses, {}
            await asyncio.to_thread(self._record, results, fatal, pauses)
            self._outstanding -= len(results)

    def _record(
        self, results: list[Recorded], fatal: dict[int, str], pauses: dict[int, str]
    ) -> None:
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

    # --- the sending tasks ----------------------------------------------------------------

    async def _sender(self, connection: RelayConnection) -> None:
        while (msg := await self._queue.get()) is not None:
            result = await self._send_one(connection, msg)
            self._results.append(result)
            if len(self._results) >= self.send_settings.batch_size or self._queue.empty():
                self._wake.set()

    async def _send_one(self, connection: RelayConnection, msg: ClaimedMessage) -> Recorded:
        sendable = self._sendable.get(msg.delivery_id)
        if sendable is None or msg.delivery_id in self._fatal:
            self.stats.released += 1
            return outcomes.released(msg)
        group = self._groups.group_of(_domain(msg.address))
        later = await self._groups_turn(group)
        if later is not None:  # before composing: a held domain costs no rendering
            return outcomes.released(msg, retry_at=later)
        try:
            return await self._hand_off(connection, msg, sendable, group)
        finally:
            self._sessions[group] -= 1

    async def _hand_off(
        self, connection: RelayConnection, msg: ClaimedMessage, sendable: _Sendable, group: str
    ) -> Recorded:
        now = self.ctx.clock.now()
        try:
            composed = sendable.composer.compose(_recipient(msg), now, sign=False)
        except (RenderError, ValueError) as exc:
            self._render_failed(msg.delivery_id, str(exc))
            return outcomes.unrenderable(msg, sendable.mode, str(exc), now)
        self._rendered.add(msg.delivery_id)
        wait = await self._shared_turn()
        if wait is not None:  # the worker stops (0), or a quota is used up until then
            return outcomes.released(msg, retry_at=now + wait if wait else None)
        composed = await sendable.composer.signed(composed, now)
        if not await self._hand_off_begins(msg):
            return outcomes.released(msg)
        envid = composed.envelope_from.split("@", 1)[0]
        reply = await connection.send(
            Envelope(composed.envelope_from, composed.recipient, composed.data, envid)
        )
        return await self._outcome(msg, sendable, reply, _Sent(composed, group))

    async def _outcome(
        self, msg: ClaimedMessage, sendable: _Sendable, reply: RelayReply, sent: _Sent
    ) -> Recorded:
        now, header = self.ctx.clock.now(), sent.message_id_header
        if reply.kind is ReplyKind.ACCEPTED:
            self._relay_faults = 0
            self.stats.relayed += 1
            return outcomes.accepted(msg, sendable.mode, reply, header, now, self.worker)
        if reply.kind is ReplyKind.REFUSED:
            return self._refused(msg, sendable, reply, sent)
        if reply.kind is ReplyKind.UNSENDABLE:
            return outcomes.unsendable(msg, sendable.mode, reply.text, now)
        if reply.kind is ReplyKind.FATAL:
            self._give_up(msg.delivery_id, reply.text)
            # Not later than that: a sent delivery's retries wait there while it lasts.
            return outcomes.released(msg, retry_at=now + _UNREACHABLE_RETRY)
        self._relay_fault(f"relay unreachable: {reply.text}", None)
        # Not handed over: back in the queue a little later, while the relay recovers.
        await self._unless_stopping(asyncio.sleep(min(0.1 * self._relay_faults, 5.0)))
        return outcomes.released(msg, retry_at=now + _UNREACHABLE_RETRY)

    def _refused(
        self, msg: ClaimedMessage, sendable: _Sendable, reply: RelayReply, sent: _Sent
    ) -> Recorded:
        """A refusal counts against the address only when it is about the recipient."""
        now, header = self.ctx.clock.now(), sent.message_id_header
        reading = read_reply(reply)
        if reading.concern is Concern.RECIPIENT:
            self._relay_faults = 0
            self.stats.refused += 1
            return outcomes.refused(
                msg, sendable.mode, reply, header, now, sendable.validity_ends_at
            )
        if reading.concern is Concern.RELAY:
            probe = ProbeEnvelope(sent.composed.envelope_from, sent.composed.recipient)
            self._relay_fault(f"the relay refuses: {reply.code} {reply.text}", probe)
            return outcomes.deferred(msg, reply, header, now + _UNREACHABLE_RETRY)
        paced = RELAY if reading.concern is Concern.RELAY_PACE else sent.group
        until = self._pacer.slowed(paced, reading.wait_seconds)
        return outcomes.deferred(msg, reply, header, until)

    async def _groups_turn(self, group: str) -> dt.datetime | None:
        """Wait for a session and the rate of the recipient's domain group; when that is far
        off, the time to try again instead. None: it may go (its session is counted)."""
        while True:
            later = self._session_free_at(group) or self._pacer.wait_for(group)
            if later is None:
                self._sessions[group] += 1
                return None
            wait = later - self.ctx.clock.now()
            if wait > _LONGEST_PACE_WAIT or self._stopping.is_set():
                return later
            await self._unless_stopping(asyncio.sleep(max(wait.total_seconds(), 0.005)))

    def _session_free_at(self, group: str) -> dt.datetime | None:
        limits = self._groups.limits(group)
        if limits is None or not limits.concurrency or self._sessions[group] < limits.concurrency:
            return None
        return self.ctx.clock.now() + _SESSION_POLL

    def _relay_fault(self, reason: str, probe: ProbeEnvelope | None) -> None:
        """One more relay-level fault in a row; past the setting, what is being sent pauses."""
        self._relay_faults += 1
        if probe is not None:
            self._probe.envelope = probe
        if self._relay_faults < self.send_settings.max_consecutive_errors:
            return
        for delivery_id, sendable in list(self._sendable.items()):
            if sendable.state is DeliveryState.SENDING:
                self._pauses[delivery_id] = reason
                self._sendable.pop(delivery_id, None)
        self._probe.paused(asyncio.get_running_loop().time())

    async def _probe_relay_if_paused(self, now: float) -> None:
        """Resume what relay faults paused once the relay takes the refused envelope again."""
        if now < self._probe.next_at:
            return
        paused = await asyncio.to_thread(self._paused_by_relay)
        if not paused:  # a pause by another worker is seen within the first probe's wait
            self._probe.next_at = now + self.send_settings.probe_first_seconds
            return
        if await relay_answers(self.ctx.settings.relay, self._probe.envelope):
            await asyncio.to_thread(self._resume, paused)
            self._relay_faults = 0
            self._probe.succeeded(self.send_settings.probe_first_seconds)
        else:
            self._probe.failed(now, self.send_settings.probe_max_seconds)

    async def _shared_turn(self) -> dt.timedelta | None:
        """The turn of the rate and quotas all workers share. None: it may go; else how long
        until it may (zero when the worker stops first)."""
        while (short := self._shared.take()) is not None:
            wait = await asyncio.to_thread(self._shared.refill, short)
            if wait > _LONGEST_PACE_WAIT.total_seconds():
                return dt.timedelta(seconds=wait)
            await self._unless_stopping(asyncio.sleep(wait))
            if self._stopping.is_set():
                return dt.timedelta(0)
        return dt.timedelta(0) if self._stopping.is_set() else None

    async def _unless_stopping(self, wait: Awaitable[None]) -> None:
        """Wait, but no longer than until the worker stops: a stop waits for no turn."""
        waiting = asyncio.ensure_future(wait)
        stopping = asyncio.ensure_future(self._stopping.wait())
        await asyncio.wait((waiting, stopping), return_when=asyncio.FIRST_COMPLETED)
        waiting.cancel()
        stopping.cancel()

    async def _hand_off_begins(self, msg: ClaimedMessage) -> bool:
        """Count the hand-off as begun, durably, before its DATA; False: it must not begin."""
        try:
            return await self._marks.begin(msg.id)
        except Exception:  # the database is out of reach: it stays unsent, the worker goes on
            return False

    def _render_failed(self, delivery_id: int, error: str) -> None:
        """The first N messages of a delivery all failing to render: it fails for everyone."""
        if delivery_id in self._rendered:
            return  # it renders for some: those it fails for are failed one by one
        self._render_failures[delivery_id] += 1
        if self._render_failures[delivery_id] >= self.send_settings.max_render_failures:
            self._give_up(delivery_id, f"the template fails for every recipient: {error}")

    def _give_up(self, delivery_id: int, reason: str) -> None:
        """The send of this delivery cannot go on: it goes to error at the next write.

        The messages held for it from now on go back to the queue, to be marked not sent.
        """
        self._fatal[delivery_id] = reason
        self._sendable.pop(delivery_id, None)


@dataclass(frozen=True, slots=True)
class _Sent:
    """A message handed over, and the domain group it went to."""

    composed: ComposedMessage
    group: str

    @property
    def message_id_header(self) -> str:
        return self.composed.message_id_header


@dataclass
class _ProbeState:
    """When to probe a relay that paused sends next: the wait doubles while it stays down."""

    interval: float
    next_at: float = 0.0
    envelope: ProbeEnvelope | None = None

    def paused(self, now: float) -> None:
        self.next_at = max(self.next_at, now + self.interval)

    def failed(self, now: float, longest: float) -> None:
        self.interval = min(self.interval * 2, longest)
        self.next_at = now + self.interval

    def succeeded(self, first: float) -> None:
        self.interval, self.envelope = first, None


def _domain(address: str) -> str:
    return address.rpartition("@")[2].lower()


def _recipient(msg: ClaimedMessage) -> Recipient:
    return Recipient(msg.id, msg.address, msg.first_name, msg.last_name, msg.attributes)


def send_until_idle(ctx: Context) -> EngineStats:
    """Run one worker until every due message has been handed over (demo, tests, scripts)."""
    engine = SendEngine(ctx)
    asyncio.run(engine.run(until_idle=True))
    return engine.stats
