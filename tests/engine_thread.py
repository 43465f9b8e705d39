"""The real send engine on a thread of its own, as `mailcast worker` or `serve` runs it."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from mailcast.context import Context
from mailcast.send.engine import SendEngine

WAIT = 30.0  # the most a stop may take (not a timing assertion)


@contextmanager
def engine_running(ctx: Context) -> Iterator[SendEngine]:
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    engine = SendEngine(ctx)
    thread = threading.Thread(
        target=lambda: loop.run_until_complete(engine.run(stop=stop)), name="test worker"
    )
    thread.start()
    try:
        yield engine
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(WAIT)
        loop.close()
