"""Content-Type parameters as the email package reads them, quickly for plain values.

`Message.get_param` splits and decodes every parameter (RFC 2231 continuations, quoting)
each time it is asked for one: a tenth of reading a success DSN, where each part is asked
for its boundary or charset. A value with nothing to decode (no backslash, no `*`, no
comment, no `;` or line break inside quotes) is read here; any other goes to the email
package. tests/feedback/test_params.py holds the two to the same answers.
"""

from __future__ import annotations

from email import utils
from email.message import Message
from typing import TypeGuard

_MISSING = object()
_DECODED_ELSEWHERE = ("\\", "*", "(")


def param(message: Message, name: str) -> str | None:
    """The parameter's value (unquoted), or None: `get_param(name)` for plain values."""
    value = message.get("content-type")
    if not is_plain(value):
        return _email_param(message, name)
    return plain_param(value, name)


def plain_param(value: str, name: str) -> str | None:
    """`param` read from a Content-Type value that `is_plain`."""
    for piece in value.split(";"):
        key, equals, found = piece.partition("=")
        if key.strip().lower() == name:
            return utils.unquote(found.strip()) if equals else ""
    return None


def boundary(message: Message) -> str | None:
    """`message.get_boundary()`."""
    value = message.get("content-type")
    if not is_plain(value):
        return message.get_boundary()
    found = param(message, "boundary")
    return None if found is None else utils.unquote(found).rstrip()


def charset(message: Message) -> str | None:
    """`message.get_content_charset()`."""
    value = message.get("content-type")
    if not is_plain(value):
        return message.get_content_charset()
    return plain_charset(value)


def plain_charset(value: str) -> str | None:
    """`charset` read from a Content-Type value that `is_plain`."""
    found = plain_param(value, "charset")
    if found is None or not found.isascii():
        return None
    return found.lower()


def is_plain(value: object) -> TypeGuard[str]:
    """A value with nothing for the email package to decode."""
    if not isinstance(value, str) or any(c in value for c in _DECODED_ELSEWHERE):
        return False
    if '"' not in value:
        return True
    pieces = value.split('"')
    return len(pieces) % 2 == 1 and not any(";" in q or "\n" in q for q in pieces[1::2])


def _email_param(message: Message, name: str) -> str | None:
    found = message.get_param(name, _MISSING)
    if found is _MISSING:
        return None
    if isinstance(found, tuple):  # RFC 2231: charset, language, value
        return utils.collapse_rfc2231_value(found)
    return str(found)
