"""A relay on loopback that misbehaves on a script: per recipient domain (or "*" for all), it
throttles or refuses at RCPT or DATA, and counts what it accepted.

A plain module, not a conftest (a second module named `conftest` breaks mypy).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from mailcast.threaded_server import ThreadedServer


@dataclass
class Script:
    """What the relay answers for one domain: `reply` at `stage` for its first `times` tries
    (None: every try), then it accepts."""

    reply: str
    stage: str = "rcpt"  # "rcpt" or "data"
    times: int | None = 1
    tried: int = 0

    def answer(self, stage: str) -> str | None:
        if stage != self.stage:
            return None
        self.tried += 1
        if self.times is None or self.tried <= self.times:
            return self.reply
        return None


class ScriptedRelay(ThreadedServer):
    thread_name = "scripted relay"

    def __init__(
        self,
        scripts: dict[str, Script],
        port: int = 0,
        hold: float = 0.0,
        counted_as: dict[str, str] | None = None,
    ) -> None:
        super().__init__("127.0.0.1", port)
        self.scripts = scripts
        self.hold = hold  # seconds each DATA takes
        self.counted_as = counted_as or {}  # domains counted together in most_in_data
        self._lock = threading.Lock()
        self._accepted: Counter[str] = Counter()
        self.refusals: Counter[str] = Counter()  # per domain
        self.accepted_at: list[tuple[str, float]] = []  # (domain, monotonic time)
        self._in_data: Counter[str] = Counter()
        self.most_in_data: Counter[str] = Counter()  # per domain: the most DATAs at once
        self.quits = 0  # sessions that ended well (a probe's, a worker's)

    def fix(self) -> None:
        """From now on, accept everything."""
        with self._lock:
            self.scripts = {}

    def accepted(self) -> Counter[str]:
        with self._lock:
            return Counter(self._accepted)

    def _answer(self, address: str, stage: str) -> str | None:
        domain = address.rpartition("@")[2]
        with self._lock:
            script = self.scripts.get(domain) or self.scripts.get("*")
            reply = script.answer(stage) if script else None
            if reply is not None:
                self.refusals[domain] += 1
        return reply

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        refusal = self._answer(address, "rcpt")
        if refusal is not None:
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        for address in envelope.rcpt_tos:
            refusal = self._answer(address, "data")
            if refusal is not None:
                return refusal
        domains = [a.rpartition("@")[2] for a in envelope.rcpt_tos]
        counted = [self.counted_as.get(d, d) for d in domains]
        with self._lock:
            self._in_data.update(counted)
            for d in counted:
                self.most_in_data[d] = max(self.most_in_data[d], self._in_data[d])
        await asyncio.sleep(self.hold)
        with self._lock:
            self._in_data.subtract(counted)
            self._accepted.update(envelope.rcpt_tos)
            self.accepted_at.extend((d, time.monotonic()) for d in domains)
        return "250 2.0.0 OK queued"

    async def handle_QUIT(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        with self._lock:
            self.quits += 1
        return "221 Bye"

    def _new_connection(self) -> SMTP:
        return SMTP(self, hostname="relay.test", loop=self._loop)
