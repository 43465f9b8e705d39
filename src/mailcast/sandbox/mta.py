"""The sandbox MTA: an aiosmtpd server on loopback, on its own thread, for demo, CLI and tests."""

from __future__ import annotations

import asyncio
import logging
import threading
import weakref
from collections import Counter
from collections.abc import Callable
from typing import Any

from aiosmtpd.smtp import SMTP

from mailcast.clock import Clock, SystemClock
from mailcast.config import Settings
from mailcast.sandbox.handler import Received, Refusal, SandboxHandler, SandboxSMTP
from mailcast.sandbox.player import OutcomePlayer, SentNotice
from mailcast.sandbox.rules import DEFAULT_RULES, Reply, Rule, Rules, default_rules, prefix_rules
from mailcast.threaded_server import ThreadedServer

log = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_RULES",
    "Received",
    "Refusal",
    "Reply",
    "Rule",
    "Rules",
    "SandboxMTA",
    "SentNotice",
    "default_rules",
    "prefix_rules",
    "run_sandbox",
]


class SandboxMTA(ThreadedServer):
    """The sandbox on its own thread and event loop; `with SandboxMTA(port=0) as mta: ...`.

    With `keep_bodies=False` (long runs, benchmarks) only the counters are kept: `count`,
    `recipients_counter()` and `mailcast_messages_counter()`; `received()` stays empty.

    With a `player`, the sandbox plays outcomes: its rules decide at RCPT, and the DSNs it
    plans are sent when due, every `tick` seconds (`autoplay`) or when `play_due()` is called.
    """

    thread_name = "sandbox MTA"

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        rules: Rules = default_rules,
        keep_bodies: bool = True,
        clock: Clock | None = None,
        on_message: Callable[[Received], None] | None = None,
        hostname: str = "sandbox.mailcast.localhost",
        data_size_limit: int = 32 * 1024 * 1024,
        player: OutcomePlayer | None = None,
        autoplay: bool = True,
        tick: float = 0.05,
        smtputf8: bool = True,
    ) -> None:
        super().__init__(host, port)
        self.hostname = hostname
        # Offer SMTPUTF8 (RFC 6531); False plays a relay that only takes ASCII addresses.
        self.smtputf8 = smtputf8
        self.data_size_limit = data_size_limit
        self.player = player
        self.autoplay = autoplay
        self.tick = tick
        if player is not None:
            rules, on_message = player.playbook, _both(player.accepted, on_message)
        self.handler = SandboxHandler(rules, keep_bodies, clock or SystemClock(), on_message)
        self._playing: asyncio.Lock | None = None
        self._connections: weakref.WeakSet[SMTP] = weakref.WeakSet()

    @classmethod
    def playing(
        cls,
        settings: Settings,
        clock: Clock | None = None,
        *,
        port: int | None = None,
        keep_bodies: bool = True,
        keep_records: bool | None = None,
        **kw: Any,
    ) -> SandboxMTA:
        """A sandbox that plays outcomes per `settings.sandbox`, DSNs to the bounce receiver.

        `keep_records`: keep a record of each DSN sent (default: as `keep_bodies`).
        """
        clock = clock or SystemClock()
        s = settings.sandbox
        player = OutcomePlayer(
            s,
            clock,
            s.dsn_host or settings.bounces.host,
            s.dsn_port or settings.bounces.port,
            hostname=kw.get("hostname", "sandbox.mailcast.localhost"),
            keep_records=keep_bodies if keep_records is None else keep_records,
        )
        port = s.port if port is None else port
        return cls(s.host, port, clock=clock, player=player, keep_bodies=keep_bodies, **kw)

    # What was received (safe from any thread)

    @property
    def count(self) -> int:
        return self.handler.count

    def received(self) -> list[Received]:
        return self.handler.received()

    def refusals(self) -> list[Refusal]:
        return self.handler.refusals()

    def recipients_counter(self) -> Counter[str]:
        """How many times each recipient was in an accepted message."""
        return self.handler.recipients_counter()

    def mailcast_messages_counter(self) -> Counter[str]:
        """How many times each X-Mailcast-Message value arrived: above 1 is a double send."""
        return self.handler.mailcast_messages_counter()

    def wait_for(self, n: int, timeout: float = 10.0) -> bool:
        """Wait until at least n messages were accepted; False on timeout."""
        return self.handler.wait_for(n, timeout)

    def reset(self) -> None:
        self.handler.reset()

    # Outcomes played (with a player)

    def play_due(self, timeout: float = 10.0) -> list[SentNotice]:
        """Send every DSN due by the clock now; returns when the bounce receiver has them."""
        loop = self._loop
        if self.player is None or loop is None or self._thread is None:
            raise RuntimeError("the sandbox MTA is not running with a player")
        return asyncio.run_coroutine_threadsafe(self._play(), loop).result(timeout)

    def notices(self) -> list[SentNotice]:
        return self.player.sent() if self.player is not None else []

    # The loop thread

    def _open_transports(self) -> list[asyncio.BaseTransport]:
        return [c.transport for c in list(self._connections) if c.transport is not None]

    async def _background(self) -> list[asyncio.Task[None]]:
        self._playing = asyncio.Lock()
        return [asyncio.create_task(self._autoplay())] if self.player and self.autoplay else []

    async def _autoplay(self) -> None:
        while True:
            await asyncio.sleep(self.tick)
            try:
                await self._play()
            except Exception:
                log.exception("sandbox: playing outcomes failed")

    async def _play(self) -> list[SentNotice]:
        """One round of due DSNs; rounds never overlap, so each DSN leaves once."""
        assert self.player is not None and self._playing is not None
        async with self._playing:
            return await self.player.send(self.player.take_due())

    def _new_connection(self) -> SMTP:
        connection = SandboxSMTP(
            self.handler,
            hostname=self.hostname,
            ident="mailcast sandbox",
            enable_SMTPUTF8=self.smtputf8,
            data_size_limit=self.data_size_limit,
            loop=self._loop,
        )
        self._connections.add(connection)
        return connection


