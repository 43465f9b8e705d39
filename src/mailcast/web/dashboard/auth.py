"""Login, logout, password change, and who is behind a dashboard request (session + CSRF)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from mailcast.config import Settings
from mailcast.context import Context
from mailcast.users.service import User, UserError, set_password, verify_password
from mailcast.users.sessions import (
    SESSION_COOKIE,
    LoginRefused,
    LoginThrottled,
    close_session,
    csrf_matches,
    login,
    open_session,
    session_user,
)
from mailcast.web.dashboard.forms import text
from mailcast.web.dashboard.render import PREFIX, page
from mailcast.web.requests import context_of

LOGIN_CSRF_COOKIE = "mailcast_login_csrf"
# The session cookie goes to the dashboard and the API only, never to the public tracking
# routes (/t), which show what authors wrote; a cookie per path, the same session.
SESSION_PATHS = (PREFIX, "/api")
_LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})

router = APIRouter()


@dataclass(frozen=True)
class Session:
    user: User
    csrf: str
    token: str


@dataclass(frozen=True)
class Posted:
    """A form posted within a session, its CSRF token checked."""

    session: Session
    form: FormData


class LoginRequired(Exception):
    """No live session: pages redirect to the login page, JSON answers 401."""


class CsrfFailed(Exception):
    """A form came without the session's CSRF token: refused, nothing done."""


def cookie_secure(settings: Settings) -> bool:
    """Secure cookies, unless set otherwise or mailcast is reached over http on loopback."""
    if settings.sessions.secure_cookie is not None:
        return settings.sessions.secure_cookie
    base = urlsplit(settings.tracking.base_url)
    return not (base.scheme == "http" and base.hostname in _LOCAL_HOSTS)


# --- Dependencies ---------------------------------------------------------------------------


async def current_session(request: Request) -> Session:
    token = request.cookies.get(SESSION_COOKIE)
    found = await run_in_threadpool(session_user, context_of(request), token) if token else None
    if found is None or token is None:
        raise LoginRequired()
    return Session(found[0], found[1], token)


async def posted_form(request: Request) -> Posted:
    session = await current_session(request)
    form = await request.form()
    if not csrf_matches(session.csrf, text(form.get("csrf"))):
        raise CsrfFailed()
    return Posted(session, form)


Current = Annotated[Session, Depends(current_session)]
Post = Annotated[Posted, Depends(posted_form)]


def peer_of(request: Request) -> str | None:
    return request.client.host if request.client else None


# --- Login and logout -----------------------------------------------------------------------


@router.get("/login")
def login_page(request: Request, target: Annotated[str, Query(alias="next")] = "") -> Response:
    return _login_form(request, target)


@router.post("/login")
async def login_post(request: Request) -> Response:
    form = await request.form()
    target = _safe_next(text(form.get("next")))
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not csrf_matches(expected, text(form.get("csrf"))):
        return _login_form(request, target, "The form expired: please log in again.", 403)
    ctx = context_of(request)
    name, password = text(form.get("name")), text(form.get("password"))
    try:
        user = await run_in_threadpool(login, ctx, name, password, peer_of(request))
    except LoginThrottled as exc:
        return _login_form(request, target, str(exc), 429, name)
    except LoginRefused as exc:
        return _login_form(request, target, str(exc), 401, name)
    return await _logged_in(request, ctx, user, target)


@router.post("/logout")
async def logout(request: Request, posted: Post) -> Response:
    await run_in_threadpool(close_session, context_of(request), posted.session.token)
    response = RedirectResponse(f"{PREFIX}/login", status_code=303)
    for path in (*SESSION_PATHS, "/"):
        response.delete_cookie(SESSION_COOKIE, path=path)
    return response


# --- Password change ------------------------------------------------------------------------


@router.get("/account")
def account_page(request: Request, session: Current) -> Response:
    return page(request, "account.html", session=session, error=None)


@router.post("/account/password")
async def change_password(request: Request, posted: Post) -> Response:
    """Every session of the user ends (others too); this browser gets a new one."""
    ctx, user, form = context_of(request), posted.session.user, posted.form
    current, new = text(form.get("current")), text(form.get("new"))
    error = None
    if new != text(form.get("repeat")):
        error = "The two new passwords differ."
    elif await run_in_threadpool(verify_password, ctx.db, user.name, current) is None:
        error = "The current password is wrong."
    else:
        try:
            await run_in_threadpool(set_password, ctx.db, user.name, new)
        except UserError as exc:
            error = str(exc).capitalize() + "."
    if error is not None:
        return page(request, "account.html", 422, session=posted.session, error=error)
    return await _logged_in(request, ctx, user, f"{PREFIX}/account?changed=1")


# --- Steps ----------------------------------------------------------------------------------


async def _logged_in(request: Request, ctx: Context, user: User, target: str) -> Response:
    agent = request.headers.get("user-agent")
    token, _ = await run_in_threadpool(open_session, ctx, user, peer_of(request), agent)
    response = RedirectResponse(target, status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")  # as sessions were scoped before
    for path in SESSION_PATHS:
        response.set_cookie(
            SESSION_COOKIE,
            token,
            max_age=int(ctx.settings.sessions.lifetime_hours * 3600),
            path=path,
            httponly=True,
            # Lax: a link to a delivery page (in a mail, a chat) opens it logged in; every
            # state change is a POST, which Lax keeps from other sites, and carries a CSRF
            # token.
            samesite="lax",
            secure=cookie_secure(ctx.settings),
        )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path=f"{PREFIX}/login")
    return response


def _login_form(
    request: Request, target: str, error: str | None = None, status: int = 200, name: str = ""
) -> Response:
    # The login form has no session yet: its CSRF token is a cookie the form must echo.
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(32)
    response = page(
        request,
        "login.html",
        status,
        session=None,
        csrf=token,
        next=_safe_next(target),
        error=error,
        name=name,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        path=f"{PREFIX}/login",
        httponly=True,
        samesite="strict",
        secure=cookie_secure(context_of(request).settings),
    )
    return response


def _safe_next(target: str | None) -> str:
    """Only a path of the dashboard itself: never another site (no open redirect)."""
    if target and target.startswith(f"{PREFIX}/") and "//" not in target and "\\" not in target:
        return target
    return f"{PREFIX}/"


def login_redirect(request: Request) -> RedirectResponse:
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"{PREFIX}/login?next={quote(here)}", status_code=303)
