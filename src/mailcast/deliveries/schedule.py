"""Send dates in a time zone, and cancelling a schedule before the send starts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import RowMapping

from mailcast.clock import UnknownTimeZone, zone_named
from mailcast.context import Context
from mailcast.deliveries.errors import DeliveryError
from mailcast.domain import Action, DeliveryState
from mailcast.store import deliveries as delivery_store
from mailcast.users.service import User, authorize


def zone_of(name: str | None) -> dt.tzinfo:
    """The IANA time zone of that name (UTC when none); DeliveryError when there is none."""
    if name is None:
        return dt.UTC
    try:
        return zone_named(name)
    except UnknownTimeZone as exc:
        raise DeliveryError(str(exc)) from exc


def send_moment(send_at: dt.datetime | None, zone: str | None) -> dt.datetime | None:
    """The send date in UTC; a date without an offset is a wall-clock time in `zone`.

    A wall-clock time that a daylight-saving change skips or repeats is read with the
    offset in force before the change (zoneinfo's fold=0).
    """
    tz = zone_of(zone)
    if send_at is None:
        return None
    if send_at.tzinfo is None:
        send_at = send_at.replace(tzinfo=tz)
    return send_at.astimezone(dt.UTC)


def rescheduled(current: RowMapping, changes: Mapping[str, Any]) -> dict[str, Any]:
    """The send date and zone after an edit of either; a new zone keeps the wall-clock time."""
    zone = changes.get("send_timezone", current["send_timezone"])
    if "send_at" in changes:
        send_at = changes["send_at"]
    elif current["send_at"] is not None:
        send_at = current["send_at"].astimezone(zone_of(current["send_timezone"]))
        send_at = send_at.replace(tzinfo=None)
    else:
        send_at = None
    return {"send_at": send_moment(send_at, zone), "send_timezone": zone}


def cancel_schedule(ctx: Context, user: User, delivery_id: int) -> None:
    """Back to draft before the send starts (Stibee); it must be prepared again to be sent."""
    authorize(user, Action.CANCEL_SCHEDULE)
    now = ctx.clock.now()
    with ctx.db.write() as conn:
        current = delivery_store.get_delivery(conn, delivery_id, for_update=True)
        if current["state"] != DeliveryState.SCHEDULED:
            raise DeliveryError(
                f"only a scheduled delivery can have its schedule cancelled; "
                f"this one is '{current['state']}'"
            )
        delivery_store.back_to_draft(
            conn, delivery_id, now, confirmed_by=None, confirmed_at=None, validity_ends_at=None
        )
