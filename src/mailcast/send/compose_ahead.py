"""Messages composed (and DKIM-signed) ahead, in processes of their own, a chunk at a time.

Rendering, MIME and signing are pure CPU, and the worker's event loop has the SMTP sessions,
the replies and the records to run: with `send.compose_processes` above 0, each claimed
batch is composed in other processes (other cores) while the loop hands over what is ready.
With 0, each message is composed on the loop as it goes (the tests, the demo, small sends).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

from mailcast.compose.composer import ComposedMessage, Composer, DeliveryContent, Recipient
from mailcast.compose.templates import RenderError
from mailcast.config import Settings
from mailcast.context import Context
from mailcast.tracking.links import LinkTracker

_CHUNK = 25  # messages per task: the hand-over between processes costs per task, not per message

# A message composed, or why it could not be (the render's error).
Composed = ComposedMessage | str


@dataclass(frozen=True, slots=True)
class _Ahead:
    chunk: asyncio.Future[list[Composed]]
    index: int


class ComposeAhead:
    """Composes claimed messages in a process pool; `take` gives a message's result."""

    def __init__(self, settings: Settings, secret: str, processes: int) -> None:
        # Fork where there is one: the children start at once with what this process loaded.
        methods = multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
        own = settings.model_copy(update={"secret_key": secret})
        self._pool = ProcessPoolExecutor(
            processes, mp_context=context, initializer=_start, initargs=(own,)
        )
        self._ahead: dict[int, _Ahead] = {}  # by message id

    def submit(
        self, content: DeliveryContent, recipients: list[Recipient], now: dt.datetime
    ) -> None:
        """Start composing these messages of one delivery."""
        loop = asyncio.get_running_loop()
        for start in range(0, len(recipients), _CHUNK):
            chunk = recipients[start : start + _CHUNK]
            future = loop.run_in_executor(self._pool, _compose_chunk, content, chunk, now)
            for index, recipient in enumerate(chunk):
                self._ahead[recipient.message_id] = _Ahead(future, index)

    async def take(self, message_id: int) -> Composed | None:
        """The message as composed ahead; None when it was not (compose it on the loop)."""
        ahead = self._ahead.pop(message_id, None)
        if ahead is None:
            return None
        try:
            return (await ahead.chunk)[ahead.index]
        except Exception:  # a child died: compose it on the loop instead
            return None

    def forget(self, message_ids: list[int]) -> None:
        """Messages recorded without being sent: their composition is not needed."""
        for message_id in message_ids:
            self._ahead.pop(message_id, None)

    def close(self) -> None:
        self._ahead.clear()
        self._pool.shutdown(wait=False, cancel_futures=True)


# --- in the composing processes ---------------------------------------------------------------

_kit: _Kit | None = None


@dataclass
class _Kit:
    """What a composing process builds once: the signers, and a composer per content."""

    ctx: Context
    composers: dict[DeliveryContent, Composer]


def _start(settings: Settings) -> None:
    global _kit
    _kit = _Kit(Context.from_settings(settings), {})


def _compose_chunk(
    content: DeliveryContent, recipients: list[Recipient], now: dt.datetime
) -> list[Composed]:
    composer = _composer(content)
    results: list[Composed] = []
    for recipient in recipients:
        try:
            results.append(composer.compose(recipient, now))
        except (RenderError, ValueError) as exc:
            results.append(str(exc))
    return results


def _composer(content: DeliveryContent) -> Composer:
    assert _kit is not None, "the process was not started by ComposeAhead"
    if content not in _kit.composers:
        ctx = _kit.ctx  # its secret is in its settings: it never reads the database
        tracker = LinkTracker.from_context(ctx)
        _kit.composers[content] = Composer(
            content, ctx.signer, tracker, ctx.settings.templates, ctx.dkim
        )
    return _kit.composers[content]
