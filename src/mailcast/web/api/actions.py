"""What can be done to a delivery: prepare, approve, confirm, pause, resume, stop, statistics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status

from mailcast.context import Context
from mailcast.deliveries import service
from mailcast.prepare.preparation import prepare_delivery, stop_preparation
from mailcast.recurring import service as recurring
from mailcast.stats.compute import compute_stats
from mailcast.stats.report import delivery_report
from mailcast.store import deliveries as store
from mailcast.web.api.deliveries import delivery_out
from mailcast.web.api.models import (
    DeliveryOut,
    DuplicateIn,
    FindingOut,
    PreparationOut,
    StateOut,
    StatsOut,
    StoppedOut,
)
from mailcast.web.api.types import Ctx, PathId
from mailcast.web.auth import CurrentUser, LogReader

router = APIRouter(prefix="/deliveries/{delivery_id}", tags=["delivery actions"])


@router.post("/prepare", summary="Prepare: target, exclusions, rendering, control rules")
def prepare(ctx: Ctx, user: CurrentUser, delivery_id: PathId) -> PreparationOut:
    result = prepare_delivery(ctx, user, delivery_id)
    return PreparationOut(
        delivery_id=result.delivery_id,
        state=result.state,
        to_deliver=result.to_deliver,
        exclusions=result.exclusions,
        findings=[FindingOut.model_validate(f) for f in result.findings],
        blocked=result.blocked,
    )


@router.post("/prepare/stop", summary="Stop a running preparation (back to draft)")
def stop_prepare(ctx: Ctx, user: CurrentUser, delivery_id: PathId) -> StateOut:
    stop_preparation(ctx, user, delivery_id)
    return _state(ctx, delivery_id)


@router.post("/approve", summary="Approve the prepared version")
def approve(ctx: Ctx, user: CurrentUser, delivery_id: PathId) -> StateOut:
    service.approve_delivery(ctx, user, delivery_id, approve=True)
    return _state(ctx, delivery_id)


@router.post("/reject", summary="Reject the prepared version (back to draft)")
def reject(ctx: Ctx, user: CurrentUser, delivery_id: PathId) -> StateOut:
    service.approve_delivery(ctx, user, delivery_id, approve=False)
    return _state(ctx, delivery_id)


@router.post(
    "/confirm",
    summary="Confirm the send: sending now, or scheduled for its send date",
    description="Role start_deliveries. The delivery must be prepared (and approved when "
    "approval is required) in its current version.",
)
def confirm(ctx: Ctx, user: CurrentUser, delivery_id: PathId) -> StateOut:
    return StateOut(id=delivery_id, state=service.confirm_send(ctx, user, delivery_id))


@router.post(
    "/cancel-schedule",
    summary="Cancel the schedule of a scheduled delivery: back to draft",
    description="Role start_deliveries. The delivery must be prepared again to be sent.",
)
def cancel_schedule(ctx: Ctx, user: CurrentUser, delivery_id: PathId) -> StateOut:
    service.cancel_schedule(ctx, user, delivery_id)
    return _state(ctx, delivery_id)


@router.post(
    "/confirm-occurrence",
    summary="Confirm an occurrence of a recurring delivery that waits for confirmation",
)
def confirm_occurrence(ctx: Ctx, user: CurrentUser, delivery_id: PathId) -> StateOut:
    return StateOut(id=delivery_id, state=recurring.confirm_occurrence(ctx, user, delivery_id))


@router.post(
    "/duplicate",
    summary="Duplicate a delivery as a new draft, its schedule cleared (copy and retry)",
    status_code=status.HTTP_201_CREATED,
)
def duplicate(
    ctx: Ctx, user: CurrentUser, delivery_id: PathId, body: DuplicateIn | None = None
) -> DeliveryOut:
    body = body or DuplicateIn()
    copy_id = service.duplicate_delivery(
        ctx, user, delivery_id, leave_out_delivered=body.leave_out_delivered, name=body.name
    )
    return delivery_out(ctx, copy_id)


@router.post("/pause", summary="Pause a send: the remaining messages stay queued")
def pause(ctx: Ctx, user: CurrentUser, delivery_id: PathId) -> StateOut:
    service.pause_delivery(ctx, user, delivery_id)
    return _state(ctx, delivery_id)


@router.post("/resume", summary="Resume a paused send")
def resume(ctx: Ctx, user: CurrentUser, delivery_id: PathId) -> StateOut:
    service.resume_delivery(ctx, user, delivery_id)
    return _state(ctx, delivery_id)


@router.post("/stop", summary="Stop a send: the remaining messages are never sent")
def stop(ctx: Ctx, user: CurrentUser, delivery_id: PathId) -> StoppedOut:
    not_sent = service.stop_delivery(ctx, user, delivery_id)
    return StoppedOut(**_state(ctx, delivery_id).model_dump(), not_sent=not_sent)


@router.post(
    "/compute-stats",
    summary="Compute stats: recount every KPI from the logs, correct drift, refresh rates",
)
def stats(ctx: Ctx, _user: LogReader, delivery_id: PathId) -> StatsOut:
    return StatsOut.model_validate(compute_stats(ctx, delivery_id))


@router.get(
    "/report",
    summary="The dynamic report, from the logs: counts, rates, hourly series, breakdowns",
)
def report(ctx: Ctx, _user: LogReader, delivery_id: PathId) -> dict[str, Any]:
    return delivery_report(ctx, delivery_id).to_json()


def _state(ctx: Context, delivery_id: int) -> StateOut:
    with ctx.db.read() as conn:
        row = store.get_delivery(conn, delivery_id)
    return StateOut(id=delivery_id, state=row["state"])
