"""Each message's content for its recipient: composed ahead in processes of their own, or on
the loop; a delivery whose template fails for its first recipients fails for everyone."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable

from mailcast.compose.composer import ComposedMessage, Recipient
from mailcast.compose.templates import RenderError
from mailcast.context import Context
from mailcast.send.compose_ahead import ComposeAhead
from mailcast.send.sendable import Sendable
from mailcast.store.messages import ClaimedMessage


class Composing:
    """One worker's composing; `give_up(delivery_id, reason)` when a template fails for all."""

    def __init__(self, ctx: Context, give_up: Callable[[int, str], None]) -> None:
        settings = ctx.settings.send
        processes = settings.compose_processes
        self._ahead = ComposeAhead(ctx.settings, ctx.secret, processes) if processes else None
        self._clock = ctx.clock
        self._give_up = give_up
        self._max_failures = settings.max_render_failures
        self._failures: Counter[int] = Counter()  # per delivery, while none rendered
        self._rendered: set[int] = set()

    def submit(self, batch: list[ClaimedMessage], sendable: Sendable | None) -> None:
        """Start composing a claimed batch (all of one delivery) ahead of its sending."""
        if self._ahead is not None and sendable is not None and batch:
            recipients = [_recipient(msg) for msg in batch]
            self._ahead.submit(sendable.composer.content, recipients, self._clock.now())

    def forget(self, message_ids: list[int]) -> None:
        if self._ahead is not None:
            self._ahead.forget(message_ids)

    def close(self) -> None:
        if self._ahead is not None:
            self._ahead.close()

    async def composed(
        self, msg: ClaimedMessage, sendable: Sendable, now: dt.datetime
    ) -> ComposedMessage | str:
        """The message, signed, composed ahead or here; else why the template failed."""
        composed = await self._composed(msg, sendable, now)
        if isinstance(composed, str):
            self._failed(msg.delivery_id, composed)
        else:
            self._rendered.add(msg.delivery_id)
        return composed

    async def _composed(
        self, msg: ClaimedMessage, sendable: Sendable, now: dt.datetime
    ) -> ComposedMessage | str:
        if self._ahead is not None and (ahead := await self._ahead.take(msg.id)) is not None:
            return ahead
        try:
            composed = sendable.composer.compose(_recipient(msg), now, sign=False)
        except (RenderError, ValueError) as exc:
            return str(exc)
        # Signed in a thread: RSA lets go of the GIL while it signs.
        return await sendable.composer.signed(composed, now)

    def _failed(self, delivery_id: int, error: str) -> None:
        """The first N messages of a delivery all failing to render: it fails for everyone."""
        if delivery_id in self._rendered:
            return  # it renders for some: those it fails for are failed one by one
        self._failures[delivery_id] += 1
        if self._failures[delivery_id] >= self._max_failures:
            self._give_up(delivery_id, f"the template fails for every recipient: {error}")


def _recipient(msg: ClaimedMessage) -> Recipient:
    return Recipient(msg.id, msg.address, msg.first_name, msg.last_name, msg.attributes)
