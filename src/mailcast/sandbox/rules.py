"""The sandbox's address book: which recipients it refuses at RCPT, and with what reply."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

Reply = tuple[int, str]
# Given a recipient address, the reply that refuses it, or None to accept it.
Rules = Callable[[str], Reply | None]


@dataclass(frozen=True, slots=True)
class Rule:
    """Refuse at RCPT every address whose local part starts with `prefix` (case-insensitive)."""

    prefix: str
    code: int
    text: str  # "{address}" is replaced by the recipient


# The sandbox's own address book: what a real MTA would say about these recipients.
DEFAULT_RULES: tuple[Rule, ...] = (
    Rule("unknown", 550, "5.1.1 <{address}>: Recipient address rejected: User unknown"),
    Rule("full", 452, "4.2.2 <{address}>: Mailbox full"),
)


def prefix_rules(table: tuple[Rule, ...] = DEFAULT_RULES) -> Rules:
    """A rules function from a table; the first matching rule wins, no match accepts."""

    def rules(address: str) -> Reply | None:
        local = address.rpartition("@")[0].lower()
        for rule in table:
            if local.startswith(rule.prefix):
                return rule.code, rule.text.format(address=address)
        return None

    return rules


default_rules = prefix_rules(DEFAULT_RULES)
