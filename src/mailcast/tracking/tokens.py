"""Signed tracking tokens: what a pixel, click, mirror or unsubscribe URL names, unforgeably.

A token is `<payload>.<key id>.<signature>`, all URL-safe. The payload carries the kind, the
message, the link number, the time it was issued and, for clicks, the target URL itself, so
a click needs no lookup and can only ever redirect where mailcast wrote the link. Several
keys verify (rotation: sign with the newest, keep the old ones until their links expire).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
from dataclasses import dataclass
from enum import StrEnum

_SIGNATURE_BYTES = 16  # 128-bit HMAC-SHA256 truncation: unguessable, and keeps URLs short
# Made once: a message signs a token per link, and building an encoder or keying an HMAC for
# each of them was most of the signing time.
_JSON = json.JSONEncoder(separators=(",", ":"))


class TokenKind(StrEnum):
    OPEN = "o"
    CLICK = "c"
    MIRROR = "m"
    UNSUBSCRIBE = "u"


@dataclass(frozen=True, slots=True)
class TrackingToken:
    kind: TokenKind
    message_id: int
    issued_at: dt.datetime
    link: int = 0  # the link's number in the delivery's HTML (clicks)
    url: str = ""  # where a click goes


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenSigner:
    """Signs with the first key; verifies with any of them."""

    def __init__(self, keys: list[tuple[str, str]]) -> None:
        if not keys:
            raise ValueError("at least one tracking key is needed")
        for key_id, _ in keys:
            if not key_id or not key_id.isalnum():
                raise ValueError(f"a key id must be letters and digits, not {key_id!r}")
        self._keys = {
            key_id: hmac.new(secret.encode(), digestmod=hashlib.sha256) for key_id, secret in keys
        }
        self._current = keys[0][0]

    def sign(self, token: TrackingToken) -> str:
        fields = [token.kind.value, token.message_id, int(token.issued_at.timestamp())]
        if token.kind is TokenKind.CLICK:
            fields += [token.link, token.url]
        payload = _b64(_JSON.encode(fields).encode())
        return f"{payload}.{self._current}.{self._signature(self._current, payload)}"

    def verify(self, text: str) -> TrackingToken | None:
        """The token, or None when it is malformed, altered, or signed by no key of ours."""
        parts = text.split(".")
        if len(parts) != 3 or parts[1] not in self._keys:
            return None
        payload, key_id, signature = parts
        # As bytes: compare_digest raises on a str that is not ASCII, and anyone can send one.
        expected = self._signature(key_id, payload).encode()
        if not hmac.compare_digest(expected, signature.encode()):
            return None
        return _decode(payload)

    def _signature(self, key_id: str, payload: str) -> str:
        mac = self._keys[key_id].copy()
        mac.update(f"{key_id}.{payload}".encode())
        return _b64(mac.digest()[:_SIGNATURE_BYTES])


def _decode(payload: str) -> TrackingToken | None:
    try:
        fields = json.loads(_unb64(payload))
        kind = TokenKind(fields[0])
        message_id, issued = int(fields[1]), int(fields[2])
        link, url = (int(fields[3]), str(fields[4])) if kind is TokenKind.CLICK else (0, "")
    except (ValueError, TypeError, IndexError, KeyError):
        return None  # signed by us yet unreadable: only a bug of ours could make one
    issued_at = dt.datetime.fromtimestamp(issued, dt.UTC)
    return TrackingToken(kind, message_id, issued_at, link, url)
