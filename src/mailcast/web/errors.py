"""Refusals as HTTP answers: a status code and one clear JSON error, nothing applied."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from mailcast.feedback.webhooks.common import Malformed, Refused, Unauthenticated, WebhookError

log = logging.getLogger("mailcast.web")

STATUS: dict[type[Exception], int] = {
    Unauthenticated: 401,
    Refused: 403,
    Malformed: 400,
}


def install(app: FastAPI) -> None:
    app.add_exception_handler(WebhookError, _webhook_error)


async def _webhook_error(request: Request, exc: Exception) -> JSONResponse:
    status = next((code for kind, code in STATUS.items() if isinstance(exc, kind)), 400)
    client = request.client.host if request.client else "?"
    log.warning(
        "%s %s from %s refused (%d): %s", request.method, request.url.path, client, status, exc
    )
    challenge = exc.challenge if isinstance(exc, Unauthenticated) else ""
    headers = {"WWW-Authenticate": challenge} if challenge else None
    return JSONResponse({"error": str(exc)}, status_code=status, headers=headers)
