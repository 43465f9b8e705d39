"""Address states (quarantine, denylist, allowlist), searching them, changing them (admin)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from mailcast.domain import AddressStatus
from mailcast.feedback.address_lists import add_to_list, remove_from_list
from mailcast.feedback.quarantine import (
    AddressEntry,
    ReleaseRequest,
    count_addresses,
    list_addresses,
    release_addresses,
)
from mailcast.store.deliveries import NotFound
from mailcast.users.service import User
from mailcast.web.api.admin_models import (
    AddressOut,
    AddressPage,
    ListChangeOut,
    ListIn,
    ReleaseIn,
    ReleaseOut,
)
from mailcast.web.api.models import Address
from mailcast.web.api.types import Ctx, Limit, Text, any_of
from mailcast.web.auth import CurrentUser

router = APIRouter(prefix="/addresses", tags=["quarantine and denylist"])


@router.get(
    "",
    summary="Addresses in address order (keyset pages by address), with search",
    description="Lists every address with a state and every address whose profile "
    "unsubscribed or complained; with `search`, every known address holding the text "
    "(`@example.com`: the addresses of that domain).",
)
def addresses(
    ctx: Ctx,
    user: CurrentUser,
    status: Annotated[list[AddressStatus], any_of("Only these statuses.")],
    search: Annotated[
        Text | None, Query(max_length=320, description="Part of an address, or '@domain'.")
    ] = None,
    unsubscribed: Annotated[
        bool, Query(description="Only addresses whose profile unsubscribed.")
    ] = False,
    complained: Annotated[bool, Query(description="Only addresses that complained.")] = False,
    after: Annotated[Address | None, Query(description="The previous page's `next`.")] = None,
    limit: Limit = 100,
) -> AddressPage:
    entries = list_addresses(
        ctx,
        user,
        status,
        after,
        limit,
        search=search,
        unsubscribed=unsubscribed,
        complained=complained,
    )
    items = [_address_out(entry) for entry in entries]
    return AddressPage(items=items, next=items[-1].address if len(items) == limit else None)


def _address_out(entry: AddressEntry) -> AddressOut:
    state = entry.state
    return AddressOut(
        address=entry.address,
        status=state.status,
        error_count=state.error_count,
        last_error_at=state.last_error_at,
        failure_reason=state.failure_reason,
        detail=state.detail,
        status_changed_at=state.status_changed_at,
        releases_at=entry.releases_at,
        unsubscribed=entry.unsubscribed,
        complained_at=entry.complained_at,
    )


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


# --- The denylist and the allowlist ---------------------------------------------------------

ListedAddress = Annotated[Address, Path(description="The address, as written or case-folded.")]


@router.post(
    "/denylist",
    summary="Put addresses on the denylist: no delivery is sent to them (admin)",
)
def deny(ctx: Ctx, user: CurrentUser, body: ListIn) -> ListChangeOut:
    return _add(ctx, user, AddressStatus.DENYLIST, body)


@router.delete(
    "/denylist/{address}",
    summary="Take an address off the denylist: valid again (admin)",
    responses={404: {"description": "The address is not on the denylist."}},
)
def undeny(ctx: Ctx, user: CurrentUser, address: ListedAddress) -> ListChangeOut:
    return _remove(ctx, user, AddressStatus.DENYLIST, address)


@router.post(
    "/allowlist",
    summary="Put addresses on the allowlist: sent to whatever their errors (admin)",
)
def allow(ctx: Ctx, user: CurrentUser, body: ListIn) -> ListChangeOut:
    return _add(ctx, user, AddressStatus.ALLOWLIST, body)


@router.delete(
    "/allowlist/{address}",
    summary="Take an address off the allowlist: valid again (admin)",
    responses={404: {"description": "The address is not on the allowlist."}},
)
def disallow(ctx: Ctx, user: CurrentUser, address: ListedAddress) -> ListChangeOut:
    return _remove(ctx, user, AddressStatus.ALLOWLIST, address)


def _add(ctx: Ctx, user: User, status: AddressStatus, body: ListIn) -> ListChangeOut:
    change = add_to_list(ctx, user, status, body.addresses, body.reason)
    return ListChangeOut.model_validate(change)


def _remove(ctx: Ctx, user: User, status: AddressStatus, address: str) -> ListChangeOut:
    change = remove_from_list(ctx, user, status, [address])
    if not change.changed:
        raise NotFound(f"{address!r} is not on the {status}")
    return ListChangeOut.model_validate(change)
