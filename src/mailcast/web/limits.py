"""Request bodies capped before anything reads them: past its route's cap, 413 problem+json.

A declared Content-Length over the cap is refused before a byte is read. Otherwise the body
is read here, up to the cap, before the app sees the request: so neither authentication nor
parsing ever runs on an oversized body, however it is sent (chunked too). A CSV upload is
not held in memory: its bytes are counted as the route streams them to disk.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mailcast.config import WebSettings
from mailcast.context import Context
from mailcast.web.problems import problem

WEBHOOKS_PREFIX = "/webhooks/"
UPLOAD_PATHS = frozenset({"/api/profiles/import", "/dashboard/audience/import"})


@dataclass(frozen=True)
class Cap:
    limit: int
    setting: str
    streamed: bool = False


class _Overflow(Exception):
    """A streamed body passed its cap while the route was reading it."""


class _ClientGone(Exception):
    """The client went away while sending: there is no one to answer."""


class BodyLimit:
    """ASGI middleware refusing request bodies over their route's cap (settings `web.max_*`)."""

    def __init__(self, app: ASGIApp, ctx: Context) -> None:
        self.app = app
        self.ctx = ctx

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cap = cap_of(str(scope["path"]), self.ctx.settings.web)
        if _declared_length(scope) > cap.limit:
            await _refuse(cap, scope, receive, send)
        elif cap.streamed:
            await self._counted(cap, scope, receive, send)
        else:
            await self._buffered(cap, scope, receive, send)

    async def _buffered(self, cap: Cap, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            body = await _read_within(receive, cap.limit)
        except _ClientGone:
            return
        if body is None:
            await _refuse(cap, scope, receive, send)
        else:
            await self.app(scope, _replay(body, receive), send)

    async def _counted(self, cap: Cap, scope: Scope, receive: Receive, send: Send) -> None:
        received, started = 0, False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > cap.limit:
                raise _Overflow()
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except _Overflow:
            if started:
                raise
            await _refuse(cap, scope, receive, send)


def cap_of(path: str, web: WebSettings) -> Cap:
    if path in UPLOAD_PATHS:
        return Cap(web.max_upload_bytes, "web.max_upload_bytes", streamed=True)
    if path.startswith(WEBHOOKS_PREFIX):
        return Cap(web.max_webhook_bytes, "web.max_webhook_bytes")
    return Cap(web.max_body_bytes, "web.max_body_bytes")


async def _read_within(receive: Receive, limit: int) -> bytes | None:
    """The whole body; None past the limit (the rest is never read)."""
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _ClientGone()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """The body read already, as one message; then the client's (a disconnect, in time)."""
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if replayed:
            return await receive()
        replayed = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


def _declared_length(scope: Scope) -> int:
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.isdigit() else 0
    return 0


async def _refuse(cap: Cap, scope: Scope, receive: Receive, send: Send) -> None:
    # Connection: close: the server stops taking the rest of the body.
    response = problem(
        413,
        "The request body is too large",
        f"the request body is over the limit of {cap.limit:,} bytes ({cap.setting})",
        kind="body-too-large",
        headers={"Connection": "close"},
        limit=cap.limit,
    )
    await response(scope, receive, send)
