"""The delivery editor: create, edit, preview, count the target, prepare, proofs, delete a draft.

Every change goes through the service functions the API and the CLI call (they check the
role); the form only reads its fields. Author content is shown in a sandboxed frame only.
"""

from __future__ import annotations

import html
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from mailcast.audience.target import Target, TargetError, count_target
from mailcast.compose.templates import RenderError
from mailcast.deliveries.proofs import send_proofs, set_proof_addresses
from mailcast.deliveries.service import create_delivery, delete_delivery, edit_delivery
from mailcast.domain import EDITABLE_STATES, Action
from mailcast.prepare.preparation import prepare_delivery
from mailcast.store.deliveries import NotFound
from mailcast.users.service import PermissionDenied, authorize
from mailcast.web.api.models import PreviewOut
from mailcast.web.api.preview import render_content
from mailcast.web.api.types import PathId
from mailcast.web.dashboard import editor_view
from mailcast.web.dashboard.auth import Current, Post, Session
from mailcast.web.dashboard.editor_form import EditorForm
from mailcast.web.dashboard.forms import REFUSED, SEPARATORS, status_of
from mailcast.web.dashboard.render import PREFIX, page
from mailcast.web.requests import context_of
from mailcast.web.security import PREVIEW_CSP

router = APIRouter()

_NOTICES = {
    "created": "Draft saved. Prepare it when it is ready; send proofs from here at any time.",
    "saved": "Saved. Any prepared version is forgotten: prepare it again before sending.",
    "prepared": "Preparation finished: its findings and exclusions are below.",
    "proofs": "Proofs sent: the relay's reply to each is in the list of proofs below.",
}


# --- Pages ----------------------------------------------------------------------------------


@router.get("/deliveries/new")
def new_delivery(request: Request, session: Current) -> Response:
    try:
        authorize(session.user, Action.CREATE_DELIVERY)
    except PermissionDenied as refusal:
        return page(request, "error.html", 403, session=session, message=str(refusal))
    form = EditorForm.defaults(context_of(request).settings)
    return _form_page(request, session, form, None)


@router.post("/deliveries/new")
def create(request: Request, posted: Post) -> Response:
    form = EditorForm.posted(posted.form)
    ctx, user = context_of(request), posted.session.user
    try:
        authorize(user, Action.CREATE_DELIVERY)  # the role first, then what the form says
        delivery_id = create_delivery(ctx, user, form.draft())
    except REFUSED as refusal:
        return _form_page(request, posted.session, form, None, str(refusal), status_of(refusal))
    return RedirectResponse(f"{PREFIX}/deliveries/{delivery_id}/edit?done=created", 303)


@router.get("/deliveries/{delivery_id}/edit")
def edit_page(
    request: Request, delivery_id: PathId, session: Current, done: Annotated[str, Query()] = ""
) -> Response:
    ctx = context_of(request)
    try:
        authorize(session.user, Action.EDIT_DELIVERY)
        row = editor_view.delivery_row(ctx, delivery_id)
    except (PermissionDenied, NotFound) as refusal:
        return page(
            request, "error.html", status_of(refusal), session=session, message=str(refusal)
        )
    if row["state"] not in EDITABLE_STATES:
        message = f"a delivery in state '{row['state']}' cannot be edited; duplicate it instead"
        return page(request, "error.html", 409, session=session, message=message)
    notice = _NOTICES.get(done)
    return _form_page(request, session, EditorForm.of_row(row), delivery_id, notice=notice)


@router.post("/deliveries/{delivery_id}/edit")
def edit(request: Request, delivery_id: PathId, posted: Post) -> Response:
    """Save the form; "Save and prepare" runs the preparation on what was just saved."""
    form = EditorForm.posted(posted.form)
    ctx, user = context_of(request), posted.session.user
    then_prepare = request.query_params.get("then") == "prepare"
    try:
        authorize(user, Action.EDIT_DELIVERY)  # the role first, then what the form says
        edit_delivery(ctx, user, delivery_id, **form.changes())
        if then_prepare:
            prepare_delivery(ctx, user, delivery_id)
    except REFUSED as refusal:
        return _form_page(
            request, posted.session, form, delivery_id, str(refusal), status_of(refusal)
        )
    done = "prepared" if then_prepare else "saved"
    return RedirectResponse(f"{PREFIX}/deliveries/{delivery_id}/edit?done={done}", 303)


@router.post("/deliveries/{delivery_id}/delete")
def delete(request: Request, delivery_id: PathId, posted: Post) -> Response:
    ctx = context_of(request)
    try:
        delete_delivery(ctx, posted.session.user, delivery_id)
    except REFUSED as refusal:
        return page(
            request, "error.html", status_of(refusal), session=posted.session, message=str(refusal)
        )
    return RedirectResponse(f"{PREFIX}/?deleted={delivery_id}", 303)


