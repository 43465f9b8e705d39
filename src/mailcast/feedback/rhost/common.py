"""A receiver's reply table: who it is (domains, signature) and what its replies name."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from mailcast.feedback.model import Finding


@dataclass(frozen=True)
class Receiver:
    name: str
    domains: tuple[str, ...]  # recipient domains and host suffixes
    replies: tuple[tuple[str, re.Pattern[str]], ...]
    # What only this receiver writes in its replies (its reply trailer, its help pages), for a
    # reply relayed by a host the notice does not name.
    signature: re.Pattern[str] | None = None
    # How a filtering gateway in front of the recipient's domain signs the notices it writes
    # itself: the reply it passes on is then read with its table.
    gateway: re.Pattern[str] | None = None
    # A receiver whose replies say little in words: its reason from the finding's status code,
    # SMTP step or its own numbered codes, tried before the table.
    decide: Callable[[Finding], str] | None = None


def table(*rows: tuple[str, str]) -> tuple[tuple[str, re.Pattern[str]], ...]:
    return tuple((reason, re.compile(phrase, re.I)) for reason, phrase in rows)
