"""Who is acting on the API: the owner of a Bearer API token, or of a dashboard session.

A session rides on a cookie, which the browser sends by itself: so a session request that
changes something must also carry the session's CSRF token in `X-CSRF-Token`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer

from mailcast.context import Context
from mailcast.domain import Action
from mailcast.users.service import User, authenticate_token, authorize
from mailcast.users.sessions import SESSION_COOKIE, csrf_matches, session_user
from mailcast.web.problems import CsrfRefused, Unauthenticated
from mailcast.web.requests import context_of

CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="token",
    description="An API token (`mailcast users token NAME`, or POST /api/users/{id}/tokens).",
)
session_cookie = APIKeyCookie(
    name=SESSION_COOKIE,
    auto_error=False,
    scheme_name="session",
    description=f"The dashboard's session; unsafe methods also need the {CSRF_HEADER} header.",
)


def acting_user(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)],
    session: Annotated[str | None, Security(session_cookie)],
) -> User:
    """The enabled user the request's credential names (a token first); 401 otherwise."""
    ctx = context_of(request)
    if credentials is not None:
        return _token_user(ctx, credentials.credentials)
    if session:
        return _session_user(ctx, request, session)
    raise Unauthenticated("send an API token as 'Authorization: Bearer <token>'")


def _token_user(ctx: Context, token: str) -> User:
    user = authenticate_token(ctx.db, token)
    if user is None:
        raise Unauthenticated("the API token is unknown or revoked, or its user is disabled")
    return user


def _session_user(ctx: Context, request: Request, token: str) -> User:
    found = session_user(ctx, token)
    if found is None:
        raise Unauthenticated("the session is unknown or has ended: log in again")
    user, csrf = found
    if request.method not in SAFE_METHODS and not csrf_matches(
        csrf, request.headers.get(CSRF_HEADER)
    ):
        raise CsrfRefused(f"a request made with a session must send its {CSRF_HEADER} header")
    return user


CurrentUser = Annotated[User, Depends(acting_user)]


def allowed(action: Action) -> Callable[[User], User]:
    """A dependency: the acting user, once their roles allow `action` (403 naming the role).

    For the routes whose service function does not check a role itself (reading logs,
    statistics, history; user management): the check is made here, in one place.
    """

    def check(user: CurrentUser) -> User:
        authorize(user, action)
        return user

    check.__name__ = f"allowed_{action.value}"
    return check


LogReader = Annotated[User, Depends(allowed(Action.READ_LOGS))]
UserAdmin = Annotated[User, Depends(allowed(Action.MANAGE_USERS))]
