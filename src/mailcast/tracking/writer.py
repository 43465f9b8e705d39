"""A process of its own that writes tracking hits, so the server's event loop never waits.

Writing a batch is Python work (rows, SQL, the timing rule) that holds the interpreter lock;
done in the HTTP server's process it stalls every request while it runs. The server sends
each batch down a pipe and waits, in a thread, for the writer's answer.
"""

from __future__ import annotations

import contextlib
import multiprocessing
from collections.abc import Sequence
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING

from mailcast.config import Settings

if TYPE_CHECKING:
    from mailcast.tracking.recorder import Hit


class WriteFailed(RuntimeError):
    """The writer could not write a batch; the hits are still the caller's."""


class WriterProcess:
    def __init__(self, settings: Settings) -> None:
        self._pipe, child_end = multiprocessing.Pipe()
        spawn = multiprocessing.get_context("spawn")  # no copy of the server's loop or threads
        self._process = spawn.Process(
            target=_serve, args=(settings, child_end), name="mailcast-tracking-writer", daemon=True
        )
        self._process.start()
        child_end.close()

    def write(self, hits: Sequence[Hit]) -> None:
        """Blocks until the batch is committed (call it from a thread)."""
        try:
            self._pipe.send(list(hits))
            error = self._pipe.recv()
        except (OSError, EOFError) as exc:
            raise WriteFailed("the tracking writer process is gone") from exc
        if error:
            raise WriteFailed(error)

    def close(self) -> None:
        with contextlib.suppress(OSError):  # gone already: nothing left to tell it
            self._pipe.send(None)
        self._process.join(timeout=30)
        if self._process.is_alive():
            self._process.kill()
        self._pipe.close()


def _serve(settings: Settings, pipe: Connection) -> None:
    from mailcast.context import Context
    from mailcast.tracking.recorder import record

    ctx = Context.from_settings(settings)
    while (batch := pipe.recv()) is not None:
        try:
            record(ctx, batch)
        except Exception as exc:  # the server keeps the hits and tries again later
            pipe.send(f"writing {len(batch)} hits failed: {exc!r}")
        else:
            pipe.send("")
    ctx.db.dispose()
