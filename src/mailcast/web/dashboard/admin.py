"""The dashboard's users page (admin): add a user, set their roles, issue and revoke API tokens.

The same service functions as `mailcast user ...` and /api/users; the role check is the API's
(`manage_users`, granted by `admin`), made here before each of them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from mailcast.context import Context
from mailcast.domain import Action, Role
from mailcast.users import service
from mailcast.users.service import PermissionDenied, TokenInfo, User, UserError, authorize
from mailcast.web.api.types import PathId
from mailcast.web.dashboard.auth import Current, Post, Session
from mailcast.web.dashboard.forms import refused
from mailcast.web.dashboard.render import PREFIX, page
from mailcast.web.requests import context_of

router = APIRouter()

_Change = Callable[[], User]  # a service call that returns the user it changed

# What the page says after a change: the redirect names the change and the user's id, the
# page words it with the name it looks up (nothing the URL says is shown as it is).
DONE = {
    "added": "User {name} added.",
    "roles": "The roles of {name} are set.",
    "revoked": "A token of {name} is revoked: it opens nothing any more.",
}


@dataclass(frozen=True)
class Account:
    """One row of the users table: the user and their API tokens (never their values)."""

    user: User
    tokens: list[TokenInfo]


@router.get("/users")
def users(request: Request, session: Current) -> Response:
    done, user_id = request.query_params.get("done", ""), request.query_params.get("user", "")
    user = None
    if done in DONE and user_id.isdigit() and len(user_id) <= 19:  # an id a column can hold
        user = service.get_user_by_id(context_of(request).db, int(user_id))
    notice = DONE[done].format(name=user.name) if user is not None else None
    return _page(request, session, notice=notice)


@router.post("/users")
def add(request: Request, posted: Post) -> Response:
    form = posted.form
    name = str(form.get("name") or "").strip()
    password = str(form.get("password") or "") or None  # none: the user works by API token
    roles = [str(role) for role in form.getlist("role")]
    ctx = context_of(request)
    return _run(
        request,
        posted.session,
        lambda: service.add_user(ctx.db, name, roles, password, ctx.clock),
        "added",
    )


@router.post("/users/{user_id}/roles")
def set_roles(request: Request, posted: Post, user_id: PathId) -> Response:
    """Exactly the roles ticked in the row (none ticked: the user keeps no role)."""
    roles = [str(role) for role in posted.form.getlist("role")]
    ctx = context_of(request)
    return _run(
        request,
        posted.session,
        lambda: service.set_roles(ctx.db, _target(ctx, user_id).name, roles),
        "roles",
    )


@router.post("/users/{user_id}/tokens")
def issue_token(request: Request, posted: Post, user_id: PathId) -> Response:
    """A new token is shown on this answer only (never put in a URL), as the CLI prints it."""
    ctx, label = context_of(request), str(posted.form.get("label") or "").strip() or None
    try:
        authorize(posted.session.user, Action.MANAGE_USERS)
        user = _target(ctx, user_id)
        token = service.create_token(ctx.db, user, label, ctx.clock)
    except (PermissionDenied, UserError) as exc:
        return refused(_page, request, posted.session, exc)
    return _page(request, posted.session, issued=(user.name, token))


@router.post("/users/{user_id}/tokens/{token_id}/revoke")
def revoke(request: Request, posted: Post, user_id: PathId, token_id: PathId) -> Response:
    ctx = context_of(request)

    def run() -> User:
        user = _target(ctx, user_id)
        if not service.revoke_token_id(ctx.db, user.name, token_id, ctx.clock):
            raise UserError(f"user '{user.name}' has no live token {token_id}")
        return user

    return _run(request, posted.session, run, "revoked")


# --- Steps ----------------------------------------------------------------------------------


def _run(request: Request, session: Session, change: _Change, done: str) -> Response:
    """The role check, then the change; back to the list, or the page saying why not."""
    try:
        authorize(session.user, Action.MANAGE_USERS)
        user = change()
    except (PermissionDenied, UserError) as exc:
        return refused(_page, request, session, exc)
    return RedirectResponse(f"{PREFIX}/users?done={done}&user={user.id}", status_code=303)


def _target(ctx: Context, user_id: int) -> User:
    user = service.get_user_by_id(ctx.db, user_id)
    if user is None:
        raise UserError(f"no user {user_id}")
    return user


def _page(
    request: Request,
    session: Session,
    *,
    notice: str | None = None,
    error: str | None = None,
    code: int = 200,
    issued: tuple[str, str] | None = None,
) -> Response:
    ctx, accounts = context_of(request), []
    try:
        authorize(session.user, Action.MANAGE_USERS)
        accounts = [
            Account(user, service.list_tokens(ctx.db, user.name))
            for user in service.list_users(ctx.db)
        ]
    except PermissionDenied as exc:
        error, code = error or str(exc), 403
    return page(
        request,
        "users.html",
        code,
        session=session,
        accounts=accounts,
        roles=[role.value for role in Role],
        notice=notice,
        error=error,
        refused=code == 403,
        issued=issued,
    )
