"""Cox Communications: the replies it words without an "AUP#" code, as sisimai's Rhost::Cox."""

from __future__ import annotations

from mailcast.domain import BounceReason as Reason
from mailcast.feedback.rhost.common import Receiver, table

COX = Receiver(
    "cox",
    ("cox.net", ".cox.net"),
    # Cox's error-code page: a reply with an "AUP#CODE" is read by its code (providers.py);
    # these are the replies that carry none.
    table(
        # A client that keeps sending bad commands, or too many unknown recipients, has its
        # IP blocked for hours: the refusal is of the IP, not of this recipient.
        (Reason.BLOCKED, r"cox too many bad commands from|too many invalid recipients"),
        (Reason.REQUIRE_PTR, r"dns check failure - try again later|rejected - no rdns"),
        (
            Reason.POLICY_VIOLATION,
            r"esmtp no data before greeting|attachment extension is forbidden",
        ),
        (Reason.SYSTEM_ERROR, r"esmtp server temporarily not available"),
        (
            Reason.TOO_MANY_CONN,
            r"too many sessions from|requested action aborted: try again later"
            r"|message threshold exceeded",
        ),
        # The sender's domain resolves to no MX or A record.
        (Reason.REJECTED, r"sender rejected"),
        (Reason.USER_UNKNOWN, r"recipient rejected"),
    ),
)
