"""What a refusal at hand-off is about: the recipient, the pace, or the relay and sender.

Only a reply about the recipient says anything of the address. A receiver that asks to slow
down (421, 4.7.x "rate limited", 450 4.2.1, SES 454 Throttling) is obeyed and retried; a relay
that refuses the sender or relaying itself refuses every recipient alike, and waiting for an
operator (or for the relay to be fixed) is the cure, not quarantining the list.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from mailcast.send.relay import RelayReply, Stage


class Concern(Enum):
    RECIPIENT = "recipient"  # the address (user unknown, mailbox full, spam content...)
    DOMAIN_PACE = "domain pace"  # the recipient's domain wants fewer messages per second
    RELAY_PACE = "relay pace"  # the relay or provider limits this sender's rate or quota
    RELAY = "relay"  # the relay refuses the sender or relaying, for every recipient alike


@dataclass(frozen=True, slots=True)
class Reading:
    concern: Concern
    wait_seconds: float | None = None  # how long the reply asks to wait, when it says


_ENHANCED = re.compile(r"\b[245]\.(\d{1,3})\.(\d{1,3})\b")
_PACE_WORDS = re.compile(
    r"rate.?limit|too many|too fast|throttl|try (?:again )?later|slow down|exceeded the rate"
    r"|temporarily (?:deferred|rate)|receiving mail at a rate|connection limit|"
    r"sending rate|please retry later",
    re.IGNORECASE,
)
# About the sender's own account at the relay or provider, not one receiving domain.
_SENDER_PACE_WORDS = re.compile(
    r"maximum sending rate|sending quota|daily (?:message |sending )?quota|quota exceeded"
    r"|throttling failure|account.{0,20}(?:rate|limit)",
    re.IGNORECASE,
)
_RELAY_WORDS = re.compile(
    r"relay(?:ing)? (?:access )?(?:denied|not permitted|prohibited|not allowed)"
    r"|not (?:permitted|allowed|authori[sz]ed) to (?:relay|send)"
    r"|sender (?:address )?(?:rejected|refused|denied|not allowed|not authori[sz]ed)"
    r"|sender (?:domain )?(?:is )?(?:not|un)verified|address is not verified"
    r"|unauthenticated sender|authentication required|must authenticate",
    re.IGNORECASE,
)
_WAIT = re.compile(
    r"(\d+(?:\.\d+)?)\s*(s|sec|secs|seconds?|m|min|mins|minutes?|h|hours?)\b", re.IGNORECASE
)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600}


def read_reply(reply: RelayReply) -> Reading:
    """What the refusal is about, and how long it asks to wait."""
    text = reply.text.lower()
    enhanced = _ENHANCED.search(text)
    subject_detail = (int(enhanced.group(1)), int(enhanced.group(2))) if enhanced else None
    sender_pace = _SENDER_PACE_WORDS.search(text) or (reply.code == 454 and "throttl" in text)
    if subject_detail == (3, 2) or "service not available" in text:  # the relay shuts down
        return Reading(Concern.RELAY)
    if reply.stage is Stage.MAIL:  # MAIL FROM refused: the sender, whoever the recipient
        if sender_pace or _is_pace(reply.code, subject_detail, text):
            return Reading(Concern.RELAY_PACE, _wait_seconds(text))
        return Reading(Concern.RELAY)
    if _RELAY_WORDS.search(text) or subject_detail in ((1, 7), (1, 8), (7, 8)):
        return Reading(Concern.RELAY)
    if sender_pace:
        return Reading(Concern.RELAY_PACE, _wait_seconds(text))
    if _is_pace(reply.code, subject_detail, text):
        return Reading(Concern.DOMAIN_PACE, _wait_seconds(text))
    return Reading(Concern.RECIPIENT)


def _is_pace(code: int, subject_detail: tuple[int, int] | None, text: str) -> bool:
    if code == 421:  # the receiver closes the session: never a verdict on the address
        return True
    if not 400 <= code < 500:
        return False
    if subject_detail == (2, 1) and code == 450:  # Gmail: receiving at too high a rate
        return True
    return bool(_PACE_WORDS.search(text)) or subject_detail == (7, 28)


def _wait_seconds(text: str) -> float | None:
    found = _WAIT.search(text)
    if found is None:
        return None
    return float(found.group(1)) * _UNIT_SECONDS[found.group(2)[0].lower()]
