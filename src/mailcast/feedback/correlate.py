"""Which sent message a report is about: signed VERP, then ENVID, then the signed Message-ID.

Every key is checked against mailcast's signature, so a guessed or altered key names nothing;
and the recipient the report is about must be the message's own, so a report is never applied
to a message it does not describe.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from mailcast.compose.verp import EnvelopeSigner
from mailcast.feedback.observation import MessageRef
from mailcast.store.feedback import Target

_XTEXT = re.compile(r"\+([0-9A-Fa-f]{2})")


def xtext_decode(value: str) -> str:
    """RFC 3461 xtext (ENVID, ORCPT): +HH stands for one character."""
    return _XTEXT.sub(lambda m: chr(int(m.group(1), 16)), value)


def candidate_ids(signer: EnvelopeSigner, ref: MessageRef) -> list[int]:
    """The messages the report's keys name, in the order they are trusted (no duplicates)."""
    found: list[int | None] = [
        signer.message_from_return_path(ref.verp) if ref.verp else None,
        _from_envid(signer, ref.envid),
        signer.message_from_message_id(ref.message_id_header) if ref.message_id_header else None,
    ]
    return list(dict.fromkeys(i for i in found if i is not None))


def _from_envid(signer: EnvelopeSigner, envid: str) -> int | None:
    # The relay sends the VERP local part as ENVID; the bounce domain completes it.
    local = xtext_decode(envid.strip().strip("<>"))
    if not local or "@" in local:
        return None
    return signer.message_from_return_path(f"{local}@{signer.bounce_domain}")


def same_recipient(message_address: str, ref: MessageRef) -> bool:
    """The report is about the message's recipient (an unnamed one is taken from the key)."""
    named = [a for a in (ref.address, ref.final_recipient) if a.strip()]
    if not named:
        return True
    wanted = message_address.strip().casefold()
    return any(_bare(a) == wanted for a in named)


def _bare(address: str) -> str:
    # ORCPT may come as "rfc822;user@host" and in xtext; Final-Recipient in angle brackets.
    value = address.strip()
    if ";" in value:
        value = xtext_decode(value.split(";", 1)[1])
    return value.strip().strip("<>").strip().casefold()


def pick(ref: MessageRef, candidates: Iterable[int], found: Mapping[int, Target]) -> Target | None:
    """The first named message that exists and whose recipient the report is about."""
    for message_id in candidates:
        target = found.get(message_id)
        if target is not None and same_recipient(target.address, ref):
            return target
    return None
