"""Refusals of the API as `application/problem+json` (RFC 9457): type, title, status, detail."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from email_validator import EmailNotValidError
from fastapi import FastAPI, Request
from fastapi.exception_handlers import (
    http_exception_handler,
    request_validation_exception_handler,
)
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException

from mailcast.audience.csv_import import ImportFailed
from mailcast.audience.filters import FilterError
from mailcast.audience.subscriptions import SubscriptionError
from mailcast.audience.target import TargetError
from mailcast.compose.mime import HeaderInjectionError
from mailcast.compose.templates import RenderError
from mailcast.deliveries.relays import UnknownRelay
from mailcast.deliveries.service import DeliveryError
from mailcast.domain import TransitionError
from mailcast.feedback.quarantine import QuarantineError
from mailcast.recurring.service import RecurringError
from mailcast.store.deliveries import NotFound
from mailcast.users.service import PermissionDenied, UnknownUser, UserError

MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "urn:mailcast:problem:"
API_PREFIX = "/api"


class Unauthenticated(Exception):
    """No credential, or one that names no enabled user: the request is answered 401."""


class CsrfRefused(Exception):
    """A session-authenticated unsafe request without the session's CSRF token."""


# (exception, status, type slug, title), most specific first: the first match answers.
KNOWN: tuple[tuple[type[Exception], int, str, str], ...] = (
    (UnknownUser, 404, "not-found", "No such user"),
    (NotFound, 404, "not-found", "Not found"),
    (TransitionError, 409, "state-conflict", "The delivery's state does not allow this"),
    (RecurringError, 422, "recurring-refused", "The recurring delivery request cannot be done"),
    (UnknownRelay, 422, "unknown-relay", "A relay named is not in the settings"),
    (DeliveryError, 409, "delivery-refused", "The delivery refused the request"),
    (ImportFailed, 422, "import-failed", "The file cannot be imported"),
    (SubscriptionError, 422, "subscription-refused", "The subscription change cannot be made"),
    (TargetError, 422, "invalid-target", "The target is not valid"),
    (FilterError, 422, "invalid-filter", "The filter is not valid"),
    (RenderError, 422, "render-error", "The message cannot be rendered"),
    (HeaderInjectionError, 422, "invalid-header", "A header value is not valid"),
    (QuarantineError, 422, "invalid-address-request", "The address request is not valid"),
    (UserError, 422, "invalid-user-request", "The user request is not valid"),
    (EmailNotValidError, 422, "invalid-email", "Not a valid email address"),
)


class ProblemResponse(JSONResponse):
    media_type = MEDIA_TYPE


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    kind: str | None = None,
    headers: dict[str, str] | None = None,
    **members: Any,
) -> ProblemResponse:
    """One problem document; extra members (e.g. `missing_role`) go beside the standard four.

    `kind` names mailcast's own problem types; without it the type is about:blank and the
    title should be the HTTP status phrase (RFC 9457 section 4.2.1).
    """
    problem_type = f"{TYPE_BASE}{kind}" if kind else "about:blank"
    body = {"type": problem_type, "title": title, "status": status, "detail": detail, **members}
    return ProblemResponse(body, status_code=status, headers=headers)


def install(app: FastAPI) -> None:
    app.add_exception_handler(PermissionDenied, _permission_denied)
    app.add_exception_handler(Unauthenticated, _unauthenticated)
    app.add_exception_handler(CsrfRefused, _csrf_refused)
    for kind, *_ in KNOWN:
        app.add_exception_handler(kind, _known)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(HTTPException, _http_error)


async def _permission_denied(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PermissionDenied)
    return problem(
        403,
        f"The role '{exc.missing_role}' is missing",
        str(exc),
        kind="missing-role",
        missing_role=str(exc.missing_role),
        action=str(exc.action),
    )


async def _unauthenticated(_request: Request, exc: Exception) -> Response:
    headers = {"WWW-Authenticate": 'Bearer realm="mailcast"'}
    return problem(401, "Unauthorized", str(exc), headers=headers)


async def _csrf_refused(_request: Request, exc: Exception) -> Response:
    return problem(403, "CSRF token missing or wrong", str(exc), kind="csrf")


async def _known(_request: Request, exc: Exception) -> Response:
    status, slug, title = next((s, k, t) for kind, s, k, t in KNOWN if isinstance(exc, kind))
    return problem(status, title, str(exc), kind=slug)


async def _invalid_request(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    if not request.url.path.startswith(API_PREFIX):
        return await request_validation_exception_handler(request, exc)
    errors = [_plain_error(error) for error in exc.errors()]
    detail = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors)
    return problem(422, "The request is not valid", detail, kind="invalid-request", errors=errors)


def _plain_error(error: Any) -> dict[str, Any]:
    # Only what can be told back as JSON: pydantic's `ctx` may hold exception objects.
    return {"loc": list(error.get("loc", ())), "msg": str(error.get("msg", ""))}


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if not request.url.path.startswith(API_PREFIX):
        return await http_exception_handler(request, exc)
    detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    headers = dict(exc.headers) if exc.headers else None
    return problem(exc.status_code, _reason(exc.status_code), detail, headers=headers)


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
