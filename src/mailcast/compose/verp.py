"""Signed VERP return paths and Message-IDs, so a bounce can be traced to one message."""

from __future__ import annotations

import hashlib
import hmac
import re

_VERP = re.compile(
    r"^(?P<prefix>[a-z0-9]+)-(?P<id>[0-9a-z]+)-(?P<sig>[0-9a-f]{12})@(?P<domain>.+)$"
)
_MESSAGE_ID = re.compile(
    r"^<?(?P<delivery>[0-9]{1,20})\.(?P<id>[0-9]{1,20})\.(?P<sig>[0-9a-f]{12})@(?P<domain>[^<>@\s]+)>?$"
)
# The mailto of List-Unsubscribe: lower case (a mailbox may change the case of a local part)
# and within RFC 5321's 64 octets, so not the HTTPS link's base64 token; a signature of its own.
_UNSUBSCRIBE = re.compile(
    r"^unsubscribe\+(?P<id>[0-9a-z]{1,13})-(?P<sig>[0-9a-f]{24})@(?P<domain>.+)$"
)
_UNSUBSCRIBE_FORM = re.compile(r"^unsubscribe\+[^@]*@(?P<domain>.+)$")
_B36 = "0123456789abcdefghijklmnopqrstuvwxyz"


def _base36(number: int) -> str:
    digits = ""
    while True:
        number, rest = divmod(number, 36)
        digits = _B36[rest] + digits
        if not number:
            return digits


def _signature(keyed: hmac.HMAC, purpose: str, message_id: int, length: int = 12) -> str:
    # A copy of the keyed HMAC: keying one for each signature was a third of its cost, and
    # each message is signed twice.
    mac = keyed.copy()
    mac.update(f"{purpose}:{message_id}".encode())
    return mac.hexdigest()[:length]


class EnvelopeSigner:
    """Makes and checks the per-message return path and Message-ID."""

    def __init__(self, secret: str, bounce_domain: str, message_id_domain: str) -> None:
        self._keyed = hmac.new(secret.encode(), digestmod=hashlib.sha256)
        self.bounce_domain = bounce_domain.lower()
        self.message_id_domain = message_id_domain
        self.prefix = "b"

    def return_path(self, message_id: int) -> str:
        signature = _signature(self._keyed, "verp", message_id)
        return f"{self.prefix}-{_base36(message_id)}-{signature}@{self.bounce_domain}"

    def message_id_for(self, delivery_id: int, message_id: int) -> str:
        # Stable across retries and re-sends, so a receiver sees one Message-ID per message.
        signature = _signature(self._keyed, "mid", message_id)
        return f"<{delivery_id}.{message_id}.{signature}@{self.message_id_domain}>"

    def message_from_return_path(self, address: str) -> int | None:
        """The message a bounce address names, or None if it is not one of ours or forged."""
        match = _VERP.match(address.strip().lower())
        if not match or match["prefix"] != self.prefix or match["domain"] != self.bounce_domain:
            return None
        message_id = int(match["id"], 36)
        expected = _signature(self._keyed, "verp", message_id)
        return message_id if hmac.compare_digest(expected, match["sig"]) else None

    def unsubscribe_address(self, message_id: int) -> str | None:
        """The address an email unsubscribes the message's recipient at (List-Unsubscribe).

        None while the bounce domain is unset or a `.localhost` name (the default): no
        mailbox provider could deliver the request to it.
        """
        domain = self.bounce_domain
        if not domain or domain == "localhost" or domain.endswith(".localhost"):
            return None
        signature = _signature(self._keyed, "unsubscribe", message_id, 24)
        return f"unsubscribe+{_base36(message_id)}-{signature}@{domain}"

    def is_unsubscribe_address(self, address: str) -> bool:
        """Shaped as an unsubscribe address of ours, signed or not (a forged one is kept too)."""
        match = _UNSUBSCRIBE_FORM.match(address.strip().strip("<>").lower())
        return match is not None and match["domain"] == self.bounce_domain

    def message_from_unsubscribe_address(self, address: str) -> int | None:
        """The message an unsubscribe address names, or None if it is not one of ours or forged."""
        match = _UNSUBSCRIBE.match(address.strip().strip("<>").lower())
        if not match or match["domain"] != self.bounce_domain:
            return None
        message_id = int(match["id"], 36)
        expected = _signature(self._keyed, "unsubscribe", message_id, 24)
        return message_id if hmac.compare_digest(expected, match["sig"]) else None

    def message_from_message_id(self, value: str) -> int | None:
        """The message a returned Message-ID names, or None if it is not one of ours or forged."""
        match = _MESSAGE_ID.match(value.strip())
        if not match or match["domain"].lower() != self.message_id_domain.lower():
            return None
        message_id = int(match["id"])
        expected = _signature(self._keyed, "mid", message_id)
        return message_id if hmac.compare_digest(expected, match["sig"]) else None
