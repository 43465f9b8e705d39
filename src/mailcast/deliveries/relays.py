"""The relays a delivery may use: every relay of the settings, or those it names."""

from __future__ import annotations

from mailcast.config import RelaySettings, Settings
from mailcast.deliveries.errors import DeliveryError


class UnknownRelay(DeliveryError):
    """A relay name that the settings do not have."""


def relays_for(settings: Settings, names: list[str] | None) -> dict[str, RelaySettings]:
    """In the settings' order; a name no longer in the settings is left out (none left: {},
    and the engine fails the delivery saying so)."""
    relays = settings.named_relays
    if not names:
        return dict(relays)
    return {name: relay for name, relay in relays.items() if name in names}


def check_relay_names(settings: Settings, names: list[str] | None) -> list[str] | None:
    """The names a user gave, each once; an unknown one is refused naming the known ones."""
    if not names:
        return None
    known = settings.named_relays
    for name in names:
        if name not in known:
            raise UnknownRelay(f"unknown relay {name!r}: the relays are {', '.join(known)}")
    return list(dict.fromkeys(names))
