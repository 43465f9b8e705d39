"""Apple (iCloud Mail): its documented SMTP replies, as sisimai's Rhost::Apple."""

from __future__ import annotations

from mailcast.domain import BounceReason as Reason
from mailcast.feedback.rhost.common import Receiver, table

APPLE = Receiver(
    "apple",
    ("icloud.com", "me.com", "mac.com", ".mail.icloud.com", ".apple.com"),
    table(
        (Reason.AUTH_FAILURE, r"'?s dmarc policy|failing both spf and dkim"),
        (
            Reason.BLOCKED,
            r"listing in spamhaus|present in the spamhaus|blocked - see https?://"
            r"|not accepting connections",
        ),
        (Reason.HAS_MOVED, r"recipient no longer on server"),
        (Reason.MAILBOX_FULL, r"user is over quota"),
        (Reason.NO_RELAYING, r"relay access denied"),
        (Reason.NOT_ACCEPT, r"host/domain does not accept mail"),
        (Reason.POLICY_VIOLATION, r"due to local policy"),
        (Reason.REJECTED, r"sender address rejected"),
        (Reason.SPEEDING, r"due to excessive volume"),
        (
            Reason.USER_UNKNOWN,
            r"inactive email address|user does not exist|unknown or illegal alias",
        ),
    ),
)
