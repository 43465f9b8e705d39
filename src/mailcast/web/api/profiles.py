"""Profiles and lists: read, add one, import a CSV file; a profile's history."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import IO, Annotated

from fastapi import APIRouter, Depends, Query, Request, status
from sqlalchemy import Connection, RowMapping
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from mailcast.audience.csv_import import ImportFailed, add_profile, import_profiles
from mailcast.audience.subscriptions import set_subscription
from mailcast.domain import Action
from mailcast.stats.history import profile_history
from mailcast.store import history as history_store
from mailcast.store import profiles as store
from mailcast.store.deliveries import NotFound
from mailcast.users.service import User
from mailcast.web.api.audience_models import (
    HistoryOut,
    ImportOut,
    ListOut,
    ProfileIn,
    ProfileOut,
    SubscriptionIn,
    SubscriptionOut,
)
from mailcast.web.api.models import Address, Name, Page
from mailcast.web.api.types import After, Ctx, Limit, PathId
from mailcast.web.auth import CurrentUser, LogReader, allowed

router = APIRouter(tags=["profiles"])
Importer = Annotated[User, Depends(allowed(Action.IMPORT_PROFILES))]
EmailQuery = Annotated[Address, Query(description="The profile's email address.")]

_COPY_CHUNK = 1 << 20
_UPLOAD_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["file"],
                "properties": {"file": {"type": "string", "format": "binary"}},
            }
        }
    },
}


@router.get("/lists", summary="Lists, with their number of profiles")
def lists(ctx: Ctx, _user: LogReader) -> list[ListOut]:
    with ctx.db.read() as conn:
        sizes = store.list_sizes(conn)
    return [ListOut(name=name, size=size) for name, size in sorted(sizes.items())]


@router.get("/profiles", summary="Profiles by id (keyset pages)")
def list_profiles(
    ctx: Ctx, _user: LogReader, after: After = 0, limit: Limit = 100
) -> Page[ProfileOut]:
    with ctx.db.read() as conn:
        rows = store.profiles_page(conn, after, limit)
    items = [ProfileOut.model_validate(row) for row in rows]
    return Page(items=items, next=items[-1].id if len(items) == limit else None)


@router.get(
    "/profiles/by-email",
    summary="Read the profile that holds an address (compared without case)",
)
def profile_by_email(ctx: Ctx, _user: LogReader, email: EmailQuery) -> ProfileOut:
    with ctx.db.read() as conn:
        row = history_store.profile_by_address(conn, email)
        if row is None:
            raise NotFound(f"no profile has the address {email!r}")
        return _profile_out(conn, row)


@router.get(
    "/profiles/history",
    summary="A profile's history: every delivery that targeted it and what became of it",
)
def history(ctx: Ctx, _user: LogReader, email: EmailQuery) -> HistoryOut:
    return HistoryOut.model_validate(profile_history(ctx, email))


@router.get("/profiles/{profile_id}", summary="Read a profile and its lists")
def get_profile(ctx: Ctx, _user: LogReader, profile_id: PathId) -> ProfileOut:
    with ctx.db.read() as conn:
        row = store.get_profile(conn, profile_id)
        if row is None:
            raise NotFound(f"no profile {profile_id}")
        return _profile_out(conn, row)


@router.post(
    "/profiles",
    summary="Add one profile (merged into the profile that holds its address, if any)",
    status_code=status.HTTP_201_CREATED,
)
def create_profile(ctx: Ctx, _user: Importer, body: ProfileIn) -> ProfileOut:
    profile_id = add_profile(
        ctx.db,
        ctx.clock,
        body.email,
        first_name=body.first_name,
        last_name=body.last_name,
        attributes=body.attributes,
        lists=tuple(body.lists),
    )
    return get_profile(ctx, _user, profile_id)


@router.put(
    "/profiles/{profile_id}/subscription",
    summary="Unsubscribe or resubscribe a profile, saying why (admin)",
    description="Unsubscribed means on the email denylist. The reason is kept with the change "
    "and shown with the profile's history; a change to what the profile already is: 422.",
)
def change_subscription(
    ctx: Ctx, user: CurrentUser, profile_id: PathId, body: SubscriptionIn
) -> SubscriptionOut:
    change = set_subscription(ctx, user, profile_id, body.subscribed, body.reason)
    return SubscriptionOut.model_validate(change)


@router.post(
    "/profiles/import",
    summary="Import profiles from a CSV file into a list; errors are reported by line",
    description="Upload the file as multipart/form-data field `file`. Rows are merged by "
    "address; subscription states are never changed.",
    openapi_extra={"requestBody": _UPLOAD_BODY},
)
async def import_csv(
    request: Request,
    ctx: Ctx,
    _user: Importer,
    list_name: Annotated[Name, Query(alias="list", description="The list to import into.")],
) -> ImportOut:
    # The role is checked (above) before the upload is read: a refused import stores nothing.
    async with request.form(max_files=1, max_fields=10) as form:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise ImportFailed("send the CSV file as the multipart form field 'file'")
        path = await run_in_threadpool(spool_upload, upload.file)
    try:
        report = await run_in_threadpool(import_profiles, ctx.db, path, list_name, ctx.clock)
    finally:
        path.unlink(missing_ok=True)
    return ImportOut.model_validate({"list_name": list_name, **vars(report)})


def spool_upload(source: IO[bytes]) -> Path:
    """Copy the upload to a file of its own, a chunk at a time (the import reads a path)."""
    with tempfile.NamedTemporaryFile(prefix="mailcast-import-", suffix=".csv", delete=False) as f:
        shutil.copyfileobj(source, f, _COPY_CHUNK)
    return Path(f.name)


def _profile_out(conn: Connection, row: RowMapping) -> ProfileOut:
    return ProfileOut.model_validate({**row, "lists": store.lists_of(conn, row["id"])})
