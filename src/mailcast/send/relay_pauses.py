"""Sends paused by relay faults resume by themselves: the relays out of rotation, and those
the paused deliveries wait for, are probed; one that answers resumes what waited for it."""

from __future__ import annotations

import asyncio

from mailcast.context import Context
from mailcast.send.rotation import RelayRotation
from mailcast.send.sendable import SendableDeliveries
from mailcast.store import deliveries as delivery_store


class RelayPauses:
    """One worker's view of the sends paused by relay faults (by it or by another worker)."""

    def __init__(self, ctx: Context, rotation: RelayRotation, sendable: SendableDeliveries) -> None:
        self.ctx = ctx
        self._rotation = rotation
        self._sendable = sendable
        self._paused: dict[int, tuple[str, ...]] = {}  # delivery id: the relays it may use
        self._next_check = 0.0

    async def probe(self, now: float) -> None:
        """Probe the relays that are due; resume the deliveries one of which answered."""
        if now >= self._next_check:
            self._paused = await asyncio.to_thread(self._paused_by_relay)
            self._next_check = now + self.ctx.settings.send.probe_first_seconds
        paused_on = {relay for relays in self._paused.values() for relay in relays}
        answered = set()
        for relay in self._rotation.to_probe(paused_on, now):
            if await self._rotation.probe(relay, now):
                answered.add(relay)
        resumed = [d for d, relays in self._paused.items() if answered.intersection(relays)]
        if resumed:
            await asyncio.to_thread(self._resume, resumed)
            self._paused = {d: r for d, r in self._paused.items() if d not in resumed}

    def _paused_by_relay(self) -> dict[int, tuple[str, ...]]:
        with self.ctx.db.read() as conn:
            paused = delivery_store.paused_by_relay(conn)
        return {d: self._sendable.relays_of(names) for d, names in paused.items()}

    def _resume(self, delivery_ids: list[int]) -> None:
        with self.ctx.db.write() as conn:
            delivery_store.resume_after_relay(conn, delivery_ids, self.ctx.clock.now())
        self._sendable.refresh()
