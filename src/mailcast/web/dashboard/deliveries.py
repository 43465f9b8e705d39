"""The deliveries list, the delivery page, its actions, its live Deployment block and preview.

Every action is a POST carrying the session's CSRF token (actions.py says what each does); a
refusal is shown on the delivery page with its HTTP status.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from mailcast.domain import DeliveryState, missing_role
from mailcast.store.deliveries import NotFound
from mailcast.store.delivery_search import DeliverySearch
from mailcast.users.service import User
from mailcast.web.api.types import MAX_ID
from mailcast.web.dashboard import delivery_list, views
from mailcast.web.dashboard.actions import BUTTONS, Button
from mailcast.web.dashboard.auth import Current, Post, Session
from mailcast.web.dashboard.forms import REFUSED, status_of
from mailcast.web.dashboard.render import PREFIX, page
from mailcast.web.requests import context_of
from mailcast.web.security import PREVIEW_CSP

router = APIRouter()

# A refused action: how it is answered.


# --- Pages ----------------------------------------------------------------------------------


@router.get("/")
def deliveries_list(
    request: Request,
    session: Current,
    search: Annotated[str, Query(max_length=200)] = "",
    state: Annotated[str, Query()] = "",
    before: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> Response:
    """Search, one state, older pages; recurring occurrences grouped (delivery_list.py)."""
    wanted = next((s for s in DeliveryState if s == state), None)
    shown = delivery_list.listing(context_of(request), DeliverySearch(search, wanted), before)
    return page(
        request, "deliveries.html", session=session, listing=shown, states=list(DeliveryState)
    )


@router.get("/deliveries/{delivery_id}")
def delivery_view(
    request: Request,
    delivery_id: int,
    session: Current,
    tab: Annotated[str, Query()] = "sending",
    after: Annotated[int, Query(ge=0)] = 0,
    done: Annotated[str, Query()] = "",
    who: Annotated[str, Query(max_length=10)] = "",
) -> Response:
    notice = BUTTONS[done].done if done in BUTTONS else None
    return _delivery_page(request, session, delivery_id, tab, after, who, notice=notice)


@router.get("/deliveries/{delivery_id}/figures")
def delivery_figures(
    request: Request,
    delivery_id: int,
    session: Current,
    tab: Annotated[str, Query()] = "sending",
    after: Annotated[int, Query(ge=0)] = 0,
    who: Annotated[str, Query(max_length=10)] = "",
) -> Response:
    """The page's figures alone (block, charts, log), as its live script swaps them in whole."""
    try:
        shown = views.delivery_page(context_of(request), session.user, delivery_id, tab, after, who)
    except NotFound as exc:
        return JSONResponse({"error": str(exc)}, status_code=404)
    return page(request, "delivery_figures.html", session=session, view=shown)


@router.post("/deliveries/{delivery_id}/{name}")
def delivery_action(request: Request, delivery_id: int, name: str, posted: Post) -> Response:
    button = BUTTONS.get(name)
    if button is None:
        return _delivery_page(
            request, posted.session, delivery_id, error="No such action.", status=404
        )
    try:
        shown = button.run(context_of(request), posted.session.user, delivery_id, posted.form)
    except REFUSED as refusal:
        return _delivery_page(
            request, posted.session, delivery_id, error=str(refusal), status=status_of(refusal)
        )
    target = shown if shown is not None else delivery_id
    return RedirectResponse(f"{PREFIX}/deliveries/{target}?done={name}", status_code=303)


@router.get("/deliveries/{delivery_id}/deployment.json")
def deployment_json(request: Request, delivery_id: int, session: Current) -> Response:
    try:
        block = views.deployment_json(context_of(request), delivery_id)
    except NotFound as exc:
        return JSONResponse({"error": str(exc)}, status_code=404)
    return JSONResponse(block, headers={"Cache-Control": "no-store"})


@router.get("/deliveries/{delivery_id}/preview")
def preview(request: Request, delivery_id: int, session: Current) -> Response:
    """The message alone, under a CSP that sandboxes it: no script runs, whatever it holds."""
    try:
        html = views.preview_html(context_of(request), delivery_id)
    except NotFound:
        html, status = "<!doctype html><p>No such delivery.</p>", 404
    else:
        status = 200
    headers = {"Content-Security-Policy": PREVIEW_CSP, "Cache-Control": "no-store"}
    return HTMLResponse(html, status_code=status, headers=headers)


# --- Steps ----------------------------------------------------------------------------------


def _delivery_page(
    request: Request,
    session: Session,
    delivery_id: int,
    tab: str = "sending",
    after: int = 0,
    who: str = "",
    *,
    notice: str | None = None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    ctx = context_of(request)
    try:
        shown = views.delivery_page(ctx, session.user, delivery_id, tab, after, who)
    except NotFound as exc:
        return page(request, "error.html", 404, session=session, message=str(exc))
    return page(
        request,
        "delivery.html",
        status,
        session=session,
        view=shown,
        buttons=_offered(session.user, shown.deployment.state),
        notice=notice,
        error=error,
    )


@dataclass(frozen=True)
class Offered:
    name: str
    button: Button
    missing: str | None  # the role the user lacks: the button shows disabled, saying so


def _offered(user: User, state: DeliveryState) -> list[Offered]:
    offered = []
    for name, button in BUTTONS.items():
        if state in button.states:
            role = missing_role(user.roles, button.action)
            offered.append(Offered(name, button, role.value if role else None))
    return offered
