"""The bodies of the admin routes: address states and releases, users, roles, tokens."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, Field

from mailcast.domain import AddressStatus, FailureReason, Role
from mailcast.web.api.models import Address, Out
from mailcast.web.api.types import Text, UtcTime


class AddressOut(Out):
    address: str
    status: AddressStatus
    error_count: int
    last_error_at: dt.datetime | None
    failure_reason: FailureReason | None
    detail: str | None
    status_changed_at: dt.datetime | None
    releases_at: dt.datetime | None = Field(
        description="When it is released by itself; null: only an admin can release it."
    )
    unsubscribed: bool = Field(description="A profile with this address unsubscribed.")
    complained_at: dt.datetime | None = Field(
        description="When a profile with this address last complained (marked it as spam)."
    )


class AddressPage(Out):
    items: list[AddressOut]
    next: str | None = Field(description="Pass as `after` for the next page; null on the last.")


class ReleaseIn(BaseModel):
    """Name addresses, or choose a bulk release by domain, reason, date, or `all`."""

    addresses: list[Address] = Field([], max_length=10_000)
    domain: Annotated[Text, Field(min_length=1, max_length=255)] | None = None
    reason: FailureReason | None = None
    since: UtcTime | None = None
    all: bool = False
    statuses: list[AddressStatus] = Field(
        [], description="Default: erroneous, quarantine and (named only) denylist."
    )


class ReleaseOut(Out):
    released: list[str]
    not_held: list[str]


class ListIn(BaseModel):
    """Addresses to put on the denylist or allowlist, and why."""

    addresses: list[Address] = Field(min_length=1, max_length=10_000)
    reason: Annotated[Text, Field(max_length=500)] | None = Field(
        None, description="Kept with each address as its detail."
    )


class ListChangeOut(Out):
    changed: list[str] = Field(description="Put on the list (or taken off it).")
    unchanged: list[str] = Field(description="Already on the list (or not on it).")


# --- Users and tokens -----------------------------------------------------------------------


UserName = Annotated[Text, Field(min_length=1, max_length=100)]
Password = Annotated[Text, Field(min_length=1, max_length=1000)]


class UserOut(Out):
    id: int
    name: str
    roles: list[Role]


class MeOut(UserOut):
    actions: list[str] = Field(description="Every action the user's roles allow.")


class UserIn(BaseModel):
    name: UserName
    roles: list[Role] = []
    password: Password | None = Field(None, description="None: API tokens only.")


class RolesIn(BaseModel):
    roles: list[Role]


class PasswordIn(BaseModel):
    password: Password | None = Field(description="None removes the password.")


class TokenIn(BaseModel):
    label: Annotated[Text, Field(max_length=100)] | None = None


class TokenCreated(Out):
    token: str = Field(description="Shown once: only its hash is kept.")
    label: str | None


class TokenOut(Out):
    id: int
    label: str | None
    created_at: dt.datetime
    revoked_at: dt.datetime | None
