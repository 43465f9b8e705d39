"""Who am I; users, their roles, passwords and API tokens (admin)."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from mailcast.context import Context
from mailcast.domain import Action
from mailcast.store.deliveries import NotFound
from mailcast.users import service
from mailcast.users.service import User
from mailcast.web.api.admin_models import (
    MeOut,
    PasswordIn,
    RolesIn,
    TokenCreated,
    TokenIn,
    TokenOut,
    UserIn,
    UserOut,
)
from mailcast.web.api.types import Ctx, PathId
from mailcast.web.auth import CurrentUser, UserAdmin
from mailcast.web.problems import problem

me_router = APIRouter(tags=["users"])
router = APIRouter(prefix="/users", tags=["users"])


@me_router.get("/me", summary="Who am I: my user, my roles and what they allow")
def me(user: CurrentUser) -> MeOut:
    actions = [action.value for action in Action if service.may(user, action)]
    return MeOut(id=user.id, name=user.name, roles=sorted(user.roles), actions=actions)


@router.get("", summary="List users (admin)")
def list_users(ctx: Ctx, _admin: UserAdmin) -> list[UserOut]:
    return [_user_out(user) for user in service.list_users(ctx.db)]


@router.post("", summary="Create a user (admin)", status_code=status.HTTP_201_CREATED)
def create_user(ctx: Ctx, _admin: UserAdmin, body: UserIn) -> UserOut:
    return _user_out(service.add_user(ctx.db, body.name, body.roles, body.password, ctx.clock))


@router.get("/{user_id}", summary="Read a user (admin)")
def get_user(ctx: Ctx, _admin: UserAdmin, user_id: PathId) -> UserOut:
    return _user_out(_target(ctx, user_id))


@router.put("/{user_id}/roles", summary="Set a user's roles, exactly these (admin)")
def set_roles(ctx: Ctx, _admin: UserAdmin, user_id: PathId, body: RolesIn) -> UserOut:
    return _user_out(service.set_roles(ctx.db, _target(ctx, user_id).name, body.roles))


@router.put(
    "/{user_id}/password",
    summary="Set or remove a user's password (admin); the user's sessions end",
    status_code=status.HTTP_204_NO_CONTENT,
)
def set_password(ctx: Ctx, _admin: UserAdmin, user_id: PathId, body: PasswordIn) -> Response:
    service.set_password(ctx.db, _target(ctx, user_id).name, body.password)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{user_id}/disable",
    summary="Disable a user: no login, no token (admin)",
    status_code=status.HTTP_204_NO_CONTENT,
)
def disable(ctx: Ctx, _admin: UserAdmin, user_id: PathId) -> Response:
    service.set_disabled(ctx.db, _target(ctx, user_id).name, True)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{user_id}/enable",
    summary="Enable a disabled user again (admin)",
    status_code=status.HTTP_204_NO_CONTENT,
)
def enable(ctx: Ctx, _admin: UserAdmin, user_id: PathId) -> Response:
    service.set_disabled(ctx.db, _target(ctx, user_id).name, False)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{user_id}/tokens",
    summary="Issue an API token for a user (admin); it is shown once",
    status_code=status.HTTP_201_CREATED,
)
def create_token(ctx: Ctx, _admin: UserAdmin, user_id: PathId, body: TokenIn) -> TokenCreated:
    token = service.create_token(ctx.db, _target(ctx, user_id), body.label, ctx.clock)
    return TokenCreated(token=token, label=body.label)


@router.get("/{user_id}/tokens", summary="A user's API tokens, never their values (admin)")
def list_tokens(ctx: Ctx, _admin: UserAdmin, user_id: PathId) -> list[TokenOut]:
    tokens = service.list_tokens(ctx.db, _target(ctx, user_id).name)
    return [TokenOut.model_validate(token) for token in tokens]


@router.delete(
    "/{user_id}/tokens/{token_id}",
    summary="Revoke one of a user's API tokens (admin)",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={404: {"description": "No such live token."}},
)
def revoke_token(ctx: Ctx, _admin: UserAdmin, user_id: PathId, token_id: PathId) -> Response:
    name = _target(ctx, user_id).name
    if not service.revoke_token_id(ctx.db, name, token_id, ctx.clock):
        return problem(404, "Not Found", f"user '{name}' has no live token {token_id}")
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def _target(ctx: Context, user_id: int) -> User:
    user = service.get_user_by_id(ctx.db, user_id)
    if user is None:
        raise NotFound(f"no user {user_id}")
    return user


def _user_out(user: User) -> UserOut:
    return UserOut(id=user.id, name=user.name, roles=sorted(user.roles))
