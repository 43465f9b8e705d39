"""Preparing a delivery: target, filtering rules, one render per recipient, control rules."""

from __future__ import annotations

from sqlalchemy import RowMapping

from mailcast.context import Context
from mailcast.domain import Action, DeliveryState
from mailcast.prepare.append import append_recipients
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
from mailcast.users.service import User, authorize

__all__ = ["PreparationResult", "PreparationStopped", "prepare_delivery", "stop_preparation"]

_PREPARING = frozenset({DeliveryState.PREPARING})


def prepare_delivery(
    ctx: Context, user: User, delivery_id: int, *, append: bool = False
) -> PreparationResult:
    """Run preparation; nothing is sent. A blocking error leaves the delivery in draft.

    With `append`, a delivery that is sending (a recurring delivery's period delivery) keeps
    what it has and takes the recipients its target has now on top (prepare/append.py).
    """
    authorize(user, Action.PREPARE_DELIVERY)
    if append:
        return append_recipients(ctx, delivery_id)
    delivery = _begin(ctx, delivery_id)
    try:
        return _prepare(ctx, delivery)
    except BaseException:
        # Whatever went wrong, the delivery does not stay `preparing` with half a target.
        _abandon(ctx, delivery_id)
        raise


def _prepare(ctx: Context, delivery: RowMapping) -> PreparationResult:
    delivery_id = delivery["id"]
    findings = control_rules(ctx, delivery)
    composer = compile_content(ctx, delivery, findings)
    tally = Tally()
    if composer is not None and not blocking(findings):
        _clear(ctx, delivery_id)
        try:
            tally = queue_target(ctx, delivery, composer, _PREPARING)
        except PreparationStopped:
            return _stopped(ctx, delivery_id)
        except Blocked as blocked:
            findings.append(blocked.finding)
        else:
            findings += target_findings(tally)
    return _conclude(ctx, delivery, findings, tally)


def stop_preparation(ctx: Context, user: User, delivery_id: int) -> None:
    authorize(user, Action.PREPARE_DELIVERY)
    with ctx.db.write() as conn:
        delivery_store.move_delivery(conn, delivery_id, DeliveryState.DRAFT, ctx.clock.now())


def _begin(ctx: Context, delivery_id: int) -> RowMapping:
    with ctx.db.write() as conn:
        return delivery_store.move_delivery(
            conn, delivery_id, DeliveryState.PREPARING, ctx.clock.now(), preparation_log=None
        )


def _abandon(ctx: Context, delivery_id: int) -> None:
    """Back to draft, figures cleared, if the delivery is still being prepared."""
    failed = Finding("error", "preparation", "the preparation failed: see the server's log")
    now = ctx.clock.now()
    with ctx.db.write() as conn:
        row = delivery_store.get_delivery(conn, delivery_id, for_update=True)
        if row["state"] == DeliveryState.PREPARING:
            delivery_store.clear_preparation(conn, delivery_id, now)
            delivery_store.move_delivery(
                conn, delivery_id, DeliveryState.DRAFT, now, preparation_log=[failed.to_json()]
            )


def _clear(ctx: Context, delivery_id: int) -> None:
    with ctx.db.write() as conn:
        delivery_store.clear_preparation(conn, delivery_id, ctx.clock.now())


def _conclude(
    ctx: Context, delivery: RowMapping, findings: list[Finding], tally: Tally
) -> PreparationResult:
    """Ready (or waiting for approval) with the log; back in draft, figures cleared, if blocked."""
    delivery_id, now = delivery["id"], ctx.clock.now()
    log = [f.to_json() for f in findings]
    with ctx.db.write() as conn:
        if blocking(findings):
            delivery_store.clear_preparation(conn, delivery_id, now)
            row = delivery_store.move_delivery(
                conn, delivery_id, DeliveryState.DRAFT, now, preparation_log=log
            )
        else:
            row = delivery_store.move_delivery(
                conn,
                delivery_id,
                DeliveryState.READY,
                now,
                preparation_log=log,
                prepared_version=delivery["version"],
            )
            if approval_required(ctx, delivery):
                row = delivery_store.move_delivery(
                    conn, delivery_id, DeliveryState.PENDING_APPROVAL, now
                )
    return PreparationResult(
        delivery_id, DeliveryState(row["state"]), tally.to_deliver, dict(tally.excluded), findings
    )


def approval_required(ctx: Context, delivery: RowMapping) -> bool:
    """The delivery's own choice, else the settings'."""
    own = delivery["approval_required"]
    return ctx.settings.approval_required if own is None else bool(own)


def _stopped(ctx: Context, delivery_id: int) -> PreparationResult:
    _clear(ctx, delivery_id)
    findings = [Finding("warning", "stopped", "the preparation was stopped")]
    return PreparationResult(delivery_id, DeliveryState.DRAFT, 0, {}, findings)
