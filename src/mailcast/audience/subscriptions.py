"""An operator unsubscribes or resubscribes a profile, saying why; the reason is kept.

Unsubscribed means on the email denylist (SPEC §1), which admins manage: the change needs the
admin role. A recipient's own unsubscribe (the link in a message) stays an event of that
message; an operator's has no message, so it is kept in a log of its own.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from mailcast.context import Context
from mailcast.domain import Action
from mailcast.store import profiles as profile_store
from mailcast.store import subscriptions as store
from mailcast.store.deliveries import NotFound
from mailcast.users.service import User, authorize

MAX_REASON_LENGTH = 500


class SubscriptionError(ValueError):
    """A change that cannot be made as asked; the message says why."""


@dataclass(frozen=True)
class SubscriptionChange:
    subscribed: bool  # what the profile became
    reason: str
    changed_by: str  # the user's name
    at: dt.datetime


def set_subscription(
    ctx: Context, user: User, profile_id: int, subscribed: bool, reason: str
) -> SubscriptionChange:
    """Unsubscribe (False) or resubscribe (True) the profile; a change to what it already is
    is refused, so that the log only holds real changes."""
    authorize(user, Action.CHANGE_SUBSCRIPTION)
    reason = reason.strip()
    if not reason:
        raise SubscriptionError("give the reason for the change: it is kept with it")
    if len(reason) > MAX_REASON_LENGTH:
        raise SubscriptionError(f"the reason is at most {MAX_REASON_LENGTH} characters long")
    now = ctx.clock.now()
    with ctx.db.write() as conn:
        profile = profile_store.get_profile(conn, profile_id)
        if profile is None:
            raise NotFound(f"no profile {profile_id}")
        if bool(profile["email_subscribed"]) == subscribed:
            state = "subscribed" if subscribed else "unsubscribed"
            raise SubscriptionError(f"profile {profile_id} is {state} already")
        profile_store.set_email_subscribed(conn, profile_id, subscribed, now)
        store.insert_change(
            conn, profile_id, subscribed=subscribed, reason=reason, changed_by=user.name, at=now
        )
    return SubscriptionChange(subscribed, reason, user.name, now)


def subscription_changes(ctx: Context, profile_id: int) -> list[SubscriptionChange]:
    """What operators changed, latest first."""
    with ctx.db.read() as conn:
        rows = store.changes_of(conn, profile_id)
    return [
        SubscriptionChange(r["subscribed"], r["reason"], r["changed_by"], r["at"]) for r in rows
    ]
