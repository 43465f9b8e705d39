"""Proofs: the delivery's message, `[PROOF] ` before its subject, sent to a few test addresses.

A proof is composed by the same Composer as the real messages and relayed through the same
relay, but it has no line in the sending log, no event and no counter: proofs never count
in the KPIs. Each one is recorded in the `proofs` table instead.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import secrets
from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import RowMapping

from mailcast.compose.composer import ComposedMessage, Composer, DeliveryContent, Recipient
from mailcast.compose.templates import RenderError
from mailcast.compose.verp import EnvelopeSigner
from mailcast.config import RelaySettings
from mailcast.context import Context
from mailcast.deliveries.errors import DeliveryError
from mailcast.deliveries.relays import relays_for
from mailcast.domain import EDITABLE_STATES, Action
from mailcast.send.relay import Envelope, RelayConnection, RelayReply, ReplyKind
from mailcast.store import deliveries as delivery_store
from mailcast.store import proofs as store
from mailcast.tracking.links import LinkTracker
from mailcast.users.service import User, authorize

PROOF_PREFIX = "[PROOF] "

# Proofs show the message before it goes out: any state before sending (ACS).
PROOF_STATES = EDITABLE_STATES


@dataclass(frozen=True)
class ProofResult:
    address: str
    accepted: bool
    smtp_code: int | None  # None when the proof could not be composed for this address
    smtp_response: str
    message_id: str | None


@dataclass(frozen=True)
class Proof:
    """A proof as recorded: to whom, which version of the delivery, by whom, the relay's reply."""

    id: int
    address: str
    version: int
    sent_by: int | None
    sent_at: dt.datetime
    smtp_code: int | None
    smtp_response: str | None
    message_id: str | None


class _ProofSigner(EnvelopeSigner):
    """Signs as for the delivery's messages, except the Message-ID, which is each proof's own.

    A proof's tracking tokens and return path name message 0, which no message has, so its
    opens, clicks and bounces count nowhere. Its Message-ID is new each time (a mailbox hides
    a second message with the same one) and unsigned, so it correlates with nothing either.
    """

    def message_id_for(self, delivery_id: int, message_id: int) -> str:
        return f"<proof.{delivery_id}.{secrets.token_hex(8)}@{self.message_id_domain}>"


def set_proof_addresses(
    ctx: Context, user: User, delivery_id: int, addresses: list[str]
) -> list[str]:
    """Where the delivery's proofs go; returns the addresses as stored (checked, deduplicated).

    Not an edit in the ACS sense: the proof target changes neither the message nor its
    recipients, so the delivery keeps its preparation and its approval.
    """
    authorize(user, Action.EDIT_DELIVERY)
    checked = _checked(addresses, ctx.settings.max_proof_addresses)
    with ctx.db.write() as conn:
        delivery_store.get_delivery(conn, delivery_id, for_update=True)  # NotFound
        delivery_store.update_delivery(conn, delivery_id, ctx.clock.now(), proof_addresses=checked)
    return checked


def send_proofs(
    ctx: Context, user: User, delivery_id: int, addresses: list[str] | None = None
) -> list[ProofResult]:
    """Send a proof to each address (the delivery's proof addresses when None), now.

    Blocks while relaying: call it from a thread, not from inside a running event loop.
    """
    authorize(user, Action.SEND_PROOF)
    delivery = _proofable(ctx, delivery_id)
    given = addresses if addresses is not None else list(delivery["proof_addresses"] or [])
    to = _checked(given, ctx.settings.max_proof_addresses)
    if not to:
        raise DeliveryError("no proof address: give some, or set the delivery's proof addresses")
    composer = _composer(ctx, delivery)
    now = ctx.clock.now()
    composed = [_compose(composer, recipient, now) for recipient in _recipients(ctx, to)]
    sendable = [c for c in composed if isinstance(c, ComposedMessage)]
    replies = asyncio.run(_relay(_proof_relay(ctx, delivery), sendable))
    results = _results(to, composed, replies)
    _record(ctx, user, delivery, results, now)
    return results


def list_proofs(ctx: Context, delivery_id: int) -> list[Proof]:
    with ctx.db.read() as conn:
        delivery_store.get_delivery(conn, delivery_id)  # NotFound
        rows = store.proofs_of(conn, delivery_id)
    return [
        Proof(
            id=row["id"],
            address=row["address"],
            version=row["version"],
            sent_by=row["sent_by"],
            sent_at=row["sent_at"],
            smtp_code=row["smtp_code"],
            smtp_response=row["smtp_response"],
            message_id=row["message_id_header"],
        )
        for row in rows
    ]


