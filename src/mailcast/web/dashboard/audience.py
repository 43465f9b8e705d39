"""The audience in the dashboard: lists and their sizes, CSV import, a profile's page.

The import is the API's: the same service, the upload streamed to disk under the same cap
(web/limits.py), the role checked before a byte of it is read. A profile's page shows its
attributes, lists, subscription, address state and history (complaints included); an admin
unsubscribes or resubscribes it there, saying why.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from mailcast.audience.csv_import import MAX_ERROR_DETAILS, ImportFailed, ImportReport
from mailcast.audience.csv_import import import_profiles as import_service
from mailcast.audience.subscriptions import SubscriptionError, set_subscription
from mailcast.domain import Action, missing_role
from mailcast.store import history as history_store
from mailcast.store import profiles as profile_store
from mailcast.store.deliveries import NotFound
from mailcast.users.service import PermissionDenied, authorize
from mailcast.users.sessions import csrf_matches
from mailcast.web.api.profiles import spool_upload
from mailcast.web.api.types import PathId
from mailcast.web.dashboard import audience_views
from mailcast.web.dashboard.auth import CsrfFailed, Current, Post, Session, current_session
from mailcast.web.dashboard.forms import missing, text
from mailcast.web.dashboard.render import PREFIX, page
from mailcast.web.requests import context_of

router = APIRouter()

IMPORT_PATH = f"{PREFIX}/audience/import"  # streamed, under web.max_upload_bytes
ERRORS_SHOWN = 200  # line errors listed on the page; the count says how many there were
_MAX_LIST_NAME = 200
_DONE = {
    "unsubscribed": "Unsubscribed: no delivery is sent to this profile; the reason is kept.",
    "resubscribed": "Resubscribed: deliveries reach this profile again; the reason is kept.",
}


@router.get("/audience")
def audience(request: Request, session: Current) -> Response:
    return _audience_page(request, session)


@router.post("/audience/import")
async def import_csv(request: Request) -> Response:
    """Import the uploaded CSV into the list named; the page shows the result and line errors."""
    session = await current_session(request)
    try:  # before the upload is read: a refused import reads and stores nothing
        authorize(session.user, Action.IMPORT_PROFILES)
    except PermissionDenied as exc:
        return await run_in_threadpool(_audience_page, request, session, error=str(exc), code=403)
    async with request.form(max_files=1, max_fields=10) as form:
        if not csrf_matches(session.csrf, text(form.get("csrf"))):
            raise CsrfFailed()
        list_name = text(form.get("list")).strip()
        upload = form.get("file")
        error = _import_refusal(list_name, upload)
        if error is not None or not isinstance(upload, UploadFile):
            return await run_in_threadpool(
                _audience_page, request, session, error=error, code=422, list_name=list_name
            )
        path = await run_in_threadpool(spool_upload, upload.file)
    ctx = context_of(request)
    try:
        report = await run_in_threadpool(import_service, ctx.db, path, list_name, ctx.clock)
    except ImportFailed as exc:
        return await run_in_threadpool(
            _audience_page, request, session, error=str(exc), code=422, list_name=list_name
        )
    finally:
        path.unlink(missing_ok=True)
    return await run_in_threadpool(
        _audience_page, request, session, report=report, list_name=list_name
    )


@router.get("/audience/profiles")
def find_profile(
    request: Request, session: Current, email: Annotated[str, Query(max_length=320)] = ""
) -> Response:
    """The profile holding the address (compared without case), or the audience page saying
    that none does."""
    try:  # the API's profile_by_email needs the same role: a lookup tells who is known
        authorize(session.user, Action.READ_LOGS)
    except PermissionDenied as exc:
        return _audience_page(request, session, error=str(exc), code=403, email=email)
    with context_of(request).db.read() as conn:
        row = history_store.profile_by_address(conn, email) if email.strip() else None
    if row is None:
        error = f"No profile has the address {email!r}." if email.strip() else "Give an address."
        return _audience_page(request, session, error=error, code=404, email=email)
    return RedirectResponse(f"{PREFIX}/audience/profiles/{row['id']}", status_code=303)


@router.get("/audience/profiles/{profile_id}")
def profile(
    request: Request, profile_id: PathId, session: Current, done: Annotated[str, Query()] = ""
) -> Response:
    return _profile_page(request, session, profile_id, notice=_DONE.get(done))


@router.post("/audience/profiles/{profile_id}/subscription")
def change_subscription(request: Request, profile_id: PathId, posted: Post) -> Response:
    """Unsubscribe or resubscribe (the form says which: a second post does not undo it)."""
    subscribed = posted.form.get("subscribed") == "yes"
    reason = text(posted.form.get("reason"))
    try:
        set_subscription(context_of(request), posted.session.user, profile_id, subscribed, reason)
    except PermissionDenied as exc:
        return _profile_page(request, posted.session, profile_id, error=str(exc), code=403)
    except SubscriptionError as exc:
        return _profile_page(request, posted.session, profile_id, error=str(exc), code=422)
    except NotFound as exc:
        return page(request, "error.html", 404, session=posted.session, message=str(exc))
    done = "resubscribed" if subscribed else "unsubscribed"
    return RedirectResponse(f"{PREFIX}/audience/profiles/{profile_id}?done={done}", status_code=303)


# --- Steps ----------------------------------------------------------------------------------


def _import_refusal(list_name: str, upload: object) -> str | None:
    if not list_name:
        return "Name the list to import into."
    if len(list_name) > _MAX_LIST_NAME:
        return f"A list's name is at most {_MAX_LIST_NAME} characters long."
    if not isinstance(upload, UploadFile) or not upload.filename:
        return "Choose the CSV file to import."
    return None


# What the audience pages offer, and the action whose role each needs (greyed out without).
_OFFERED = {
    "missing_import": Action.IMPORT_PROFILES,
    "missing_read": Action.READ_LOGS,
    "missing_change": Action.CHANGE_SUBSCRIPTION,
}


def _audience_page(
    request: Request,
    session: Session,
    *,
    report: ImportReport | None = None,
    list_name: str = "",
    email: str = "",
    error: str | None = None,
    code: int = 200,
) -> Response:
    sizes: list[tuple[str, int]] = []
    if missing_role(session.user.roles, Action.READ_LOGS) is None:  # as the API's /lists
        with context_of(request).db.read() as conn:
            sizes = sorted(profile_store.list_sizes(conn).items())
    return page(
        request,
        "audience.html",
        code,
        session=session,
        lists=sizes,
        report=report,
        list_name=list_name,
        email=email,
        errors_shown=ERRORS_SHOWN,
        max_error_details=MAX_ERROR_DETAILS,
        import_path=IMPORT_PATH,
        error=error,
        **missing(session.user, _OFFERED),
    )


def _profile_page(
    request: Request,
    session: Session,
    profile_id: PathId,
    *,
    notice: str | None = None,
    error: str | None = None,
    code: int = 200,
) -> Response:
    try:
        authorize(session.user, Action.READ_LOGS)  # a profile's history is read from the logs
        shown = audience_views.profile_view(context_of(request), profile_id)
    except PermissionDenied as exc:
        return _audience_page(request, session, error=str(exc), code=403)
    except NotFound as exc:
        return page(request, "error.html", 404, session=session, message=str(exc))
    return page(
        request,
        "profile.html",
        code,
        session=session,
        p=shown,
        notice=notice,
        error=error,
        **missing(session.user, _OFFERED),
    )
