"""What one observation does to a sending-log line: the mode tables, retries, the event.

Pure: it changes a `Line` in memory and says which event and address note it implies; apply.py
reads the lines, calls this once per observation, and writes everything back at once.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields
from typing import Any

from mailcast.domain import (
    AddressNote,
    DeliveryState,
    EventKind,
    FailureReason,
    FailureType,
    FeedbackMode,
    MessageStatus,
    Outcome,
    SendState,
    next_retry_at,
    next_status,
)
from mailcast.feedback.observation import Observation, Seen
from mailcast.store.feedback import FEEDBACK_COLUMNS, Target

# A soft failure is re-sent only while the delivery may still send (stopped ones never do).
RETRYING_STATES = frozenset({DeliveryState.SENDING, DeliveryState.PAUSED, DeliveryState.SENT})


@dataclass
class Line:
    """A sending-log line being changed by feedback, with its status before the first change."""

    id: int
    delivery_id: int
    profile_id: int | None
    address: str
    mode: FeedbackMode
    delivery_state: DeliveryState
    validity_ends_at: dt.datetime | None
    attempts: int
    status: MessageStatus
    send_state: SendState
    next_attempt_at: dt.datetime | None
    first_failure_at: dt.datetime | None
    failure_type: str | None
    failure_reason: str | None
    delivered_at: dt.datetime | None
    original_status: MessageStatus
    changed: bool = False

    @classmethod
    def of(cls, target: Target) -> Line:
        values = {f.name: getattr(target, f.name) for f in fields(Target) if f.name in _LINE}
        return cls(**values, original_status=target.status)

    def row(self) -> dict[str, Any]:
        return {"id": self.id} | {name: getattr(self, name) for name in FEEDBACK_COLUMNS}


_LINE = {f.name for f in fields(Line)}


@dataclass(frozen=True, slots=True)
class Effect:
    event: dict[str, Any]
    note: AddressNote | None = None


def observe(line: Line, obs: Observation, now: dt.datetime) -> Effect:
    """Apply one observation to the line; the event it makes and the address note, if any."""
    if obs.seen is Seen.DELIVERED:
        return _delivered(line, obs)
    if obs.seen is Seen.FAILED and obs.failure_type is FailureType.HARD:
        return _hard(line, obs, now)
    if obs.seen is Seen.FAILED and obs.failure_type is not FailureType.IGNORED:
        return _soft(line, obs, now, retry=True)
    if obs.seen is Seen.DELAYED:
        return _soft(line, obs, now, retry=False)
    if obs.seen is Seen.COMPLAINED:
        note = AddressNote.complaint(line.address, obs.at, obs.diagnostic or obs.reason)
        return Effect(_event(line, obs, EventKind.COMPLAINED), note)
    return Effect(_event(line, obs, EventKind.IGNORED, FailureType.IGNORED))


def retries_failed(line: Line, at: dt.datetime) -> dict[str, Any]:
    """The validity period ended before the message succeeded; the event that says so."""
    _move(line, Outcome.RETRIES_FAILED)
    _cancel_retry(line)
    return {
        "delivery_id": line.delivery_id,
        "message_id": line.id,
        "profile_id": line.profile_id,
        "kind": EventKind.FAILED,
        "at": at,
        "failure_type": line.failure_type or FailureType.SOFT,
        "failure_reason": line.failure_reason,
        "detail": {"source": "validity", "reason": "retries failed: the validity period ended"},
        # Once per message: running the end of the validity twice records it once.
        "source_key": f"validity:{line.id}",
    }


def _delivered(line: Line, obs: Observation) -> Effect:
    event = _event(line, obs, EventKind.DELIVERED)
    if line.status is MessageStatus.FAILED and line.failure_type == FailureType.HARD:
        return Effect(event)  # a hard failure is final: a late success report changes nothing
    soft_before = line.status is MessageStatus.FAILED
    _move(line, Outcome.RETRY_SUCCEEDED if soft_before else Outcome.DELIVERED)
    line.failure_type = line.failure_reason = None
    line.delivered_at = line.delivered_at or obs.at
    _cancel_retry(line)
    line.changed = True
    return Effect(event, AddressNote.success(line.address, obs.at))


def _hard(line: Line, obs: Observation, now: dt.datetime) -> Effect:
    reason = obs.failure_reason or FailureReason.NOT_DEFINED
    event = _event(line, obs, EventKind.BOUNCED, FailureType.HARD, reason)
    note = AddressNote.failure(line.address, FailureType.HARD, reason, obs.at, obs.diagnostic)
    if _move(line, Outcome.HARD_BOUNCE) is MessageStatus.SENT and line.delivered_at:
        return Effect(event, note)  # EFS: reported delivered before; the log keeps 'sent'
    _fail(line, FailureType.HARD, reason, now)
    _cancel_retry(line)
    return Effect(event, note)


def _soft(line: Line, obs: Observation, now: dt.datetime, *, retry: bool) -> Effect:
    """A failed DSN of a soft type is retried by mailcast; a delayed one by the MTA itself."""
    reason = obs.failure_reason or FailureReason.NOT_DEFINED
    kind = EventKind.BOUNCED if retry else EventKind.DEFERRED
    event = _event(line, obs, kind, FailureType.SOFT, reason)
    # A delay says nothing bad of the address yet; a soft failure counts (a day apart).
    note = (
        AddressNote.failure(line.address, FailureType.SOFT, reason, obs.at, obs.diagnostic)
        if retry
        else None
    )
    if not retry and line.mode is FeedbackMode.LEGACY:
        # The MTA keeps trying and legacy mode hears no success: only its final word counts,
        # or a delayed message it then delivered would fail when the validity period ends.
        return Effect(event, note)
    if _move(line, Outcome.SOFT_BOUNCE) is MessageStatus.SENT and line.delivered_at:
        return Effect(event, note)  # reported delivered already: a late notice
    _fail(line, FailureType.SOFT, reason, now)
    if retry:
        event["detail"]["retry_at"] = _schedule_retry(line, now)
    if _validity_over(line, now):
        _move(line, Outcome.RETRIES_FAILED)  # no retry can come any more: they have failed
        _cancel_retry(line)
    return Effect(event, note)


def _move(line: Line, outcome: Outcome) -> MessageStatus:
    new = next_status(line.mode, line.status, outcome)
    if new is not line.status:
        line.status, line.changed = new, True
    return new


def _fail(line: Line, failure_type: FailureType, reason: FailureReason, now: dt.datetime) -> None:
    line.failure_type, line.failure_reason = failure_type, reason
    line.first_failure_at = line.first_failure_at or now
    line.changed = True


def _schedule_retry(line: Line, now: dt.datetime) -> str | None:
    """Queue the message again on the ACS schedule, unless a retry is queued already."""
    if line.send_state is SendState.WAITING and line.next_attempt_at is not None:
        return line.next_attempt_at.isoformat()
    if line.delivery_state not in RETRYING_STATES or line.validity_ends_at is None:
        return None
    first = line.first_failure_at or now
    # The first hand-off is not a retry: `attempts - 1` retries were made already.
    retry_at = next_retry_at(first, now, max(line.attempts - 1, 0), line.validity_ends_at)
    if retry_at is None:
        return None
    line.send_state, line.next_attempt_at, line.changed = SendState.WAITING, retry_at, True
    return retry_at.isoformat()


def _cancel_retry(line: Line) -> None:
    if line.send_state is SendState.WAITING:
        line.send_state, line.next_attempt_at, line.changed = SendState.DONE, None, True


def _validity_over(line: Line, now: dt.datetime) -> bool:
    return line.validity_ends_at is not None and now >= line.validity_ends_at


def _event(
    line: Line,
    obs: Observation,
    kind: EventKind,
    failure_type: FailureType | None = None,
    failure_reason: FailureReason | None = None,
) -> dict[str, Any]:
    detail: dict[str, Any] = {"source": obs.source}
    for name in ("reason", "status", "diagnostic"):
        if getattr(obs, name):
            detail[name] = getattr(obs, name)[:300]
    if obs.report_id is not None:
        detail["report_id"] = obs.report_id
    return {
        "delivery_id": line.delivery_id,
        "message_id": line.id,
        "profile_id": line.profile_id,
        "kind": kind,
        "at": obs.at,
        "failure_type": failure_type,
        "failure_reason": failure_reason,
        "detail": detail,
        "source_key": obs.source_key,
    }
