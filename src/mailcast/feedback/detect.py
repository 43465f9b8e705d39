"""Is this mail a delivery notice? The signals MTAs leave on the bounces they send."""

from __future__ import annotations

import re
from email.message import Message

from mailcast.feedback import mime, params

_FROM = re.compile(
    r"mailer[-_ ]?daemon|postmaster|mail delivery (?:subsystem|system|service)|\bmmdf\b"
    r"|mail ?administrator|internet mail delivery|interscan|\bdelivery[-_ ]?notification"
    r"|\bbounces?\b@|\bbounce@",
    re.I,
)
_SUBJECT = re.compile(
    r"undeliver|undelivered|delivery (?:status )?(?:notification|failure|failed|problem|report)"
    r"|returned mail|failure notice|mail delivery failed|non[- ]?deliver|could not be delivered"
    r"|returned to sender|mail system error|delivery has failed|unzustellbar|non recapitabile"
    r"|non remis|no se puede entregar|delivery failure|failed delivery|delayed mail"
    r"|message delivery has failed|loop alert|error sending your mail|mail delivery status"
    r"|bounce notification|postmaster notify|warning: could not send|not delivered",
    re.I,
)
_BODY = re.compile(
    r"created automatically by mail delivery software|qmail-send program"
    r"|following address(?:es|\(es\))? (?:failed|had permanent fatal errors)"
    r"|could not be delivered to|delivery to the following recipients? (?:failed|has been delayed)"
    r"|i'?m afraid i wasn'?t able to deliver|unable to deliver (?:your )?message"
    r"|did not reach the following recipient|delivery has failed to these recipients"
    r"|error (?:has )?occurred while (?:attempting|trying) to deliver|this is the mail system at"
    r"|transcript of session follows|there was an error delivering your mail"
    r"|we were unable to deliver your message|message was not delivered|failure reasons"
    r"|did not reach some or all of the intended recipients"
    r"|following recipient\(s\) could not be reached",
    re.I,
)


def is_bounce(message: Message, parts: mime.Parts, notice: str, returns_original: bool) -> bool:
    """True when the message reports on the delivery of another message.

    `returns_original` says the notice pastes the original message after its own text.
    """
    if parts.delivery_status or message.get("x-failed-recipients") is not None:
        return True
    if (params.param(message, "report-type") or "").lower() == "delivery-status":
        return True
    signals = (
        bool(_FROM.search(mime.header(message, "from"))),
        bool(_SUBJECT.search(mime.header(message, "subject"))),
        bool(_BODY.search(notice[:20000])),
    )
    # One signal alone is common in ordinary mail (a subject quoting "undelivered"...);
    # with the original message returned, attached or pasted, it is enough.
    returned = parts.returned is not None or returns_original
    return sum(signals) >= 2 or (any(signals) and returned)
