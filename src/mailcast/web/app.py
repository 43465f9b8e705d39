"""The ASGI app factory: one FastAPI app per context, a router per concern."""

from __future__ import annotations

from fastapi import FastAPI

from mailcast.context import Context
from mailcast.web import api, api_docs, dashboard, errors, health, metrics, tracking, webhooks
from mailcast.web.limits import BodyLimit
from mailcast.web.security import SecurityHeaders


def create_app(ctx: Context, *, hits_in_subprocess: bool = False) -> FastAPI:
    """The app; `hits_in_subprocess` writes tracking hits from a process of their own."""
    app = FastAPI(
        title="mailcast",
        summary="Email campaign delivery: every message followed to its outcome.",
        version="0.1.0",
        # Served by api_docs with vendored assets (FastAPI's own load them from a CDN).
        docs_url=None,
        redoc_url=None,
        lifespan=tracking.lifespan,
    )
    app.state.ctx = ctx
    app.state.hits_in_subprocess = hits_in_subprocess
    errors.install(app)
    app.include_router(health.router)
    app.include_router(metrics.router)
    app.include_router(webhooks.router)
    app.include_router(tracking.router)
    api.install(app)
    api_docs.install(app)
    dashboard.install(app)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(BodyLimit, ctx=ctx)  # the outermost: before anything reads a body
    return app
