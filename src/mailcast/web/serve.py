"""One process that runs everything: the HTTP app, the bounce receiver, a send worker, the tick.

Each part can be left out, so that on PostgreSQL any number of `serve` processes can share
the work (web only, worker only, ...): they coordinate through the database alone. The
sandbox MTA can run beside them (`serve --sandbox`), on the relay's address, so that a
delivery reaches an MTA that plays outcomes back as DSNs without a real one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import uvicorn

from mailcast.config import RelaySettings, Settings
from mailcast.context import Context
from mailcast.feedback.receiver import BounceReceiver
from mailcast.sandbox.mta import SandboxMTA
from mailcast.schedule import run_due_jobs
from mailcast.send.engine import SendEngine
from mailcast.web.app import create_app

log = logging.getLogger("mailcast.serve")


@dataclass(frozen=True)
class Parts:
    web: bool = True
    bounces: bool = True
    worker: bool = True
    scheduler: bool = True
    sandbox: bool = False


class _Uvicorn(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # The process's signals stop every part in order (Service), not uvicorn alone.
        yield


class Service:
    """Start every part, run until stopped (or until a part fails), stop them in order."""

    def __init__(self, ctx: Context, parts: Parts | None = None) -> None:
        self.ctx = ctx
        self.parts = parts or Parts()
        self.web_port: int | None = None
        self.bounce_port: int | None = None
        self._stop = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._http: _Uvicorn | None = None
        self._receiver: BounceReceiver | None = None
        self._sandboxes: list[SandboxMTA] = []

    def stop(self) -> None:
        """Ask the service to stop; safe from any thread and before it has started."""
        if self._loop is None:
            self._stop.set()
        else:
            self._loop.call_soon_threadsafe(self._stop.set)

    async def run(
        self, *, handle_signals: bool = False, started: asyncio.Event | None = None
    ) -> None:
        self._loop = asyncio.get_running_loop()
        if handle_signals:
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._loop.add_signal_handler(sig, self._stop.set)
        tasks: list[asyncio.Task[None]] = []
        try:
            await self._start_receiver()
            await self._start_sandboxes()
            tasks += await self._start_http()
            tasks += self._start_background()
            log.info(
                "mailcast serving: HTTP port %s, bounce port %s", self.web_port, self.bounce_port
            )
            if started is not None:
                started.set()
            await self._until_stopped_or_failed(tasks)
        finally:
            await self._shut_down(tasks)

    async def _start_receiver(self) -> None:
        if not self.parts.bounces:
            return
        self._receiver = BounceReceiver(self.ctx)
        await asyncio.to_thread(self._receiver.start)
        self.bounce_port = self._receiver.port

    async def _start_sandboxes(self) -> None:
        """A sandbox MTA on each relay's address, playing DSNs back to the bounce receiver."""
        if not self.parts.sandbox:
            return
        for relay in _distinct(self.ctx.settings.named_relays.values()):
            settings = self._sandbox_settings(relay)
            mta = SandboxMTA.playing(settings, self.ctx.clock, keep_bodies=False)
            try:
                await asyncio.to_thread(mta.start)
            except OSError as exc:
                raise RuntimeError(
                    f"the sandbox MTA could not listen on {relay.host}:{relay.port}: "
                    f"{exc.strerror or exc}"
                ) from exc
            self._sandboxes.append(mta)
            relay.port = mta.port  # port 0 asked for a free one: the worker relays there
            log.info("sandbox MTA on %s:%s, DSNs to %s", mta.host, mta.port, self._dsns_to(mta))

    def _sandbox_settings(self, relay: RelaySettings) -> Settings:
        settings = self.ctx.settings
        sandbox = settings.sandbox.model_copy(update={"host": relay.host, "port": relay.port})
        if self._receiver is not None and sandbox.dsn_port is None:
            # DSNs go to this process's receiver, wherever it listens (port 0: a free one).
            sandbox.dsn_host, sandbox.dsn_port = self._receiver.host, self._receiver.port
        return settings.model_copy(update={"sandbox": sandbox})

    @staticmethod
    def _dsns_to(mta: SandboxMTA) -> str:
        player = mta.player
        return f"{player.dsn_host}:{player.dsn_port}" if player is not None else "nowhere"

    async def _start_http(self) -> list[asyncio.Task[None]]:
        if not self.parts.web:
            return []
        web = self.ctx.settings.web
        # The app's lifespan runs its tracking writer, which flushes every hit on shutdown.
        # No access log: a line per tracking hit would cost more than answering it.
        config = uvicorn.Config(
            # Tracking hits are written by a process of their own: requests never wait.
            create_app(self.ctx, hits_in_subprocess=True),
            host=web.host,
            port=web.port,
            lifespan="on",
            log_config=None,
            access_log=False,
        )
        self._http = _Uvicorn(config)
        task = asyncio.create_task(self._serve_http(self._http))
        while not self._http.started:
            if task.done():
                task.result()  # raises why it ended
            await asyncio.sleep(0.02)
        self.web_port = self._http.servers[0].sockets[0].getsockname()[1]
        return [task]

    async def _serve_http(self, server: _Uvicorn) -> None:
        try:
            await server.serve()
        except SystemExit as exc:  # uvicorn exits the process when it cannot bind: say why
            web = self.ctx.settings.web
            raise RuntimeError(
                f"the HTTP server could not listen on {web.host}:{web.port}"
            ) from exc

    def _start_background(self) -> list[asyncio.Task[None]]:
        tasks = []
        if self.parts.worker:
            engine = SendEngine(self.ctx)
            tasks.append(asyncio.create_task(engine.run(stop=self._stop)))
        if self.parts.scheduler:
            tasks.append(asyncio.create_task(self._tick()))
        return tasks

    async def _tick(self) -> None:
        interval = self.ctx.settings.web.tick_seconds
        while not self._stop.is_set():
            try:
                done = await asyncio.to_thread(run_due_jobs, self.ctx)
                log.debug("scheduled jobs: %s", done)
            except Exception:  # one failed tick must not end the process; the next one retries
                log.exception("scheduled jobs failed; trying again in %s s", interval)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), interval)

    async def _until_stopped_or_failed(self, tasks: list[asyncio.Task[None]]) -> None:
        stopped = asyncio.create_task(self._stop.wait())
        done, _ = await asyncio.wait([stopped, *tasks], return_when=asyncio.FIRST_COMPLETED)
        stopped.cancel()
        if self._stop.is_set():
            # Asked to stop: a part that saw it first and ended in the same turn is no failure
            # (what failed while stopping is logged by _shut_down).
            return
        for task in done - {stopped}:
            # A part that ends by itself is a failure: better no process than half of one.
            error = task.exception()
            raise RuntimeError(f"a part of mailcast serve ended: {error!r}") from error

    async def _shut_down(self, tasks: list[asyncio.Task[None]]) -> None:
        self._stop.set()
        if self._http is not None:
            self._http.should_exit = True
        for result in await asyncio.gather(*tasks, return_exceptions=True):
            if isinstance(result, Exception):
                log.error("a part of mailcast serve failed while stopping: %r", result)
        # The worker has stopped relaying to the sandboxes; they stop before the receiver
        # they send DSNs to.
        for mta in self._sandboxes:
            await asyncio.to_thread(mta.stop)
        if self._receiver is not None:
            await asyncio.to_thread(self._receiver.stop)


def _distinct(relays: Iterable[RelaySettings]) -> list[RelaySettings]:
    """One relay per address: two names for one MTA get one sandbox."""
    by_address: dict[tuple[str, int], RelaySettings] = {}
    for relay in relays:
        # Port 0 asks for a free port: each such relay gets a sandbox of its own.
        by_address.setdefault((relay.host, relay.port or id(relay)), relay)
    return list(by_address.values())