def _checked(addresses: list[str], limit: int) -> list[str]:
    """Valid addresses, each once (case-insensitively), at most `limit` of them."""
    unique: dict[str, str] = {}
    for given in addresses:
        try:
            address = validate_email(given.strip(), check_deliverability=False).normalized
        except EmailNotValidError as exc:
            raise DeliveryError(f"'{given}' is not a valid proof address: {exc}") from exc
        unique.setdefault(address.casefold(), address)
    if len(unique) > limit:
        raise DeliveryError(f"at most {limit} proof addresses are allowed, not {len(unique)}")
    return list(unique.values())


def _proofable(ctx: Context, delivery_id: int) -> RowMapping:
    with ctx.db.read() as conn:
        delivery = delivery_store.get_delivery(conn, delivery_id)
    if delivery["state"] not in PROOF_STATES:
        raise DeliveryError(
            f"proofs are sent before the delivery goes out, not in state '{delivery['state']}'"
        )
    return delivery


def _composer(ctx: Context, delivery: RowMapping) -> Composer:
    content = DeliveryContent.of_delivery(delivery, subject_prefix=PROOF_PREFIX)
    s = ctx.settings
    signer = _ProofSigner(ctx.secret, s.bounce_domain, s.message_id_domain)
    try:
        return Composer(content, signer, LinkTracker.from_context(ctx), s.templates, ctx.dkim)
    except (RenderError, ValueError) as exc:
        raise DeliveryError(f"the message cannot be composed: {exc}") from exc


def _recipients(ctx: Context, addresses: list[str]) -> list[Recipient]:
    """Each address with its profile's data when a profile has it, else with empty fields."""
    with ctx.db.read() as conn:
        found = store.profiles_by_key(conn, {a.casefold() for a in addresses})
    recipients = []
    for address in addresses:
        profile = found.get(address.casefold())
        if profile is None:
            recipients.append(Recipient(0, address, None, None, {}))
        else:
            attributes = dict(profile["attributes"] or {})
            first, last = profile["first_name"], profile["last_name"]
            recipients.append(Recipient(0, address, first, last, attributes))
    return recipients


def _compose(composer: Composer, recipient: Recipient, now: dt.datetime) -> ComposedMessage | str:
    """The proof, or why it cannot be composed for this recipient."""
    try:
        return composer.compose(recipient, now)
    except (RenderError, ValueError) as exc:
        return str(exc)


def _proof_relay(ctx: Context, delivery: RowMapping) -> RelaySettings:
    """The first relay the delivery may use: proofs take the way its messages will take."""
    relays = relays_for(ctx.settings, delivery["relays"])
    if not relays:
        raise DeliveryError("none of the relays the delivery names is in the settings")
    return next(iter(relays.values()))


async def _relay(settings: RelaySettings, messages: list[ComposedMessage]) -> list[RelayReply]:
    """One connection to the relay for all the proofs, one after the other; no DSN asked."""
    connection = RelayConnection(settings)
    try:
        return [
            await connection.send(Envelope(m.envelope_from, m.recipient, m.data)) for m in messages
        ]
    finally:
        await connection.close()


def _results(
    addresses: list[str], composed: list[ComposedMessage | str], replies: list[RelayReply]
) -> list[ProofResult]:
    """One result per address, in order: the relay's reply, or why nothing was sent."""
    reply_of = iter(replies)
    results = []
    for address, proof in zip(addresses, composed, strict=True):
        if isinstance(proof, str):
            results.append(ProofResult(address, False, None, f"not sent: {proof}", None))
            continue
        reply = next(reply_of)
        accepted = reply.kind is ReplyKind.ACCEPTED
        code = reply.code or None  # 0: no reply at all
        results.append(ProofResult(address, accepted, code, reply.text, proof.message_id_header))
    return results


def _record(
    ctx: Context, user: User, delivery: RowMapping, results: list[ProofResult], now: dt.datetime
) -> None:
    rows = [
        {
            "delivery_id": delivery["id"],
            "address": result.address,
            "version": delivery["version"],
            "sent_by": user.id,
            "sent_at": now,
            "smtp_code": result.smtp_code,
            "smtp_response": result.smtp_response,
            "message_id_header": result.message_id,
        }
        for result in results
    ]
    with ctx.db.write() as conn:
        store.insert_proofs(conn, rows)
