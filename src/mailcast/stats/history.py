"""A profile's history: every delivery that targeted it, what became of it, in time order.

The API, the dashboard and `mailcast profiles history EMAIL` read it: each sending-log line
(status, failure, opens, clicks, unsubscribe, complaint), each exclusion at preparation (with
its rule), the profile's standing (a complaint outweighs its subscription flag) and the state
of its address.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import RowMapping

from mailcast.context import Context
from mailcast.domain import (
    AddressStatus,
    ExclusionReason,
    FailureReason,
    FailureType,
    MessageStatus,
    Standing,
    standing,
)
from mailcast.store import addresses as address_store
from mailcast.store import history as store
from mailcast.store.deliveries import NotFound

_E = TypeVar("_E", FailureType, FailureReason)


class UnknownProfile(NotFound):
    def __init__(self, email: str) -> None:
        super().__init__(f"no profile has the address {email!r}")


@dataclass(frozen=True)
class HistoryEntry:
    at: dt.datetime  # the first thing that happened: hand-off, or exclusion at preparation
    delivery_id: int
    delivery_name: str
    address: str | None
    message_id: int | None = None  # None: excluded at preparation
    status: MessageStatus | None = None
    excluded: ExclusionReason | None = None
    failure_type: FailureType | None = None
    failure_reason: FailureReason | None = None
    opens: int = 0
    clicks: int = 0
    first_opened_at: dt.datetime | None = None
    first_clicked_at: dt.datetime | None = None
    unsubscribed_at: dt.datetime | None = None
    complained_at: dt.datetime | None = None


@dataclass(frozen=True)
class ProfileHistory:
    profile_id: int
    email: str
    standing: Standing
    address_status: AddressStatus  # of its address: denylist after a complaint, ...
    entries: list[HistoryEntry]

    @property
    def subscribed(self) -> bool:
        """Neither unsubscribed nor complained: what a reader means by subscribed."""
        return self.standing is Standing.SUBSCRIBED

    @property
    def complained_at(self) -> dt.datetime | None:
        return min((e.complained_at for e in self.entries if e.complained_at), default=None)


def profile_history(ctx: Context, email: str) -> ProfileHistory:
    """The history of the profile with this address; UnknownProfile when none has it."""
    with ctx.db.read() as conn:
        profile = store.profile_by_address(conn, email)
        if profile is None:
            raise UnknownProfile(email)
        lines = store.profile_messages(conn, profile["id"])
        first_at = store.first_event_at(conn, profile["id"])
        complained = store.complaints(conn, profile["id"])
        left_out = store.profile_exclusions(conn, profile["id"])
        address = address_store.get_address_state(conn, profile["email_key"])
    entries = [
        _sent_entry(line, first_at.get(line["id"]), complained.get(line["id"])) for line in lines
    ]
    entries += [_excluded_entry(row) for row in left_out]
    entries.sort(key=lambda e: (e.at, e.delivery_id))
    return ProfileHistory(
        profile["id"],
        profile["email"],
        standing(profile["email_subscribed"], bool(complained)),
        AddressStatus(address["status"]) if address is not None else AddressStatus.VALID,
        entries,
    )


def _sent_entry(
    line: RowMapping, first_event: dt.datetime | None, complained_at: dt.datetime | None
) -> HistoryEntry:
    # A message not handed off yet has no event: its delivery's start (or creation) dates it.
    at = first_event or line["delivery_started_at"] or line["delivery_created_at"]
    return HistoryEntry(
        at=at,
        delivery_id=line["delivery_id"],
        delivery_name=line["delivery_name"],
        address=line["address"],
        message_id=line["id"],
        status=MessageStatus(line["status"]),
        failure_type=_maybe(FailureType, line["failure_type"]),
        failure_reason=_maybe(FailureReason, line["failure_reason"]),
        opens=line["opens"],
        clicks=line["clicks"],
        first_opened_at=line["first_opened_at"],
        first_clicked_at=line["first_clicked_at"],
        unsubscribed_at=line["unsubscribed_at"],
        complained_at=complained_at,
    )


def _excluded_entry(row: RowMapping) -> HistoryEntry:
    return HistoryEntry(
        at=row["created_at"],
        delivery_id=row["delivery_id"],
        delivery_name=row["delivery_name"],
        address=row["address"],
        excluded=ExclusionReason(row["reason"]),
    )


def _maybe(kind: type[_E], value: str | None) -> _E | None:
    return kind(value) if value else None
