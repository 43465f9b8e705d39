"""Which relays take messages now: a choice by weight among those in rotation. A relay that
fails is taken out and probed with backoff while the others carry on (README, "Relays")."""

from __future__ import annotations

import random
from collections.abc import Collection
from dataclasses import dataclass

from mailcast.config import RelaySettings, SendSettings
from mailcast.send.probe import ProbeEnvelope, relay_answers


@dataclass
class _Standing:
    """One relay as this worker sees it: its faults in a row, and its probes while out."""

    settings: RelaySettings
    faults: int = 0
    out: bool = False
    for_good: bool = False  # out for a fault that waiting cannot cure
    reason: str = ""
    probe: ProbeEnvelope | None = None  # what it refused, asked again by the probe
    probe_wait: float = 0.0
    next_probe_at: float = 0.0
    rests_until: float = 0.0  # its own quota is used up until then: in rotation, not chosen


class RelayRotation:
    """The relays of one worker; the time is the event loop's (monotonic seconds)."""

    def __init__(
        self, relays: dict[str, RelaySettings], send: SendSettings, rng: random.Random | None = None
    ) -> None:
        self.send = send
        self._relays = {name: _Standing(relay) for name, relay in relays.items()}
        self._random = rng or random.Random()

    @property
    def names(self) -> list[str]:
        return list(self._relays)

    def settings(self, name: str) -> RelaySettings:
        return self._relays[name].settings

    def choose(self, allowed: Collection[str], now: float) -> str | None:
        """A relay in rotation among `allowed` and not resting, by weight; else None."""
        live = [
            n
            for n in allowed
            if n in self._relays and not self._relays[n].out and self._relays[n].rests_until <= now
        ]
        if len(live) <= 1:
            return live[0] if live else None
        weights = [self._relays[n].settings.weight for n in live]
        return self._random.choices(live, weights)[0]

    def in_rotation(self, allowed: Collection[str]) -> bool:
        return any(n in self._relays and not self._relays[n].out for n in allowed)

    def reason(self, allowed: Collection[str]) -> str:
        """Why the relays among `allowed` are out (the first one's)."""
        reasons = [self._relays[n].reason for n in allowed if n in self._relays]
        return next((r for r in reasons if r), "none of the relays it names is configured")

    def cured_by_waiting(self, allowed: Collection[str]) -> bool:
        """Whether a probe may bring one of `allowed` back: not when all are out for good."""
        return any(not self._relays[n].for_good for n in allowed if n in self._relays)

    def rest(self, name: str, until: float) -> None:
        """Its own hourly or daily quota is used up: the others take its share until then."""
        self._relays[name].rests_until = until

    def rest_left(self, allowed: Collection[str], now: float) -> float:
        """Seconds until one of `allowed` has quota again."""
        ends = [self._relays[n].rests_until for n in allowed if n in self._relays]
        return max(0.0, min(ends, default=now) - now)

    def faults(self, name: str) -> int:
        return self._relays[name].faults

    def answered(self, name: str) -> None:
        self._relays[name].faults = 0

    def fault(self, name: str, reason: str, probe: ProbeEnvelope | None, now: float) -> bool:
        """One more relay-level fault in a row (unreachable, refusing sender or relaying).

        The relay leaves rotation past `send.max_consecutive_errors`, or at once when others
        are still in rotation to carry on (the faults of a session, not of one recipient,
        say the same for every message). True when it is out.
        """
        standing = self._relays[name]
        standing.faults += 1
        standing.reason = reason
        if probe is not None:
            standing.probe = probe
        others = self.in_rotation([n for n in self._relays if n != name])
        if standing.faults >= self.send.max_consecutive_errors or others:
            self._take_out(standing, now)
        return standing.out

    def fail_for_good(self, name: str, reason: str, now: float) -> bool:
        """A fault that waiting cannot cure (login or TLS refused): out until a probe passes."""
        standing = self._relays[name]
        standing.reason, standing.for_good = reason, True
        self._take_out(standing, now)
        return True

    def _take_out(self, standing: _Standing, now: float) -> None:
        if not standing.out:
            standing.out = True
            self._wait_for_probe(standing, now)

    def _wait_for_probe(self, standing: _Standing, now: float) -> None:
        if not standing.next_probe_at:
            standing.probe_wait = self.send.probe_first_seconds
            standing.next_probe_at = now + standing.probe_wait

    def to_probe(self, paused_on: Collection[str], now: float) -> list[str]:
        """The relays whose probe is due: those out of rotation here, and those `paused_on`
        (deliveries paused by relay faults, maybe seen by another worker), past their wait."""
        due = []
        for name, standing in self._relays.items():
            if standing.out or name in paused_on:
                self._wait_for_probe(standing, now)
                if now >= standing.next_probe_at:
                    due.append(name)
        return due

    async def probe(self, name: str, now: float) -> bool:
        """Ask the relay again for what it refused; back in rotation when it answers."""
        standing = self._relays[name]
        if await relay_answers(standing.settings, standing.probe):
            standing.out, standing.for_good, standing.faults, standing.reason = False, False, 0, ""
            standing.probe, standing.next_probe_at = None, 0.0
            return True
        standing.probe_wait = min(standing.probe_wait * 2, self.send.probe_max_seconds)
        standing.next_probe_at = now + standing.probe_wait
        return False
