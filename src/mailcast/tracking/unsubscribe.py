"""Unsubscribing a recipient from a message's link: the email denylist, once per message."""

from __future__ import annotations

import datetime as dt

from mailcast.context import Context
from mailcast.store import profiles as profile_store
from mailcast.store import tracking_links as link_store


def unsubscribe(ctx: Context, message_id: int, at: dt.datetime, source: str) -> bool:
    """Put the message's profile on the email denylist; False when it was done already.

    The message keeps when it happened (messages.unsubscribed_at), the log an UNSUBSCRIBED
    event saying how (`source`: one-click, page, ...) and the delivery's counter one more;
    a second request for the same message changes nothing.
    """
    with ctx.db.write() as conn:
        row = link_store.mark_unsubscribed(conn, message_id, at)
        if row is None:
            return False
        if row["profile_id"] is not None:
            profile_store.set_email_subscribed(conn, row["profile_id"], False, at)
        link_store.record_unsubscribed(conn, row, message_id, at, source)
    return True
