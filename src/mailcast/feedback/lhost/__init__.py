"""MTA families: which software wrote a notice, and its own reading of recipients and steps.

Each module of this package knows one family's layout: the lines that start its notice,
how it lists several recipients, and where it says which SMTP step a reply answered. The
first family that claims a notice and finds recipients in it wins; a notice no family
claims is left to RFC 3464 fields and the generic block reader of `formats`.
"""

from __future__ import annotations

from types import ModuleType

from mailcast.feedback.lhost import (
    activehunter,
    amazon_ses,
    amazon_ses_mail,
    courier,
    domino,
    dragonfly,
    exchange,
    exchange2003,
    exim,
    ezweb,
    fml,
    gmail,
    google_workspace,
    googlegroups,
    imailserver,
    james,
    kddi,
    mailmarshal,
    mcafee,
    messagingserver,
    mfilter,
    notes,
    office365,
    opensmtpd,
    postfix,
    powermta,
    qmail,
    sendmail,
    trendmicro,
    unknown_mta,
    v5sendmail,
    verizon,
    x5,
    x6,
    yahoo,
    zoho,
)
from mailcast.feedback.lhost.common import Notice, Reading
from mailcast.feedback.model import Finding

__all__ = ["FAMILIES", "Notice", "Reading", "read"]

# Most specific first: a family recognised by a header or a JSON body before the families
# recognised by their wording, which other software sometimes imitates.
FAMILIES: tuple[ModuleType, ...] = (
    amazon_ses,
    amazon_ses_mail,
    powermta,
    mfilter,
    mcafee,
    activehunter,
    zoho,
    verizon,
    mailmarshal,
    james,
    fml,
    x5,
    x6,
    googlegroups,
    gmail,
    google_workspace,
    messagingserver,
    courier,
    opensmtpd,
    dragonfly,
    yahoo,
    domino,
    notes,
    ezweb,
    kddi,
    trendmicro,
    exchange2003,
    office365,
    postfix,
    v5sendmail,
    sendmail,
    exim,
    qmail,
    exchange,
    imailserver,
    unknown_mta,
)


def read(notice: Notice) -> Reading:
    """The reading of the first family that claims the notice and names a recipient in it."""
    for family in FAMILIES:
        if not family.claims(notice):
            continue
        reading: Reading = family.read(notice)
        reading.findings = _distinct(reading.findings)
        if reading.findings or reading.command:
            reading.steps_stated = bool(family.STEPS_STATED)
            reading.self_evident = bool(getattr(family, "SELF_EVIDENT", False))
            return reading
    return Reading()


def _distinct(findings: list[Finding]) -> list[Finding]:
    """Each recipient once: bilingual notices (Mail.ru's) list the same block in each language."""
    seen: set[tuple[str, str]] = set()
    kept = []
    for item in findings:
        key = (item.address.lower(), item.diagnostic)
        if key not in seen:
            seen.add(key)
            kept.append(item)
    return kept
