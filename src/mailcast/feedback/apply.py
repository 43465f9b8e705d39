"""Applying observations (DSNs, complaints, webhooks) to the sending log, once each.

One transaction per batch: find the messages the observations name, skip what was applied
before (the source key), move each log line through its mode's table, write the lines, one
event per observation, the live counters and the address states together.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from mailcast.context import Context
from mailcast.domain import AddressNote, DeliveryState, MessageStatus, SendState
from mailcast.feedback import correlate, quarantine
from mailcast.feedback.effects import Effect, Line, observe
from mailcast.feedback.observation import Observation
from mailcast.store import feedback as store
from mailcast.store.feedback import Target

log = logging.getLogger(__name__)

_ATTEMPTS = 3  # two appliers racing on one source key: the loser reads it as a duplicate


Tally = Literal["applied", "duplicates", "unmatched", "deferred"]


@dataclass
class ApplyResult:
    """How a batch of observations went."""

    applied: int = 0
    duplicates: int = 0  # applied before (same source key): nothing changed
    unmatched: int = 0  # names no message of ours, or not its recipient: nothing changed
    # The message was on the wire (a retry in flight): apply the same observation again later.
    deferred: int = 0
    message_ids: list[int] = field(default_factory=list)  # the messages applied to
    each: list[tuple[Observation, Tally]] = field(default_factory=list)  # in the batch's order

    def count(self, tally: Tally, obs: Observation) -> None:
        setattr(self, tally, getattr(self, tally) + 1)
        self.each.append((obs, tally))

    def share(self, observations: list[Observation]) -> ApplyResult:
        """The tallies of some of the batch's observations (one request's, one report's)."""
        wanted = {id(obs) for obs in observations}
        part = ApplyResult()
        for obs, tally in self.each:
            if id(obs) in wanted:
                part.count(tally, obs)
        return part


# Run in the batch's transaction after it is applied: what the caller records with it.
Then = Callable[[Connection, ApplyResult], None]


def apply_observations(
    ctx: Context, observations: list[Observation], then: Then | None = None
) -> ApplyResult:
    """Apply a batch; the same observation (source key) applied twice changes nothing."""
    if not observations and then is None:
        return ApplyResult()
    for attempt in range(1, _ATTEMPTS + 1):
        try:
            with ctx.db.write() as conn:
                result = _apply(ctx, conn, observations) if observations else ApplyResult()
                if then is not None:
                    then(conn, result)
                return result
        except IntegrityError:
            if attempt == _ATTEMPTS:
                raise
            log.info("a concurrent applier recorded the same feedback; reading it again")
    raise AssertionError("unreachable")


@dataclass
class _Batch:
    result: ApplyResult = field(default_factory=ApplyResult)
    lines: dict[int, Line] = field(default_factory=dict)
    effects: list[Effect] = field(default_factory=list)


def _apply(ctx: Context, conn: Connection, observations: list[Observation]) -> ApplyResult:
    batch = _Batch()
    fresh = _fresh(conn, observations, batch.result)
    candidates = [correlate.candidate_ids(ctx.signer, obs.ref) for obs in fresh]
    found = store.targets(conn, {i for ids in candidates for i in ids})
    now = ctx.clock.now()
    for obs, ids in zip(fresh, candidates, strict=True):
        target = correlate.pick(obs.ref, ids, found)
        if target is None:
            batch.result.count("unmatched", obs)
        elif target.send_state is SendState.IN_FLIGHT or _about_to_be_recorded(target):
            # Its worker will record the hand-off over our change: apply it after that.
            batch.result.count("deferred", obs)
        else:
            line = batch.lines.setdefault(target.id, Line.of(target))
            batch.effects.append(observe(line, obs, now))
            batch.result.count("applied", obs)
            batch.result.message_ids.append(target.id)
    _write(ctx, conn, batch)
    return batch.result


def _about_to_be_recorded(target: Target) -> bool:
    """Never recorded as relayed, and still to be sent: a fast relay's DSN overtook the worker
    (or the worker died between the hand-off and its record, and a retry will send it)."""
    return (
        not target.relayed
        and target.status is MessageStatus.QUEUED
        and target.delivery_state in _MAY_SEND
    )


_MAY_SEND = frozenset({DeliveryState.SENDING, DeliveryState.PAUSED})


def _fresh(
    conn: Connection, observations: list[Observation], result: ApplyResult
) -> list[Observation]:
    """The observations not applied before, each key once."""
    known = store.known_source_keys(conn, (obs.source_key for obs in observations))
    fresh: list[Observation] = []
    for obs in observations:
        if obs.source_key in known:
            result.count("duplicates", obs)
        else:
            known.add(obs.source_key)
            fresh.append(obs)
    return fresh


def _write(ctx: Context, conn: Connection, batch: _Batch) -> None:
    changed = [line for line in batch.lines.values() if line.changed]
    moves: dict[int, Counter[tuple[MessageStatus, MessageStatus]]] = {}
    for line in changed:
        if line.status is not line.original_status:
            moves.setdefault(line.delivery_id, Counter())[(line.original_status, line.status)] += 1
    now = ctx.clock.now()
    store.record_feedback(
        conn, [line.row() for line in changed], [e.event for e in batch.effects], moves, now
    )
    notes: list[AddressNote] = [e.note for e in batch.effects if e.note is not None]
    if notes:
        quarantine.note_all(conn, notes, ctx.settings.quarantine.policy)
