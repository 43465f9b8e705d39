"""Creating, editing, approving, confirming, pausing, resuming and stopping deliveries.

Cancelling a schedule and duplicating live in their own modules; they are exported here too,
so that every entry point finds each delivery action in one place.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, RowMapping

from mailcast.audience.target import Target, validate_target
from mailcast.compose.mime import check_header_value
from mailcast.context import Context
from mailcast.deliveries.copies import duplicate_delivery
from mailcast.deliveries.errors import DeliveryError
from mailcast.deliveries.relays import check_relay_names
from mailcast.deliveries.schedule import cancel_schedule, rescheduled, send_moment, zone_of
from mailcast.domain import EDITABLE_STATES, Action, DeliveryState, FeedbackMode, PauseCause
from mailcast.store import counters as counter_store
from mailcast.store import deliveries as delivery_store
from mailcast.store import messages as message_store
from mailcast.users.service import User, authorize

__all__ = [
    "DeliveryDraft",
    "DeliveryError",
    "approve_delivery",
    "cancel_schedule",
    "confirm_send",
    "create_delivery",
    "delete_delivery",
    "duplicate_delivery",
    "edit_delivery",
    "pause_delivery",
    "resume_delivery",
    "stop_delivery",
]


@dataclass(frozen=True)
class DeliveryDraft:
    name: str
    subject: str
    from_addr: str
    target: Target
    html: str = ""
    text: str = ""
    reply_to: str | None = None
    inline_css: bool = False  # the <style> rules go into style attributes (compose/inline_css.py)
    target_limit: int | None = None
    feedback_mode: FeedbackMode | None = None
    # A send_at without an offset is a wall-clock time in send_timezone (an IANA name).
    send_at: dt.datetime | None = None
    send_timezone: str | None = None
    validity_hours: float | None = None
    relays: list[str] | None = None  # by name; None: every relay of the settings
    track_opens: bool = True  # the open pixel
    track_clicks: bool = True  # links rewritten to pass through the click tracker
    approval_required: bool | None = None  # None: as the settings' approval_required


def create_delivery(ctx: Context, user: User, draft: DeliveryDraft) -> int:
    authorize(user, Action.CREATE_DELIVERY)
    _check_headers(draft.subject, draft.from_addr, draft.reply_to)
    with ctx.db.write() as conn:
        validate_target(conn, draft.target)
        return delivery_store.insert_delivery(conn, _columns(ctx, draft, user), ctx.clock.now())


def _columns(ctx: Context, draft: DeliveryDraft, user: User) -> dict[str, Any]:
    return {
        "name": draft.name,
        "subject": draft.subject,
        "from_addr": draft.from_addr,
        "reply_to": draft.reply_to,
        "html_template": draft.html,
        "text_template": draft.text,
        "inline_css": draft.inline_css,
        "target": draft.target.to_json(),
        "target_limit": draft.target_limit,
        "feedback_mode": draft.feedback_mode or ctx.settings.feedback_mode,
        "send_at": send_moment(draft.send_at, draft.send_timezone),
        "send_timezone": draft.send_timezone,
        "validity_hours": round(draft.validity_hours or ctx.settings.validity_hours),
        "relays": check_relay_names(ctx.settings, draft.relays),
        "track_opens": draft.track_opens,
        "track_clicks": draft.track_clicks,
        "approval_required": draft.approval_required,
        "created_by": user.id,
    }


def _check_headers(subject: str, from_addr: str, reply_to: str | None) -> None:
    try:
        for name, value in (("Subject", subject), ("From", from_addr), ("Reply-To", reply_to)):
            check_header_value(name, value or "")
    except ValueError as exc:
        raise DeliveryError(str(exc)) from exc


EDITABLE_FIELDS = {
    "name": "name",
    "subject": "subject",
    "from_addr": "from_addr",
    "reply_to": "reply_to",
    "html": "html_template",
    "text": "text_template",
    "inline_css": "inline_css",
    "target_limit": "target_limit",
    "feedback_mode": "feedback_mode",
    "relays": "relays",
    "track_opens": "track_opens",
    "track_clicks": "track_clicks",
    "approval_required": "approval_required",
}
SCHEDULE_FIELDS = ("send_at", "send_timezone")


def edit_delivery(ctx: Context, user: User, delivery_id: int, **changes: Any) -> None:
    """Any edit after preparation sends the delivery back to draft and revokes its approval."""
    authorize(user, Action.EDIT_DELIVERY)
    values = {EDITABLE_FIELDS[k]: v for k, v in changes.items() if k in EDITABLE_FIELDS}
    if "target" in changes:
        values["target"] = changes["target"].to_json()
    if "relays" in changes:
        values["relays"] = check_relay_names(ctx.settings, changes["relays"])
    if changes.get("validity_hours") is not None:  # stored in whole hours, as at creation
        values["validity_hours"] = round(changes["validity_hours"])
    if "feedback_mode" in changes:
        values["feedback_mode"] = changes["feedback_mode"] or ctx.settings.feedback_mode
    _check_headers(values.get("subject", ""), values.get("from_addr", ""), values.get("reply_to"))
    zone_of(changes.get("send_timezone"))
    now = ctx.clock.now()
    with ctx.db.write() as conn:
        current = delivery_store.get_delivery(conn, delivery_id, for_update=True)
        if current["state"] not in EDITABLE_STATES:
            raise DeliveryError(f"a delivery in state '{current['state']}' cannot be edited")
        if "target" in changes:
            validate_target(conn, changes["target"])
        if any(name in changes for name in SCHEDULE_FIELDS):
            values |= rescheduled(current, changes)
        if current["state"] != DeliveryState.DRAFT:
            delivery_store.back_to_draft(conn, delivery_id, now)
        delivery_store.update_delivery(
            conn,
            delivery_id,
            now,
            **values,
            version=current["version"] + 1,
            approved_version=None,
            approved_by=None,
        )


def delete_delivery(ctx: Context, user: User, delivery_id: int) -> None:
    """Delete a draft, with what an earlier preparation or its proofs left behind.

    Only a draft: a delivery that was prepared, confirmed or sent is part of the record (its
    logs and KPIs); it is stopped or left to finish instead.
    """
    authorize(user, Action.DELETE_DELIVERY)
    with ctx.db.write() as conn:
        current = delivery_store.get_delivery(conn, delivery_id, for_update=True)
        if current["state"] != DeliveryState.DRAFT:
            raise DeliveryError(
                f"only a draft can be deleted; this delivery is '{current['state']}'"
            )
        delivery_store.delete_delivery(conn, delivery_id)


def approve_delivery(ctx: Context, user: User, delivery_id: int, approve: bool = True) -> None:
    authorize(user, Action.APPROVE_DELIVERY)
    now = ctx.clock.now()
    with ctx.db.write() as conn:
        current = delivery_store.get_delivery(conn, delivery_id, for_update=True)
        _require_state(current, DeliveryState.PENDING_APPROVAL, "approved or rejected")
        if not approve:  # rejected: like an edit, it must be prepared (and approved) again
            delivery_store.back_to_draft(conn, delivery_id, now)
            return
        delivery_store.move_delivery(
            conn,
            delivery_id,
            DeliveryState.APPROVED,
            now,
            approved_version=current["version"],
            approved_by=user.id,
        )


def confirm_send(ctx: Context, user: User, delivery_id: int) -> DeliveryState:
    """Start the send now, or schedule it when its send date is in the future."""
    authorize(user, Action.CONFIRM_SEND)
    now = ctx.clock.now()
    with ctx.db.write() as conn:
        current = delivery_store.get_delivery(conn, delivery_id, for_update=True)
        _check_confirmable(ctx, current)
        require_recipients(conn, delivery_id)
        send_at = current["send_at"]
        if send_at is not None and send_at > now:
            target, start = DeliveryState.SCHEDULED, send_at
        else:
            target, start = DeliveryState.SENDING, now
        delivery_store.move_delivery(
            conn,
            delivery_id,
            target,
            now,
            confirmed_by=user.id,
            confirmed_at=now,
            started_at=start if target is DeliveryState.SENDING else None,
            validity_ends_at=start + dt.timedelta(hours=current["validity_hours"]),
        )
    return target


def _check_confirmable(ctx: Context, delivery: RowMapping) -> None:
    if delivery["prepared_version"] != delivery["version"]:
        raise DeliveryError("the delivery must be prepared again before it can be sent")
    if ctx.settings.approval_required:
        _require_state(delivery, DeliveryState.APPROVED, "confirmed before it is approved")
        if delivery["approved_version"] != delivery["version"]:
            raise DeliveryError("the approved version is not the current one")
    elif delivery["state"] not in (DeliveryState.READY, DeliveryState.APPROVED):
        raise DeliveryError(
            f"a delivery in state '{delivery['state']}' cannot be confirmed; prepare it first"
        )


def require_recipients(conn: Connection, delivery_id: int) -> None:
    """Refuse to confirm a delivery with no message to send (it would read "sent" at once)."""
    if counter_store.read_counts(conn, delivery_id).to_deliver == 0:
        raise DeliveryError(
            "the delivery has no recipient: 0 messages to deliver. Check its target and its"
            " exclusion log, then prepare it again"
        )


def _require_state(delivery: RowMapping, state: DeliveryState, doing: str) -> None:
    if delivery["state"] != state:
        raise DeliveryError(f"a delivery in state '{delivery['state']}' cannot be {doing}")


def pause_delivery(ctx: Context, user: User, delivery_id: int) -> None:
    """Remaining messages stay queued; messages already on the wire finish."""
    authorize(user, Action.PAUSE)
    with ctx.db.write() as conn:
        delivery_store.move_delivery(
            conn,
            delivery_id,
            DeliveryState.PAUSED,
            ctx.clock.now(),
            paused_by=PauseCause.OPERATOR,
            pause_reason=f"paused by {user.name}",
        )


def resume_delivery(ctx: Context, user: User, delivery_id: int) -> None:
    """Sending goes on with what is still queued: nothing relayed is sent again."""
    authorize(user, Action.RESUME)
    with ctx.db.write() as conn:
        delivery_store.move_delivery(
            conn,
            delivery_id,
            DeliveryState.SENDING,
            ctx.clock.now(),
            paused_by=None,
            pause_reason=None,
        )


def stop_delivery(ctx: Context, user: User, delivery_id: int) -> int:
    """End the send: the messages not yet handed over are never sent. Returns their number.

    Their line in the sending log says so, and who stopped the send.
    """
    authorize(user, Action.STOP)
    now = ctx.clock.now()
    with ctx.db.write() as conn:
        delivery_store.move_delivery(conn, delivery_id, DeliveryState.STOPPED, now)
        reason = f"not sent: the delivery was stopped by {user.name}"
        return message_store.mark_not_sent(conn, delivery_id, now, reason)
