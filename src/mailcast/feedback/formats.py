"""Recipient blocks in the plain-text notices of MTAs that send no DSN (or a poor one).

Exim, qmail, Sendmail, Postfix, Courier, Exchange, Notes, Gmail, Yahoo and the rest all
write a notice where each failed recipient is named, then explained. Rather than one
parser per MTA, the notice is cut where the returned message starts, and split into blocks
at the lines that *introduce* a recipient: an address alone on its line (or leading it), or
an address after a recipient word ("Recipient:", "delivering your mail to", "RCPT TO:").
Each block's text is that recipient's diagnostic; the text before the first block is kept
as context for recipients whose own block says nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mailcast.feedback import smtp
from mailcast.feedback.model import Finding

# A notice listing hundreds of recipients runs to some 100 KB; the returned body is cut off.
MAX_NOTICE = 256 * 1024
MAX_BLOCK = 4000
MAX_CONTEXT = 2000

_ADDR = r"[\w!#$%&'*+/=?^`{|}~.\-]{1,64}@[\w\-]{1,63}(?:\.[\w\-]{1,63}){1,8}"

# Where the returned original begins in a notice; everything after it is not the notice.
_RETURNED_START = re.compile(
    r"^[ \t>]{0,20}(?:-{2,80}[ \t]{0,20})?(?:"
    r"this is a copy of (?:the|your) message|original message|original mail as follows"
    r"|(?:the )?original message (?:follows|headers)|unsent message follows"
    r"|returned message|message headers follow|included is a copy of the message"
    r"|enclosed is a copy of the message|below this line is a copy of the message"
    r"|the header of the original message|below is a copy of the original message"
    r"|original message headers|bounced e-?mail:|content-type: message/rfc822"
    r"|a copy of the original message"
    r"|(?:received|return-path|dkim-signature|x-received|arc-seal): "
    r")",
    re.IGNORECASE | re.MULTILINE,
)
_QUOTE = re.compile(r"^> ?")
_HEADERISH = re.compile(
    r"^\s{0,20}(?:to|cc|bcc|from|subject|date|sent|reply-to|return-path|message-id|received"
    r"|sender|envelope-from|in-reply-to|references)\s{0,20}:",
    re.IGNORECASE,
)
# An address leading its line: "  user@example.org", "<user@example.org>:", '"user@x":'.
_LEADING = re.compile(rf"^[\s*\-•>|]{{0,40}}[<\"(\[]?({_ADDR})[>\")\]]?(?=[\s:,.;(<]|$)")
# An address after words that introduce a recipient.
_INTRODUCED = re.compile(
    r"\b(?:recipients?|rcpt(?: to)?|addressee|address(?:es)?"
    r"|(?:deliver(?:ed|ing|y)?|sent|send|message|mail|e-?mail|undeliverable|relay(?:ed|ing)?"
    r"|forward(?:ed|ing)?)\s{1,10}to)\b[^@\n]{0,80}?[\s:<(\[]"
    rf"({_ADDR})",
    re.IGNORECASE,
)
# An address closing a "label: address" line ("User mailbox exceeds allowed size: a@b").
_TRAILING = re.compile(rf":\s{{0,10}}<?({_ADDR})>?\s{{0,10}}\.?\s{{0,10}}$")
# Addresses that name the sender, never a failed recipient.
_SENDER_CONTEXT = re.compile(
    rf"(?:mail from:?|envelope-from|sender:?|sent by|from:)\s{{0,10}}<?({_ADDR})", re.IGNORECASE
)


@dataclass
class Block:
    address: str
    lines: list[str]


def full_text(texts: list[str]) -> str:
    """The notice parts as one text, bounded, unquoted when it is a forwarded notice."""
    return unquote("\n".join(texts).replace("\r\n", "\n").replace("\r", "\n")[:MAX_NOTICE])


def notice_body(text: str) -> str:
    """The human-readable notice without the returned message that follows it."""
    end = _RETURNED_START.search(text)
    return text[: end.start()] if end else text


def unquote(text: str) -> str:
    """Remove "> " quoting when most lines carry it (a bounce forwarded by a person)."""
    lines = text.split("\n")
    filled = [line for line in lines if line.strip()]
    quoted = [line for line in filled if line.startswith(">")]
    if not filled or len(quoted) * 2 < len(filled):
        return text
    return "\n".join(_QUOTE.sub("", line, count=1) for line in lines)


def senders(text: str) -> set[str]:
    """Addresses the notice itself shows in a sender's role (MAIL FROM, envelope-from)."""
    return {smtp.normalize(m.group(1)).lower() for m in _SENDER_CONTEXT.finditer(text)}


def findings(notice: str, exclude: set[str]) -> tuple[list[Finding], str]:
    """One finding per recipient block, and the preamble that precedes the first block."""
    blocks, preamble = split_blocks(notice, exclude)
    context = preamble.strip()[-MAX_CONTEXT:]
    return [_finding(block, context) for block in blocks], preamble


def split_blocks(notice: str, exclude: set[str]) -> tuple[list[Block], str]:
    blocks: dict[str, Block] = {}
    current: Block | None = None
    preamble: list[str] = []
    for line in notice.split("\n"):
        address = _introduced_address(line, exclude)
        if address:
            known = blocks.get(address)
            current = known if known is not None else Block(address, [])
            blocks[address] = current
        if current is None:
            preamble.append(line)
        elif sum(len(x) for x in current.lines) < MAX_BLOCK:
            current.lines.append(line)
    return list(blocks.values()), "\n".join(preamble)


def _introduced_address(line: str, exclude: set[str]) -> str:
    if not line.strip() or _HEADERISH.match(line):
        return ""
    for pattern in (_LEADING, _INTRODUCED, _TRAILING):
        match = pattern.search(line)
        if match:
            address = smtp.normalize(match.group(1))
            if address.lower() not in exclude:
                return address
    return ""


def _finding(block: Block, context: str) -> Finding:
    text = "\n".join(block.lines).strip()
    reply = smtp.best_reply(text)
    return Finding(
        address=block.address,
        reply_code=reply,
        status=smtp.best_status(text, reply),
        diagnostic=" ".join(text.split()),
        command=smtp.command(text),
        context=context,
    )
