"""The web dashboard: server-rendered pages under /dashboard, behind a password login."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from mailcast.web.dashboard import (
    addresses,
    admin,
    audience,
    auth,
    deliveries,
    editor,
    pages,
    recurring,
    releases,
    reports,
)
from mailcast.web.dashboard.render import PREFIX, STATIC_DIR, page


def install(app: FastAPI) -> None:
    """Add the dashboard's routes, static files and refusal pages."""
    router = APIRouter(prefix=PREFIX, include_in_schema=False)
    router.include_router(editor.router)  # first: /deliveries/{id}/edit is no action name
    for part in (auth.router, deliveries.router, pages.router, addresses.router):
        router.include_router(part)
    router.include_router(recurring.router)
    router.include_router(audience.router)
    router.include_router(admin.router)
    router.include_router(releases.router)
    router.include_router(reports.router)
    app.include_router(router)
    app.add_api_route("/", _home, include_in_schema=False)
    app.mount(f"{PREFIX}/static", StaticFiles(directory=str(STATIC_DIR)), name="dashboard-static")
    app.add_exception_handler(auth.LoginRequired, _login_required)
    app.add_exception_handler(auth.CsrfFailed, _csrf_failed)


def _home() -> Response:
    return RedirectResponse(f"{PREFIX}/", status_code=307)


async def _login_required(request: Request, _exc: Exception) -> Response:
    if request.url.path.endswith(".json"):
        return JSONResponse({"error": "log in first"}, status_code=401)
    return auth.login_redirect(request)


async def _csrf_failed(request: Request, _exc: Exception) -> Response:
    message = (
        "This form did not come from your dashboard session (its CSRF token is missing or"
        " wrong), so nothing was done. Reload the page and try again."
    )
    return page(request, "error.html", 403, session=None, message=message)
