"""Receiving providers that state a cause with their own documented codes, not words.

Each table below is a provider's published list of error codes (Orange/La Poste, Cox,
Spectrum, GoDaddy, Exchange 2003, I.UA), reduced to the reason each code names. A code found
in a recipient's diagnostic becomes the format's stated reason; anything else is left to the
general rules. Google Groups words its refusals in the sender's language and names no SMTP
error, so its domain is the only general sign of one.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from mailcast.feedback.model import Finding

# Orange, Wanadoo and La Poste end their replies with a label such as "LPN007_426",
# "OFR_506", "LPN105-104" or "LPN416"; the last three digits are the error number.
_ORANGE_LABEL = re.compile(r"\b(?:lpn|ofr|ouk)(?:[a-z0-9]{0,6}[-_])?(\d{3})\b", re.I)
_ORANGE: dict[str, str] = {
    "101": "blocked",
    "102": "blocked",
    "103": "blocked",
    "104": "toomanyconn",
    "305": "securityerror",
    "401": "authfailure",
    "402": "securityerror",
    "403": "rejected",
    "405": "rejected",
    "415": "rejected",
    "416": "userunknown",
    "417": "mailboxfull",
    "420": "suspend",
    "421": "rejected",
    "426": "suspend",
    "505": "systemerror",
    "506": "spamdetected",
    "510": "blocked",
    "514": "mesgtoobig",
    "517": "authfailure",
    "630": "policyviolation",
    "999": "blocked",
}

# Cox ends its replies with "AUP#CODE".
_COX_LABEL = re.compile(r"\baup#([a-z]{2,8}\d{0,5})\b", re.I)
_COX: dict[str, str] = {
    "CXBL": "blocked",
    "CDRBL": "blocked",
    "CXDNS": "requireptr",
    "CXSNDR": "authfailure",
    "CXSMTP": "rejected",
    "CXCNCT": "toomanyconn",
    "CXMXRT": "toomanyconn",
    "CXTHRT": "securityerror",
    "CXMJ": "securityerror",
}
# Cox's "IPBLnnnn" codes say which block lists carry the sending IP (one digit per list:
# Cloudmark CSI, Invaluement, Return Path, Spamhaus); "URLBLnnn" say a link in the body is
# listed (SURBL, Spamhaus DBL, ivmURI): an IP listing is "blocked", a listed link is spam.
_COX_LISTED = re.compile(r"(IPBL|URLBL)[01]{3,5}")

# Spectrum (Charter) uses "AUP#I-1310" / "AUP#O-1010": a four-digit number in ranges.
_SPECTRUM_LABEL = re.compile(r"\baup#[a-z]{0,3}-?(\d{4})\b", re.I)
_SPECTRUM: list[tuple[int, int, str]] = [
    (1000, 1000, "blocked"),
    (1010, 1080, "rejected"),
    (1090, 1090, "systemerror"),
    (1100, 1150, "requireptr"),
    (1160, 1190, "policyviolation"),
    (1200, 1250, "blocked"),
    (1260, 1260, "networkerror"),
    (1300, 1340, "toomanyconn"),
    (1350, 1490, "speeding"),
    (1500, 1520, "rejected"),
    (1530, 1530, "mesgtoobig"),
    (1540, 1550, "speeding"),
    (1560, 1560, "policyviolation"),
    (1580, 1580, "speeding"),
]

# GoDaddy (secureserver.net) ends its replies with "IBnnn".
_GODADDY_LABEL = re.compile(r"\b(IB\d{3})\b")
_GODADDY: dict[str, str] = {
    "IB007": "toomanyconn",
    "IB101": "speeding",
    "IB103": "badreputation",
    "IB104": "blocked",
    "IB105": "blocked",
    "IB106": "blocked",
    "IB108": "requireptr",
    "IB110": "blocked",
    "IB111": "blocked",
    "IB112": "blocked",
    "IB113": "blocked",
    "IB212": "spamdetected",
    "IB401": "securityerror",
    "IB501": "notcompliantrfc",
    "IB502": "notcompliantrfc",
    "IB504": "speeding",
    "IB506": "rejected",
    "IB508": "authfailure",
    "IB510": "speeding",
    "IB605": "toomanyconn",
    "IB607": "speeding",
    "IB705": "virusdetected",
}

# Exchange 2000/2003 print "MSEXCH:IMS:... (000C05A6) Unknown Recipient".
_EXCHANGE_LABEL = re.compile(r"\bmsexch:.{0,120}?\(([0-9a-f]{8})\)", re.I)
_EXCHANGE: dict[str, str] = {
    "000C05A6": "userunknown",
    "000C0595": "filtered",
    "00010256": "systemerror",
    "000D06B5": "systemerror",
    "00120270": "networkerror",
    "00050311": "contenterror",
    "000502CC": "contenterror",
    "000B0981": "securityerror",
}

# I.UA (Ukraine) links each refusal to its explanation page, "https://mail.i.ua/err/2/".
_IUA_LABEL = re.compile(r"\.i\.ua/err/(\d{1,2})\b", re.I)
_IUA: dict[str, str] = {
    "1": "norelaying",  # SMTP as a mail gate is forbidden
    "2": "userunknown",
    "3": "suspend",  # mailbox not used for more than 3 months
    "4": "mailboxfull",
    "5": "toomanyconn",  # sending limit exceeded
    "6": "norelaying",  # use the SMTP server of your provider
    "7": "blocked",  # bad HELO/EHLO argument
    "8": "rejected",  # the sender's address could not be checked
    "9": "blocked",  # the sender's IP address is blacklisted
    "10": "filtered",  # not in the recipient's list of allowed senders
}

# Google Groups answers a refused post (non-member, closed or deleted group) with a
# localised notice naming no SMTP error; the refusal is of the sender: "rejected".
_GROUP_DOMAINS = ("googlegroups.com",)


def apply(findings: list[Finding], notice: str) -> None:
    lowered = notice.lower()
    for finding in findings:
        if finding.hint:
            continue
        finding.hint = _coded(finding.diagnostic) or _coded(finding.context)
        domain = finding.address.rpartition("@")[2].lower()
        if not finding.hint and domain in _GROUP_DOMAINS and "groups" in lowered:
            finding.hint = "" if finding.reply_code else "rejected"


def _coded(text: str) -> str:
    for reader in _READERS:
        found = reader(text)
        if found:
            return found
    return ""


def _orange(text: str) -> str:
    labels = _ORANGE_LABEL.findall(text)
    return _ORANGE.get(labels[-1], "") if labels else ""


def _cox(text: str) -> str:
    match = _COX_LABEL.search(text)
    if not match:
        return ""
    code = match.group(1).upper()
    listed = _COX_LISTED.fullmatch(code)
    if listed:
        return "blocked" if listed.group(1) == "IPBL" else "spamdetected"
    return _COX.get(code, "")


def _spectrum(text: str) -> str:
    match = _SPECTRUM_LABEL.search(text)
    if not match:
        return ""
    number = int(match.group(1))
    return next((reason for low, high, reason in _SPECTRUM if low <= number <= high), "")


def _exchange(text: str) -> str:
    match = _EXCHANGE_LABEL.search(text)
    return _EXCHANGE.get(match.group(1).upper(), "") if match else ""


def _iua(text: str) -> str:
    if "/err/" not in text:
        return ""
    match = _IUA_LABEL.search(text)
    return _IUA.get(match.group(1), "") if match else ""


def _godaddy(text: str) -> str:
    match = _GODADDY_LABEL.search(text)
    return _GODADDY.get(match.group(1), "") if match else ""


_READERS: tuple[Callable[[str], str], ...] = (
    _orange,
    _cox,
    _spectrum,
    _godaddy,
    _exchange,
    _iua,
)
