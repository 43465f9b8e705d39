"""Quarantine and denylist: address states, their counts, and releasing them (admin)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from mailcast.domain import AddressStatus
from mailcast.feedback.quarantine import (
    ReleaseRequest,
    count_addresses,
    list_addresses,
    release_addresses,
)
from mailcast.web.api.admin_models import AddressOut, AddressPage, ReleaseIn, ReleaseOut
from mailcast.web.api.models import Address
from mailcast.web.api.types import Ctx, Limit, any_of
from mailcast.web.auth import CurrentUser

router = APIRouter(prefix="/addresses", tags=["quarantine and denylist"])


@router.get("", summary="Address states in address order (keyset pages by address)")
def addresses(
    ctx: Ctx,
    user: CurrentUser,
    status: Annotated[list[AddressStatus], any_of("Only these statuses.")],
    after: Annotated[Address | None, Query(description="The previous page's `next`.")] = None,
    limit: Limit = 100,
) -> AddressPage:
    entries = list_addresses(ctx, user, status, after, limit)
    items = [
        AddressOut(
            address=entry.address,
            status=entry.state.status,
            error_count=entry.state.error_count,
            last_error_at=entry.state.last_error_at,
            failure_reason=entry.state.failure_reason,
            detail=entry.state.detail,
            status_changed_at=entry.state.status_changed_at,
            releases_at=entry.releases_at,
        )
        for entry in entries
    ]
    return AddressPage(items=items, next=items[-1].address if len(items) == limit else None)


@router.get("/counts", summary="How many addresses are in each status")
def counts(ctx: Ctx, user: CurrentUser) -> dict[AddressStatus, int]:
    found = count_addresses(ctx, user)
    return {status: found.get(status, 0) for status in AddressStatus}


@router.post(
    "/release",
    summary="Release addresses: named ones, or in bulk by domain, reason or date (admin)",
    description="A released address is valid again, its error counter at zero. Bulk "
    "releases leave the denylist alone unless `statuses` names it.",
)
def release(ctx: Ctx, user: CurrentUser, body: ReleaseIn) -> ReleaseOut:
    request = ReleaseRequest(
        addresses=tuple(body.addresses),
        domain=body.domain,
        reason=body.reason,
        since=body.since,
        everything=body.all,
        statuses=frozenset(body.statuses),
    )
    return ReleaseOut.model_validate(release_addresses(ctx, user, request))
