"""Copy-and-retry: a delivery duplicated as a new draft, its schedule cleared (ACS, Stibee)."""

from __future__ import annotations

from mailcast.context import Context
from mailcast.domain import Action
from mailcast.store import deliveries as delivery_store
from mailcast.users.service import User, authorize

# What a copy keeps: content, target and options. Not the schedule (ACS), nor the state,
# the figures, the approval or the link to a recurring delivery.
COPIED_COLUMNS = (
    "subject",
    "from_addr",
    "reply_to",
    "html_template",
    "text_template",
    "inline_css",
    "target",
    "target_limit",
    "feedback_mode",
    "validity_hours",
    "proof_addresses",
    "relays",
    "track_opens",
    "track_clicks",
    "approval_required",
)

_NAME_LENGTH = 200  # deliveries.name


def duplicate_delivery(
    ctx: Context,
    user: User,
    delivery_id: int,
    *,
    leave_out_delivered: bool = False,
    name: str | None = None,
) -> int:
    """A new draft with the same content, target and options; any state may be copied.

    With `leave_out_delivered`, preparing the copy leaves out the recipients the original
    delivered to (Stibee: copy the email and try again).
    """
    authorize(user, Action.DUPLICATE_DELIVERY)
    with ctx.db.write() as conn:
        original = delivery_store.get_delivery(conn, delivery_id)
        values = {column: original[column] for column in COPIED_COLUMNS} | {
            "name": (name or f"Copy of {original['name']}")[:_NAME_LENGTH],
            "send_at": None,
            "send_timezone": None,
            "copied_from_id": delivery_id,
            "leave_out_delivered": leave_out_delivered,
            "created_by": user.id,
        }
        return delivery_store.insert_delivery(conn, values, ctx.clock.now())
