"""Office 365 / Exchange Online NDRs: "address<mailto:address>" or "Recipient Address:" lines.

    Delivery has failed to these recipients or groups:

    kijitora@example.com<mailto:kijitora@example.com>
    The email address wasn't found at the destination domain...

    Diagnostic information for administrators:
    Remote Server returned '550 5.1.10 RESOLVER.ADR.RecipientNotFound; ...'

Newer NDRs show "Recipient Address:" under "Original Message Details" and the code after
"Status code:". Exchange Online's documented status codes name a cause (sisimai's
Lhost/Office365); the code's reason stands when the reply's words name none.
"""

from __future__ import annotations

import re

from mailcast.domain import BounceReason as Reason
from mailcast.feedback.lhost.common import ADDRESS, Notice, Reading, finding, is_address
from mailcast.feedback.model import Finding

NAME = "office365"
STEPS_STATED = False
_MARKS = (
    "x-ms-exchange-message-is-ndr",
    "x-microsoft-antispam-prvs",
    "x-ms-exchange-crosstenant-originalarrivaltime",
    "x-ms-exchange-crosstenant-fromentityheader",
)
_OUTLOOK = re.compile(
    r"\.(?:outbound\.protection|prod)\.outlook\.com\b|\.exchangelabs\.com\b", re.I
)
_SUBJECT = re.compile(r"undeliverable:|onbestelbaar:|n.o_entregue:", re.I)
_MAILTO = re.compile(rf"^\s{{0,10}}{ADDRESS}\s{{0,4}}<mailto:({ADDRESS})>\s{{0,10}}$", re.I)
_RECIPIENT_ADDRESS = re.compile(rf"^\s{{0,10}}recipient address:\s{{1,40}}({ADDRESS})", re.I)
_ERROR = re.compile(
    r"remote server returned .{1,1000}|status code: .{1,200}"
    r"|#?\d{3}[ -]\d\.\d{1,3}\.\d{1,3} .{1,1000}",
    re.I,
)
_END = re.compile(r"^(?:original message headers|message hops)", re.I | re.M)
# Exchange Online status codes (Microsoft's NDR reference, as sisimai reads them).
_STATUS = (
    (re.compile(r"^4\.4\.7$|^[45]\.4\.316$"), Reason.EXPIRED),
    (re.compile(r"^[45]\.4\.312$|^5\.4\.6$|^5\.7\.25$"), Reason.NETWORK_ERROR),
    (re.compile(r"^4\.7\.26$|^5\.7\.509$"), Reason.AUTH_FAILURE),
    (re.compile(r"^4\.7\.[56]\d\d$|^4\.7\.8[5-9]\d$|^5\.7\.23$|^5\.7\.50[67]$"), Reason.BLOCKED),
    (re.compile(r"^5\.7\.60[6-9]$|^5\.7\.6[1-4]\d$"), Reason.BLOCKED),
    (re.compile(r"^5\.0\.350$|^5\.6\.11$"), Reason.CONTENT_ERROR),
    (re.compile(r"^5\.1\.10$"), Reason.USER_UNKNOWN),
    (re.compile(r"^5\.4\.1$"), Reason.NO_RELAYING),
    (re.compile(r"^5\.7\.1[23]?$|^5\.7\.124$|^5\.7\.13[3-6]$|^5\.7\.511$"), Reason.REJECTED),
    (re.compile(r"^5\.7\.50[1-3]$"), Reason.SPAM_DETECTED),
    (re.compile(r"^5\.7\.50[45]$"), Reason.FILTERED),
    (re.compile(r"^5\.7\.508$|^5\.7\.7[0-4]\d$"), Reason.TOO_MANY_CONN),
    (re.compile(r"^5\.7\.510$"), Reason.NOT_ACCEPT),
    (re.compile(r"^5\.7\.512$"), Reason.POLICY_VIOLATION),
    (re.compile(r"^5\.7\.57$"), Reason.SECURITY_ERROR),
)


def claims(notice: Notice) -> bool:
    marks = sum(bool(notice.raw_header(name)) for name in _MARKS)
    marks += bool(_SUBJECT.search(notice.subject))
    marks += bool(_OUTLOOK.search(notice.received() + " " + notice.raw_header("message-id")))
    return marks >= 2


def read(notice: Notice) -> Reading:
    end = _END.search(notice.body)
    body = notice.body[: end.start()] if end else notice.body
    addresses: dict[str, str] = {}  # lower-case -> as written, in order
    errors: dict[str, list[str]] = {}  # the error lines under each address, "" before any
    current = ""
    for line in body.split("\n"):
        text = line.strip()
        match = _MAILTO.match(line) or _RECIPIENT_ADDRESS.match(line)
        if match:
            addresses.setdefault(match.group(1).lower(), match.group(1))
        elif is_address(text):
            current = text.lower()  # the diagnostic section names each address alone
        elif _ERROR.search(text) and text[:1] != "<":
            errors.setdefault(current, []).append(text)
    findings = []
    for key, address in addresses.items():
        lines = errors.get(key) or (errors.get("", []) if len(addresses) == 1 else [])
        findings.append(_complete(finding(address, " ".join(lines))))
    return Reading(NAME, findings)


def _complete(item: Finding) -> Finding:
    item.stated = next((r for pattern, r in _STATUS if pattern.match(item.status)), "")
    return item
