"""What every route needs from a request: the context, and a body read within its limit."""

from __future__ import annotations

from fastapi import Request

from mailcast.context import Context


class BodyTooLarge(Exception):
    """The request body is over `web.max_body_bytes`."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the request body is over the limit of {limit:,} bytes")


def context_of(request: Request) -> Context:
    ctx: Context = request.app.state.ctx
    return ctx


async def read_body(request: Request, limit: int) -> bytes:
    """The raw body (signatures are over its exact bytes), refused once it passes the limit."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(limit)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(limit)
        chunks.append(chunk)
    return b"".join(chunks)