@router.post("/deliveries/{delivery_id}/proofs")
def send_proofs_now(request: Request, delivery_id: PathId, posted: Post) -> Response:
    """Keep the addresses as the delivery's proof addresses, then send a proof to each.

    A plain (sync) route: FastAPI runs it in a worker thread, where `send_proofs` may block
    on the relay.
    """
    ctx, user = context_of(request), posted.session.user
    given = SEPARATORS.split(str(posted.form.get("addresses") or ""))
    try:
        addresses = set_proof_addresses(ctx, user, delivery_id, [a for a in given if a])
        send_proofs(ctx, user, delivery_id, addresses)
    except REFUSED as refusal:
        try:
            form = EditorForm.of_row(editor_view.delivery_row(ctx, delivery_id))
        except NotFound as gone:
            return page(request, "error.html", 404, session=posted.session, message=str(gone))
        return _form_page(
            request, posted.session, form, delivery_id, str(refusal), status_of(refusal)
        )
    return RedirectResponse(f"{PREFIX}/deliveries/{delivery_id}/edit?done=proofs#proofs", 303)


# --- Live parts of the form -----------------------------------------------------------------


@router.post("/deliveries/preview-draft")
def preview_draft(request: Request, posted: Post) -> Response:
    """The form's content, saved or not, for a profile: shown in the editor's sandboxed frame.

    Served under the preview's CSP (a unique origin, no script), like every author content.
    """
    form = EditorForm.posted(posted.form)
    as_text = posted.form.get("preview_view") == "text"
    try:
        authorize(posted.session.user, Action.READ_LOGS)  # it shows a profile's data
        rendered = _render(request, form)
    except (PermissionDenied, NotFound, RenderError) as refusal:
        # Said in the frame, with a 200: the author is still typing, the page stays as it is.
        body = _plain(f"No preview: {refusal}")
    else:
        shown = rendered.text if as_text or not rendered.html.strip() else None
        head = f"Subject: {rendered.subject} · To: {rendered.address or '(nobody in the target)'}"
        body = _header(head) + (_plain(shown) if shown is not None else rendered.html)
    headers = {"Content-Security-Policy": PREVIEW_CSP, "Cache-Control": "no-store"}
    return HTMLResponse(body, headers=headers)


@router.get("/deliveries/target-count.json")
def target_count(
    request: Request,
    session: Current,
    lists: Annotated[list[str], Query()] = [],  # noqa: B006 — FastAPI reads the default
    filter: Annotated[str, Query(max_length=10_000)] = "",
) -> Response:
    """How many profiles the target has now, or why it is not valid (the filter's column)."""
    try:  # a count reads the audience, as the API's list sizes do: the same role
        authorize(session.user, Action.READ_LOGS)
    except PermissionDenied as refusal:
        return JSONResponse({"error": str(refusal)}, status_code=403, headers=_NO_STORE)
    target = Target(tuple(name for name in lists if name), filter.strip() or None)
    try:
        count = count_target(context_of(request).db, target)
    except TargetError as exc:
        return JSONResponse({"error": str(exc)}, status_code=422, headers=_NO_STORE)
    return JSONResponse({"count": count}, headers=_NO_STORE)


_NO_STORE = {"Cache-Control": "no-store"}


# --- Steps ----------------------------------------------------------------------------------


def _render(request: Request, form: EditorForm) -> PreviewOut:
    ctx = context_of(request)
    email = form.preview_email.strip() or None
    try:
        return render_content(ctx, form.content(), form.target(), email)
    except TargetError:  # a target being written: the preview goes on without a sample
        return render_content(ctx, form.content(), None, email)


def _header(text: str) -> str:
    style = "font:13px sans-serif;background:#eef0f4;padding:6px 10px;margin:0 0 8px"
    return f'<!doctype html><meta charset="utf-8"><div style="{style}">{html.escape(text)}</div>'


def _plain(text: str) -> str:
    return f'<pre style="white-space:pre-wrap;font:13px monospace">{html.escape(text)}</pre>'


def _form_page(
    request: Request,
    session: Session,
    form: EditorForm,
    delivery_id: int | None,
    error: str | None = None,
    status: int = 200,
    *,
    notice: str | None = None,
) -> Response:
    ctx = context_of(request)
    try:
        shown = editor_view.editor_page(ctx, session.user, form, delivery_id)
    except NotFound as gone:  # deleted meanwhile, or never there: no form to show it in
        return page(request, "error.html", 404, session=session, message=str(gone))
    return page(
        request,
        "delivery_form.html",
        status,
        session=session,
        view=shown,
        form=form,
        error=error,
        notice=notice,
    )
