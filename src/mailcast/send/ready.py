"""A message on its way to the relay: where it goes, what goes, and that it may go now."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from mailcast.compose.composer import ComposedMessage
from mailcast.send.relay import Envelope, RelayConnection
from mailcast.send.sendable import Sendable
from mailcast.store.messages import ClaimedMessage


@dataclass(frozen=True, slots=True)
class Turn:
    """Where a message goes: the relay, its connection, and the recipient's domain group."""

    relay: str
    group: str
    connection: RelayConnection


@dataclass(frozen=True, slots=True)
class Sent:
    """A message composed for its turn: what goes, and where to."""

    composed: ComposedMessage
    turn: Turn

    @property
    def message_id_header(self) -> str:
        return self.composed.message_id_header

    @property
    def relay(self) -> str:
        return self.turn.relay

    @property
    def envelope(self) -> Envelope:
        composed = self.composed
        envid = composed.envelope_from.split("@", 1)[0]
        return Envelope(composed.envelope_from, composed.recipient, composed.data, envid)


class Ready(NamedTuple):
    """A message that may go now: its turn taken, its content composed."""

    msg: ClaimedMessage
    sendable: Sendable
    sent: Sent