def _both(
    first: Callable[[Received], None], second: Callable[[Received], None] | None
) -> Callable[[Received], None]:
    def listener(message: Received) -> None:
        first(message)
        if second is not None:
            second(message)

    return listener


def run_sandbox(
    host: str = "127.0.0.1",
    port: int = 2525,
    *,
    out: Callable[[str], None] = print,
    stop: threading.Event | None = None,
    report_every: float = 5.0,
    settings: Settings | None = None,
) -> int:
    """Serve until Ctrl-C (or `stop` is set), reporting the count; returns messages received.

    With `settings`, the sandbox plays outcomes: DSNs go to the bounce receiver it names.
    """
    stop = stop or threading.Event()
    if settings is None:
        mta = SandboxMTA(host, port, keep_bodies=False)
    else:
        settings.sandbox.host = host
        mta = SandboxMTA.playing(settings, port=port, keep_bodies=False)
    with mta:
        out(f"sandbox MTA listening on {mta.host}:{mta.port} (Ctrl-C stops)")
        if mta.player is not None:
            out(f"playing outcomes: DSNs to {mta.player.dsn_host}:{mta.player.dsn_port}")
        reported = 0
        try:
            while not stop.wait(report_every):
                if mta.count != reported:
                    reported = mta.count
                    out(f"{reported} messages received, {_notices(mta)}")
        except KeyboardInterrupt:
            pass
        out(f"sandbox MTA stopped after {mta.count} messages")
        return mta.count


def _notices(mta: SandboxMTA) -> str:
    if mta.player is None:
        return "no DSNs played"
    counts = mta.player.counts()
    return ", ".join(f"{n} {kind} DSNs" for kind, n in sorted(counts.items())) or "no DSNs yet"
