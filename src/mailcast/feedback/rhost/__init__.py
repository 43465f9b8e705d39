"""Big receivers' own replies: Google, Microsoft, Yahoo, Apple... word their refusals their way.

A receiver is known by the recipient's domain or by the host that answered. Each table maps
phrases of that receiver's documented replies (its postmaster pages and SMTP error lists) to
the reason they name; a phrase found in the recipient's diagnostic is the reason, whatever
the SMTP step or status code would suggest (Yahoo answers an unknown user at DATA, say).
"""

from __future__ import annotations

import re
from dataclasses import replace

from mailcast.feedback.model import Finding
from mailcast.feedback.rhost.apple import APPLE
from mailcast.feedback.rhost.asia import KDDI, NTTDOCOMO, TENCENT
from mailcast.feedback.rhost.common import Receiver
from mailcast.feedback.rhost.cox import COX
from mailcast.feedback.rhost.franceptt import FRANCEPTT
from mailcast.feedback.rhost.gateways import GODADDY, MESSAGELABS, MIMECAST
from mailcast.feedback.rhost.google import GOOGLE
from mailcast.feedback.rhost.microsoft import MICROSOFT
from mailcast.feedback.rhost.services import CLOUDFLARE, FACEBOOK, ZOHO
from mailcast.feedback.rhost.yahoo import AOL, YAHOO

_HOST = re.compile(
    r"(?:host|while talking to|remote host|server)\s{1,20}"
    r"\[?([a-z0-9][a-z0-9.-]{2,250}\.[a-z]{2,24})",
    re.I,
)


RECEIVERS = (
    GOOGLE,
    MICROSOFT,
    YAHOO,
    AOL,
    APPLE,
    KDDI,
    NTTDOCOMO,
    TENCENT,
    COX,
    FRANCEPTT,
    GODADDY,
    MIMECAST,
    MESSAGELABS,
    ZOHO,
    CLOUDFLARE,
    FACEBOOK,
)
# Each receiver's domains as a set of exact names and a tuple of suffixes: "gmail.com" is
# gmail.com and any host under it, ".l.google.com" only the hosts under it.
_DOMAINS = tuple(
    (
        receiver,
        frozenset(d for d in receiver.domains if not d.startswith(".")),
        tuple(d if d.startswith(".") else "." + d for d in receiver.domains),
    )
    for receiver in RECEIVERS
)


def apply(findings: list[Finding], notice: str) -> None:
    """Set the reason a known receiver's reply names, for recipients that have none yet."""
    hosts: list[str] | None = None  # the hosts the notice names, found only when needed
    for finding in findings:
        if finding.hint or not finding.diagnostic:
            continue
        receiver = _receiver([finding.address.rpartition("@")[2].lower(), finding.remote_host])
        if receiver is None:
            if hosts is None:
                hosts = [h.lower() for h in _HOST.findall(notice[:8000])]
            receiver = _receiver([h.lower() for h in _HOST.findall(finding.diagnostic)] + hosts)
        # The tables are written single-spaced; a reply may pad its words (sisimai sweeps
        # the diagnostic the same way before reading it).
        said = " ".join(finding.diagnostic.split())
        if receiver is None:
            receiver = _signed(said, notice)
        if receiver is not None:
            finding.hint = _reply_reason(receiver, replace(finding, diagnostic=said))


def _receiver(names: list[str]) -> Receiver | None:
    known = [name for name in names if name]
    for receiver, exact, suffixes in _DOMAINS:
        if any(name in exact or name.endswith(suffixes) for name in known):
            return receiver
    return None


def _signed(diagnostic: str, notice: str) -> Receiver | None:
    """The receiver whose own trailer the reply carries, or the gateway that wrote the notice."""
    for receiver in RECEIVERS:
        if receiver.signature is not None and receiver.signature.search(diagnostic):
            return receiver
    head = notice[:8000]
    return next((r for r in RECEIVERS if r.gateway is not None and r.gateway.search(head)), None)


def _reply_reason(receiver: Receiver, finding: Finding) -> str:
    decided = receiver.decide(finding) if receiver.decide is not None else ""
    if decided:
        return decided
    diagnostic = finding.diagnostic
    return next((reason for reason, pattern in receiver.replies if pattern.search(diagnostic)), "")
