"""Recurring deliveries in the dashboard: list, create, edit, switch on/off, confirm occurrences.

Every change goes through the recurring service, which checks the roles (the same refusal as
the API's and the CLI's); the roles named here only grey out what the user may not do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from mailcast.context import Context
from mailcast.deliveries.errors import DeliveryError
from mailcast.domain import Action, DeliveryState, missing_role
from mailcast.recurring import service
from mailcast.recurring.recurrence import RecurrenceError, zone_named
from mailcast.recurring.words import describe, preview
from mailcast.store import profiles as profile_store
from mailcast.store.deliveries import NotFound
from mailcast.web.api.types import MAX_ID, PathId
from mailcast.web.dashboard import views
from mailcast.web.dashboard.auth import Current, Post, Session
from mailcast.web.dashboard.forms import REFUSED, missing, status_of, zone_names
from mailcast.web.dashboard.recurring_form import (
    AGGREGATIONS,
    WEEKDAYS,
    RecurringForm,
    form_of,
    read_form,
)
from mailcast.web.dashboard.render import PREFIX, in_zone, page
from mailcast.web.requests import context_of

router = APIRouter()

# States in which an occurrence's delivery waits for someone to confirm it.
WAITING = frozenset({DeliveryState.PENDING_CONFIRMATION, DeliveryState.APPROVED})
# What the pages offer, and the action whose role each needs (greyed out without it).
_OFFERED = {"missing_edit": Action.EDIT_DELIVERY, "missing": Action.CONFIRM_OCCURRENCE}
_DONE = {
    "created": "Recurring delivery created.",
    "saved": "Changes saved: the next occurrences follow them.",
    "on": "Switched on: it resumes at its next occurrence.",
    "off": "Switched off: no occurrence comes due until it is switched on again.",
    "confirmed": "Occurrence confirmed: sending.",
}


@dataclass(frozen=True)
class Schedule:
    words: str  # "every Monday at 09:00, Europe/Paris"
    dates: list[str]  # the next five, in the recurring delivery's zone
    error: str | None = None


@router.get("/recurring")
def recurring_list(
    request: Request, session: Current, done: Annotated[str, Query()] = ""
) -> Response:
    """Recurring deliveries, their recurrence in words and latest occurrences."""
    ctx = context_of(request)
    overview = views.recurring_overview(ctx)
    words = {
        v.recurring.id: describe(v.recurring.recurrence, v.recurring.timezone) for v in overview
    }
    return page(
        request,
        "recurring.html",
        session=session,
        recurring=overview,
        words=words,
        waiting=WAITING,
        local=in_zone,
        notice=_DONE.get(done),
        **missing(session.user, _OFFERED),
    )


@router.get("/recurring/new")
def new_form(request: Request, session: Current) -> Response:
    return _form_page(request, session, None, RecurringForm(), fresh=True)


@router.post("/recurring/preview")
def preview_form(
    request: Request,
    posted: Post,
    recurring_id: Annotated[int | None, Query(alias="id", ge=1, le=MAX_ID)] = None,
) -> Response:
    """The form again, as typed, with its recurrence in words and next dates: nothing saved."""
    return _form_page(request, posted.session, recurring_id, read_form(posted.form))


@router.post("/recurring/new")
def create(request: Request, posted: Post) -> Response:
    filled = read_form(posted.form)
    ctx = context_of(request)
    try:
        recurring_id = service.create_recurring(ctx, posted.session.user, filled.spec())
    except REFUSED as refusal:
        return _form_page(request, posted.session, None, filled, refusal)
    return _done(recurring_id, "created")


@router.get("/recurring/{recurring_id}")
def detail(
    request: Request, recurring_id: PathId, session: Current, done: Annotated[str, Query()] = ""
) -> Response:
    return _detail_page(request, session, recurring_id, notice=_DONE.get(done))


@router.get("/recurring/{recurring_id}/edit")
def edit_form(request: Request, recurring_id: PathId, session: Current) -> Response:
    try:
        recurring = service.get_recurring(context_of(request), recurring_id)
    except NotFound as exc:
        return page(request, "error.html", 404, session=session, message=str(exc))
    return _form_page(request, session, recurring_id, form_of(recurring))


@router.post("/recurring/{recurring_id}/edit")
def edit(request: Request, recurring_id: PathId, posted: Post) -> Response:
    filled = read_form(posted.form)
    ctx = context_of(request)
    try:
        stored = service.get_recurring(ctx, recurring_id).template
        service.edit_recurring(ctx, posted.session.user, recurring_id, filled.spec(stored))
    except REFUSED as refusal:
        return _form_page(request, posted.session, recurring_id, filled, refusal)
    return _done(recurring_id, "saved")


@router.post("/recurring/{recurring_id}/active")
def switch(request: Request, recurring_id: PathId, posted: Post) -> Response:
    """Switch on or off (the form says which: a second click does not undo the first)."""
    active = posted.form.get("active") == "on"
    try:
        service.set_recurring_active(context_of(request), posted.session.user, recurring_id, active)
    except REFUSED as refusal:
        return _detail_page(request, posted.session, recurring_id, refusal=refusal)
    return _done(recurring_id, "on" if active else "off")


@router.post("/recurring/{recurring_id}/confirm/{delivery_id}")
def confirm(request: Request, recurring_id: PathId, delivery_id: PathId, posted: Post) -> Response:
    """Confirm an occurrence waiting for it, or approved: the same service as the API's."""
    try:
        service.confirm_occurrence(context_of(request), posted.session.user, delivery_id)
    except REFUSED as refusal:
        return _detail_page(request, posted.session, recurring_id, refusal=refusal)
    return _done(recurring_id, "confirmed")


