"""What every family reader is given (the notice, its headers) and gives back (a Reading)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email.message import Message
from functools import cached_property

from mailcast.feedback import mime, smtp
from mailcast.feedback.model import Finding

ADDRESS = r"[\w!#$%&'*+/=?^`{|}~.\-]{1,64}@[\w\-]{1,63}(?:\.[\w\-]{1,63}){1,8}"
_ONE_ADDRESS = re.compile(rf"^{ADDRESS}$")
MAX_DIAGNOSTIC = 4000
HEAD = 8000


@dataclass
class Notice:
    """One feedback message as the family readers see it."""

    message: Message
    parts: mime.Parts
    text: str  # every human-readable part, the returned message included when pasted
    body: str  # the notice alone, cut where the returned message starts

    @cached_property
    def head(self) -> str:
        """The notice's first lines, where every family writes the words that mark it."""
        return self.body[:HEAD]

    def header(self, name: str) -> str:
        return mime.header(self.message, name)

    def raw_header(self, name: str) -> str:
        """An ASCII header's value as is, for the marks (X-Mailer...) families look for."""
        value = self.message.get(name)
        return "" if value is None else str(value)[:1000]

    def received(self) -> str:
        return " ".join(str(v) for v in self.message.get_all("received", []))

    # Every family looks at these; decoded once.
    @cached_property
    def subject(self) -> str:
        return self.header("subject")

    @cached_property
    def sender(self) -> str:
        return self.header("from")


@dataclass
class Reading:
    """What a family read: its name, one finding per recipient, the step it reported.

    `command` is the SMTP step the notice reports for the whole session (Postfix and
    Sendmail name it once); a recipient whose own text names no step takes it.
    """

    family: str = ""
    findings: list[Finding] = field(default_factory=list)
    command: str = ""
    kind: str = "dsn"  # "arf" when the family's notice is a complaint
    steps_stated: bool = False  # the layout names the SMTP step of every refusal
    self_evident: bool = False  # the family is known by headers or structure, not wording


def is_address(text: str) -> bool:
    return bool(_ONE_ADDRESS.match(text.strip()))


def finding(
    address: str, diagnostic: str, command: str = "", original_recipient: str = ""
) -> Finding:
    """A finding whose reply code, status and step are read from its diagnostic."""
    text = " ".join(diagnostic.split())[:MAX_DIAGNOSTIC]
    reply = smtp.best_reply(text)
    return Finding(
        address=smtp.normalize(address),
        diagnostic=text,
        reply_code=reply,
        status=smtp.best_status(text, reply),
        command=command or smtp.command(text),
        original_recipient=original_recipient,
    )


def lines_between(
    text: str, start: re.Pattern[str], end: re.Pattern[str] | None = None
) -> list[str]:
    """The lines after the first line matching `start`, up to one matching `end`."""
    found = start.search(text)
    if found is None:
        return []
    rest = text[found.end() :]
    if end is not None:
        stop = end.search(rest)
        rest = rest[: stop.start()] if stop else rest
    return rest.split("\n")


def recipient_blocks(text: str, recipient: re.Pattern[str]) -> list[tuple[str, list[str]]]:
    """Each line `recipient` finds (its group 1 the address), with the lines after it up to
    the next one: the layout of notices that write an address, then what befell it."""
    found: list[tuple[str, list[str]]] = []
    for line in text.split("\n"):
        match = recipient.search(line.strip())
        if match:
            found.append((match.group(1), []))
        elif found and line.strip():
            found[-1][1].append(line.strip())
    return found


def step_named(word: str) -> str:
    """The SMTP step a client command starts with ("RCPT To:<a@b>" → RCPT)."""
    verb = word.strip().split(" ", 1)[0].split(":", 1)[0].upper()
    if verb in ("HELO", "EHLO", "LHLO"):
        return "EHLO"
    if verb in ("MAIL", "RCPT", "DATA", "STARTTLS"):
        return verb
    if verb in ("BDAT", "."):
        return "DATA"
    return ""


Causes = tuple[tuple[str, re.Pattern[str]], ...]


def named_cause(text: str, causes: Causes) -> str:
    """The first cause whose fixed message the text carries, "" when none does."""
    return next((reason for reason, pattern in causes if pattern.search(text)), "")


def own_message(item: Finding, causes: Causes) -> Finding:
    """Mark a finding with the cause its MTA's own message names (a remote reply decides alone).

    An MTA's own words ("Domain does not exist", "Envelope expired") name the cause; a reply
    code in the text says a remote server answered, and its words are classified as they come.
    """
    if not item.reply_code:
        item.hint = item.hint or named_cause(item.diagnostic, causes)
    return item
