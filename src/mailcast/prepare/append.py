"""Appending: a delivery that is sending takes more recipients (a recurring period's delivery).

The messages, exclusions and figures it has stay. The target is screened again as at any
preparation, and what it yields is added: queued messages, exclusions, and the same numbers
on the counters, chunk by chunk. The new messages are held back (the engine does not claim
them) until the whole target has been screened, so that a blocking error found on the way
takes back everything this append added. The delivery's state never changes.
"""

from __future__ import annotations

from sqlalchemy import RowMapping

from mailcast.context import Context
from mailcast.deliveries.errors import DeliveryError
from mailcast.domain import DeliveryState
from mailcast.prepare.rules import Blocked, Finding
from mailcast.prepare.screening import Tally, target_findings
from mailcast.prepare.steps import (
    PreparationResult,
    PreparationStopped,
    blocking,
    compile_content,
    control_rules,
    queue_target,
)
from mailcast.store import deliveries as delivery_store
from mailcast.store import preparation as store

# Appending goes on while the delivery sends or is paused (a pause keeps what is queued).
_STILL_SENDING = frozenset({DeliveryState.SENDING, DeliveryState.PAUSED})


def append_recipients(ctx: Context, delivery_id: int) -> PreparationResult:
    """Add the target's recipients to a sending delivery; a blocking error adds nothing."""
    delivery = _sending_delivery(ctx, delivery_id)
    findings = control_rules(ctx, delivery)
    composer = compile_content(ctx, delivery, findings)
    if composer is None or blocking(findings):
        return _result(delivery, Tally(), findings)
    mark = _start(ctx, delivery_id)
    try:
        tally = queue_target(ctx, delivery, composer, _STILL_SENDING, hold=True)
    except PreparationStopped:
        _take_back(ctx, delivery_id, mark)
        return _result(delivery, Tally(), [_stopped_finding()])
    except Blocked as blocked:
        _take_back(ctx, delivery_id, mark)
        return _result(delivery, Tally(), [*findings, blocked.finding])
    findings += target_findings(tally)
    if not _release(ctx, delivery_id, mark, blocked=blocking(findings)):
        kept = findings if blocking(findings) else [_stopped_finding()]
        return _result(delivery, Tally(), kept)
    return _result(delivery, tally, findings)


def _sending_delivery(ctx: Context, delivery_id: int) -> RowMapping:
    with ctx.db.read() as conn:
        delivery = delivery_store.get_delivery(conn, delivery_id)
    if delivery["state"] != DeliveryState.SENDING:
        raise DeliveryError(
            f"recipients can only be added to a delivery that is sending, "
            f"not to one in state '{delivery['state']}'"
        )
    return delivery


def _start(ctx: Context, delivery_id: int) -> int:
    """Where this append's exclusions will start; what a dead append left held is taken back."""
    with ctx.db.write() as conn:
        store.take_back_held(conn, delivery_id, ctx.clock.now())
        return store.last_exclusion_id(conn, delivery_id)


def _take_back(ctx: Context, delivery_id: int, mark: int) -> None:
    with ctx.db.write() as conn:
        store.take_back_held(conn, delivery_id, ctx.clock.now(), after_exclusion_id=mark)


def _release(ctx: Context, delivery_id: int, mark: int, *, blocked: bool) -> bool:
    """Let the held messages go, unless blocked or stopped meanwhile; True if they went."""
    now = ctx.clock.now()
    with ctx.db.write() as conn:
        state = delivery_store.get_delivery(conn, delivery_id, for_update=True)["state"]
        if blocked or state not in _STILL_SENDING:
            store.take_back_held(conn, delivery_id, now, after_exclusion_id=mark)
            return False
        store.release_held(conn, delivery_id, now)
        return True


def _stopped_finding() -> Finding:
    return Finding("warning", "stopped", "the delivery was stopped: no recipient was added")


def _result(delivery: RowMapping, tally: Tally, findings: list[Finding]) -> PreparationResult:
    state = DeliveryState(delivery["state"])
    return PreparationResult(
        delivery["id"], state, tally.to_deliver, dict(tally.excluded), findings
    )