# --- Steps ----------------------------------------------------------------------------------


def _done(recurring_id: int, what: str) -> Response:
    return RedirectResponse(f"{PREFIX}/recurring/{recurring_id}?done={what}", status_code=303)


def schedule_of(ctx: Context, recurrence: str, timezone: str) -> Schedule:
    """The recurrence in words and its next five dates, or what is wrong with it."""
    try:
        shown = preview(recurrence, timezone, ctx.clock.now())
    except RecurrenceError as exc:
        return Schedule("", [], str(exc))
    zone = zone_named(timezone)
    return Schedule(shown.words, [in_zone(d, zone.key) for d in shown.dates])


def _form_page(
    request: Request,
    session: Session,
    recurring_id: int | None,
    filled: RecurringForm,
    refusal: Exception | None = None,
    *,
    fresh: bool = False,  # nothing typed yet: the page fills in the browser's time zone
) -> Response:
    ctx = context_of(request)
    try:
        recurrence = filled.recurrence
    except DeliveryError as exc:
        schedule = Schedule("", [], str(exc))
    else:
        schedule = schedule_of(ctx, recurrence, filled.zone)  # the zone spec() gives too
    sizes: dict[str, int | None] = {}
    unread = missing_role(session.user.roles, Action.READ_LOGS)
    if unread is None:  # the sizes need the role of the API's /lists
        with ctx.db.read() as conn:
            sizes.update(profile_store.list_sizes(conn))
    for name in filled.lists:  # a list the form names stays ticked, its size unsaid
        sizes.setdefault(name, None)
    return page(
        request,
        "recurring_form.html",
        status_of(refusal) if refusal else 200,
        session=session,
        recurring_id=recurring_id,
        form=filled,
        schedule=schedule,
        list_sizes=sorted(sizes.items()),
        lists_hidden=unread.value if unread else None,
        weekdays=WEEKDAYS,
        aggregations=AGGREGATIONS,
        zones=zone_names(),
        error=str(refusal) if refusal else None,
        fresh=fresh,
        **missing(session.user, _OFFERED),
    )


def _detail_page(
    request: Request,
    session: Session,
    recurring_id: int,
    *,
    notice: str | None = None,
    refusal: Exception | None = None,
) -> Response:
    ctx = context_of(request)
    try:
        recurring = service.get_recurring(ctx, recurring_id)
        occurrences = views.occurrences_with_states(ctx, recurring_id)
    except NotFound as exc:
        return page(request, "error.html", 404, session=session, message=str(exc))
    return page(
        request,
        "recurring_detail.html",
        status_of(refusal) if refusal else 200,
        session=session,
        r=recurring,
        occurrences=occurrences,
        waiting=WAITING,
        local=in_zone,
        schedule=schedule_of(ctx, recurring.recurrence, recurring.timezone),
        notice=notice,
        error=str(refusal) if refusal else None,
        **missing(session.user, _OFFERED),
    )
