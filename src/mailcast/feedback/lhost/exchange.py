"""Microsoft Exchange 2007 and later: the NDR's "Diagnostic information for administrators".

    Diagnostic information for administrators:

    Generating server: mx.example.jp

    kijitora@example.jp
    #550 5.1.1 RESOLVER.ADR.RecipNotFound; not found ##

Each recipient is an address alone on its line, its error on the lines below. The error's
NDR code (RESOLVER.*, SMTPSEND.*, QUEUE.*) names a cause on its own (Exchange's NDR codes).
Localised notices use the same layout under a translated heading.
"""

from __future__ import annotations

import re

from mailcast.domain import BounceReason as Reason
from mailcast.feedback import smtp
from mailcast.feedback.lhost.common import Notice, Reading, finding, is_address
from mailcast.feedback.model import Finding

NAME = "exchange"
# An NDR says no SMTP step: a user-unknown phrase in it is the directory's verdict.
STEPS_STATED = False
_SUBJECT = re.compile(r"undeliverable|non[_ ]remis|non recapitabile|olevererbart", re.I)
_SENDER = re.compile(r"postmaster@outlook\.com|\.onmicrosoft\.com", re.I)
_HEADING = re.compile(
    r"^(?:error details|diagnostic information for administrators"
    r"|informations de diagnostic pour les administrateurs"
    r"|informazioni di diagnostica per gli amministratori|diagnostisk information f)",
    re.I | re.M,
)
_END = re.compile(
    r"^(?:original message headers|en-t.tes de message d'origine"
    r"|intestazioni originali del messaggio|ursprungshuvuden)",
    re.I | re.M,
)
_NDR_CODE = re.compile(r"\b((?:RESOLVER|SMTPSEND|QUEUE)\.[A-Za-z]{1,60}(?:\.[A-Za-z]{1,60})?)\b")
_DETAILS_RECIPIENT = re.compile(r"^\s{0,20}recipient address:\s{0,20}(\S{1,300})", re.I | re.M)
# Exchange's NDR codes that name one cause.
_NDR_REASONS = {
    "SMTPSEND.DNS.NonExistentDomain": Reason.HOST_UNKNOWN,
    "SMTPSEND.DNS.MxLoopback": Reason.NETWORK_ERROR,
    "RESOLVER.ADR.BadPrimary": Reason.SYSTEM_ERROR,
    "RESOLVER.ADR.RecipNotFound": Reason.USER_UNKNOWN,
    "RESOLVER.ADR.RecipientNotFound": Reason.USER_UNKNOWN,
    "RESOLVER.ADR.ExRecipNotFound": Reason.USER_UNKNOWN,
    "RESOLVER.ADR.RecipLimit": Reason.TOO_MANY_CONN,
    "RESOLVER.ADR.InvalidInSmtp": Reason.SYSTEM_ERROR,
    "RESOLVER.ADR.Ambiguous": Reason.SYSTEM_ERROR,
    "RESOLVER.RST.AuthRequired": Reason.SECURITY_ERROR,
    "RESOLVER.RST.NotAuthorized": Reason.REJECTED,
    "RESOLVER.RST.RecipSizeLimit": Reason.EXCEED_LIMIT,
    "QUEUE.Expired": Reason.EXPIRED,
}


def claims(notice: Notice) -> bool:
    signals = (
        bool(_SUBJECT.search(notice.subject)),
        bool(_SENDER.search(notice.sender)),
        bool(_NDR_CODE.search(notice.head)),
        bool(_HEADING.search(notice.head)),
        bool(notice.raw_header("content-language")),
    )
    return sum(signals) >= 2 and bool(_HEADING.search(notice.head) or _NDR_CODE.search(notice.head))


def read(notice: Notice) -> Reading:
    start = _HEADING.search(notice.text)
    if start is None:
        return Reading(NAME)
    rest = notice.text[start.end() :]
    end = _END.search(rest)
    blocks: list[tuple[str, list[str]]] = []
    for line in (rest[: end.start()] if end else rest).split("\n"):
        text = line.strip()
        if is_address(text):
            blocks.append((text, []))
        elif (
            blocks
            and text
            and (smtp.best_reply(text) or smtp.status_codes(text) or "Remote Server" in text)
        ):
            blocks[-1][1].append(text)
    found = [_complete(address, lines) for address, lines in blocks]
    if not found:
        named = _DETAILS_RECIPIENT.search(notice.text)
        found = [finding(named.group(1), "")] if named and "@" in named.group(1) else []
    return Reading(NAME, found)


def _complete(address: str, lines: list[str]) -> Finding:
    done = finding(address, " ".join(lines))
    code = _NDR_CODE.search(done.diagnostic)
    done.hint = _NDR_REASONS.get(code.group(1), "") if code else ""
    return done
