"""Liveness and readiness for load balancers, and `mailcast serve`'s own start-up check."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError

from mailcast.store import metrics as metrics_store
from mailcast.web.problems import problem
from mailcast.web.requests import context_of

log = logging.getLogger("mailcast.web.health")

router = APIRouter(tags=["health"])


@router.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/healthz",
    summary="Ready to serve: the database answers",
    responses={
        200: {"description": '{"status": "ok", "database": "ok"}'},
        503: {
            "description": "The database does not answer",
            "content": {"application/problem+json": {"schema": {"type": "object"}}},
        },
    },
)
def healthz(request: Request) -> Response:
    ctx = context_of(request)
    try:
        with ctx.db.read() as conn:
            metrics_store.ping(conn)
    except SQLAlchemyError as exc:
        # The body is public: it names the kind of failure, the log keeps the whole of it.
        log.warning("health check: the database does not answer: %s", exc)
        failure = type(getattr(exc, "orig", None) or exc).__name__
        return problem(
            503,
            "Service Unavailable",
            f"the database does not answer ({failure})",
            database="error",
        )
    return JSONResponse({"status": "ok", "database": "ok"})
