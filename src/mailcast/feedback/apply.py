"""Applying observations (DSNs, complaints, webhooks) to the sending log, once each.

One transaction per batch: find the messages the observations name, skip what was applied
before (the source key), move each log line through its mode's table, write the lines, one
event per observation, the live counters and the address states together.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from mailcast.context import Context
from mailcast.domain import AddressNote, MessageStatus, SendState
from mailcast.feedback import correlate, quarantine
from mailcast.feedback.effects import Effect, Line, observe
from mailcast.feedback.observation import Observation
from mailcast.store import feedback as store

log = logging.getLogger(__name__)

_ATTEMPTS = 3  # two appliers racing on one source key: the loser reads it as a duplicate


@dataclass
class ApplyResult:
    """How a batch of observations went."""

    applied: int = 0
    duplicates: int = 0  # applied before (same source key): nothing changed
    unmatched: int = 0  # names no message of ours, or not its recipient: nothing changed
    # The message was on the wire (a retry in flight): apply the same observation again later.
    deferred: int = 0
    message_ids: list[int] = field(default_factory=list)  # the messages applied to

    def __add__(self, other: ApplyResult) -> ApplyResult:
        return ApplyResult(
            self.applied + other.applied,
            self.duplicates + other.duplicates,
            self.unmatched + other.unmatched,
            self.deferred + other.deferred,
            self.message_ids + other.message_ids,
        )


def apply_observations(ctx: Context, observations: list[Observation]) -> ApplyResult:
    """Apply a batch; the same observation (source key) applied twice changes nothing."""
    if not observations:
        return ApplyResult()
    for attempt in range(1, _ATTEMPTS + 1):
        try:
            with ctx.db.write() as conn:
                return _apply(ctx, conn, observations)
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
            batch.result.unmatched += 1
        elif target.send_state is SendState.IN_FLIGHT:
            batch.result.deferred += 1  # its worker will record the hand-off over our change
        else:
            line = batch.lines.setdefault(target.id, Line.of(target))
            batch.effects.append(observe(line, obs, now))
            batch.result.applied += 1
            batch.result.message_ids.append(target.id)
    _write(ctx, conn, batch)
    return batch.result


def _fresh(
    conn: Connection, observations: list[Observation], result: ApplyResult
) -> list[Observation]:
    """The observations not applied before, each key once."""
    known = store.known_source_keys(conn, (obs.source_key for obs in observations))
    fresh: list[Observation] = []
    for obs in observations:
        if obs.source_key in known:
            result.duplicates += 1
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
