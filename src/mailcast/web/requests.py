"""What every route needs from a request: the context (bodies are capped in web/limits.py)."""

from __future__ import annotations

from fastapi import Request

from mailcast.context import Context


def context_of(request: Request) -> Context:
    ctx: Context = request.app.state.ctx
    return ctx
