"""The bodies of the profile, list and history routes."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import BaseModel, Field

from mailcast.domain import (
    AddressStatus,
    ExclusionReason,
    FailureReason,
    FailureType,
    MessageStatus,
    Standing,
)
from mailcast.web.api.models import Address, Name, Out
from mailcast.web.api.types import Text


class ProfileIn(BaseModel):
    email: Address | None = Field(description="Null: a profile without an address.")
    first_name: Annotated[Text, Field(max_length=200)] | None = None
    last_name: Annotated[Text, Field(max_length=200)] | None = None
    attributes: dict[
        Annotated[Text, Field(max_length=200)], Annotated[Text, Field(max_length=10_000)]
    ] = {}
    lists: list[Name] = []


class ProfileOut(Out):
    id: int
    email: str | None
    first_name: str | None
    last_name: str | None
    attributes: dict[str, Any]
    email_subscribed: bool
    created_at: dt.datetime
    updated_at: dt.datetime
    lists: list[str] | None = Field(None, description="Given when one profile is read.")


class ListOut(Out):
    name: str
    size: int


class RowErrorOut(Out):
    line: int
    reason: str


class ImportOut(Out):
    list_name: str
    rows_read: int
    imported: int
    updated: int
    duplicates_in_file: int
    error_count: int
    errors: list[RowErrorOut] = Field(description="The first 1000 rows refused, by line.")


class HistoryEntryOut(Out):
    at: dt.datetime
    delivery_id: int
    delivery_name: str
    address: str | None
    message_id: int | None
    status: MessageStatus | None
    excluded: ExclusionReason | None
    failure_type: FailureType | None
    failure_reason: FailureReason | None
    opens: int
    clicks: int
    first_opened_at: dt.datetime | None
    first_clicked_at: dt.datetime | None
    unsubscribed_at: dt.datetime | None
    complained_at: dt.datetime | None


class HistoryOut(Out):
    profile_id: int
    email: str
    subscribed: bool = Field(description="Neither unsubscribed nor complained.")
    standing: Standing = Field(description="A complaint outweighs the subscription flag.")
    complained_at: dt.datetime | None = Field(description="The profile's first complaint.")
    address_status: AddressStatus = Field(description="The state of the profile's address.")
    entries: list[HistoryEntryOut]


class SubscriptionIn(BaseModel):
    subscribed: bool = Field(description="False: unsubscribe (the email denylist); true: back.")
    reason: Annotated[Text, Field(min_length=1, max_length=500)] = Field(
        description="Why: kept with the change, shown in the profile's history."
    )


class SubscriptionOut(Out):
    subscribed: bool
    reason: str
    changed_by: str
    at: dt.datetime
