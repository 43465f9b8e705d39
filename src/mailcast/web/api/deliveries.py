"""Deliveries: list, read (with the Deployment block), create, edit and delete (drafts)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, status

from mailcast.audience.target import Target
from mailcast.context import Context
from mailcast.deliveries import service
from mailcast.domain import DeliveryState, ShownState
from mailcast.stats.deployment import Deployment, deployment, display_state, display_states
from mailcast.store import deliveries as store
from mailcast.web.api.models import (
    DeliveryEdit,
    DeliveryIn,
    DeliveryOut,
    DeliverySummary,
    DeploymentOut,
    Page,
    TargetIn,
)
from mailcast.web.api.types import MAX_ID, Ctx, Limit, PathId, any_of
from mailcast.web.auth import CurrentUser

router = APIRouter(prefix="/deliveries", tags=["deliveries"])


@router.get("", summary="List deliveries, newest first (keyset pages)")
def list_deliveries(
    ctx: Ctx,
    _user: CurrentUser,
    state: Annotated[list[DeliveryState], any_of("Only these states.")],
    before: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="The previous `next`.")
    ] = None,
    limit: Limit = 50,
) -> Page[DeliverySummary]:
    with ctx.db.read() as conn:
        rows = store.deliveries_page(conn, tuple(state), before, limit)
    shown = display_states(ctx, rows)
    items = [DeliverySummary.model_validate({**row, **_shown(shown[row["id"]])}) for row in rows]
    return Page(items=items, next=items[-1].id if len(items) == limit else None)


@router.get("/{delivery_id}", summary="Read a delivery and its Deployment block")
def get_delivery(ctx: Ctx, _user: CurrentUser, delivery_id: PathId) -> DeliveryOut:
    return delivery_out(ctx, delivery_id)


@router.post(
    "",
    summary="Create a delivery (draft)",
    status_code=status.HTTP_201_CREATED,
)
def create_delivery(ctx: Ctx, user: CurrentUser, body: DeliveryIn) -> DeliveryOut:
    draft = service.DeliveryDraft(**_fields(body.model_dump(exclude={"target"}), body.target))
    return delivery_out(ctx, service.create_delivery(ctx, user, draft))


@router.patch(
    "/{delivery_id}",
    summary="Edit a delivery; a prepared delivery goes back to draft",
)
def edit_delivery(
    ctx: Ctx, user: CurrentUser, delivery_id: PathId, body: DeliveryEdit
) -> DeliveryOut:
    given = body.model_dump(exclude_unset=True, exclude={"target"})
    target = body.target if "target" in body.model_fields_set else None
    service.edit_delivery(ctx, user, delivery_id, **_fields(given, target))
    return delivery_out(ctx, delivery_id)


@router.delete(
    "/{delivery_id}",
    summary="Delete a draft",
    description="Role prepare_deliveries. Only a draft: a delivery prepared, confirmed or sent "
    "stays on record.",
    status_code=status.HTTP_204_NO_CONTENT,
)
def delete_delivery(ctx: Ctx, user: CurrentUser, delivery_id: PathId) -> None:
    service.delete_delivery(ctx, user, delivery_id)


def _fields(values: dict[str, Any], target: TargetIn | None) -> dict[str, Any]:
    if target is not None:
        values["target"] = Target(tuple(target.lists), target.filter)
    return values


def delivery_out(ctx: Context, delivery_id: int) -> DeliveryOut:
    """The delivery as the API shows it: its row, its display state, its Deployment block."""
    with ctx.db.read() as conn:
        row = store.get_delivery(conn, delivery_id)
    block = deployment(ctx, delivery_id)
    return DeliveryOut.model_validate(
        {
            **row,
            **_shown(display_state(block)),
            "html": row["html_template"],
            "text": row["text_template"],
            "deployment": deployment_out(block),
        }
    )


def _shown(shown: ShownState) -> dict[str, str]:
    return {"display_state": shown.label, "stibee_label": shown.stibee}


def deployment_out(block: Deployment) -> DeploymentOut:
    counts, kpis = block.counts, block.kpis
    return DeploymentOut(
        to_deliver=counts.to_deliver,
        processed=counts.processed,
        queued=counts.queued,
        pending=counts.pending,
        sent=counts.sent,
        failed=counts.failed,
        not_sent=counts.not_sent,
        delivered_pct=kpis.delivered_pct,
        bounces_pct=kpis.bounces_pct,
        open_rate=kpis.open_rate,
        click_rate=kpis.click_rate,
        progress=block.progress,
        excluded=block.excluded,
        exclusions=block.exclusions,
        in_flight=block.in_flight,
        relayed_more_than_once=block.relayed_more_than_once,
        error_reason=block.error_reason,
        pause_reason=block.pause_reason,
        paused_by=block.paused_by,
        rates_refreshed_at=block.rates_refreshed_at,
    )
