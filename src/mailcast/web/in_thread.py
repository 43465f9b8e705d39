"""The HTTP app under uvicorn on a thread of this process, on a free loopback port (demo, tests)."""

from __future__ import annotations

import asyncio
import threading
import time
from types import TracebackType
from typing import Self

import uvicorn

from mailcast.context import Context
from mailcast.web.app import create_app

START_TIMEOUT = 10.0  # real seconds


class WebServer:
    """`with WebServer(ctx) as web:` serves create_app(ctx) on 127.0.0.1:`web.port`.

    The app's lifespan runs: its tracking recorder writes hits in batches, and stopping the
    server flushes every hit it answered, so the counters have them once `stop()` returns.
    Started again, it listens on the same port: the tracking URLs already sent name it.
    """

    def __init__(self, ctx: Context) -> None:
        self._app = create_app(ctx)
        self.port = 0
        self._server = self._new_server()
        self._thread: threading.Thread | None = None
        self._failure: BaseException | None = None

    def _new_server(self) -> uvicorn.Server:
        config = uvicorn.Config(
            self._app,
            host="127.0.0.1",
            port=self.port,
            lifespan="on",
            log_config=None,
            access_log=False,
        )
        return uvicorn.Server(config)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Self:
        if self._server.should_exit:  # a server runs once: a new one, on the port it had
            self._server = self._new_server()
        self._thread = threading.Thread(target=self._serve, name="web", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the HTTP app did not start: {self._failure!r}")
            time.sleep(0.01)
        self.port = self._server.servers[0].sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        """Stop serving, after the app's lifespan flushed its tracking hits; idempotent."""
        if self._thread is None:
            return
        self._server.should_exit = True
        self._thread.join(timeout=30)
        self._thread = None

    def _serve(self) -> None:
        try:
            asyncio.run(self._server.serve())
        except BaseException as exc:  # uvicorn exits when it cannot bind: start() says why
            self._failure = exc

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
