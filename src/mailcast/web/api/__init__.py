"""The JSON API under /api: one router per concern, every route authenticated."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from mailcast.web import problems
from mailcast.web.api import (
    actions,
    addresses,
    deliveries,
    logs,
    preview,
    profiles,
    proofs,
    recurring,
    reports,
    users,
)

router = APIRouter(prefix="/api")
for module in (deliveries, actions, preview, proofs, logs, reports, profiles, recurring, addresses):
    router.include_router(module.router)
router.include_router(users.me_router)
router.include_router(users.router)


def install(app: FastAPI) -> None:
    """Answer the API's refusals as problem+json and serve its routes."""
    problems.install(app)
    app.include_router(router)
