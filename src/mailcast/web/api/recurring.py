"""Recurring deliveries: create, edit, read, switch on and off, and their occurrences."""

from __future__ import annotations

from fastapi import APIRouter, status

from mailcast.audience.target import Target
from mailcast.deliveries.service import DeliveryDraft
from mailcast.recurring import service
from mailcast.recurring.service import Recurring
from mailcast.web.api.models import ActiveIn, OccurrenceOut, RecurringIn, RecurringOut, TemplateOut
from mailcast.web.api.types import Ctx, PathId
from mailcast.web.auth import CurrentUser

router = APIRouter(prefix="/recurring", tags=["recurring deliveries"])

_NOT_IN_TEMPLATE = {"recurrence", "timezone", "aggregation", "confirm_before_send", "target"}


@router.get("", summary="List recurring deliveries")
def list_recurring(ctx: Ctx, _user: CurrentUser) -> list[RecurringOut]:
    return [_out(item) for item in service.list_recurring(ctx)]


@router.post(
    "",
    summary="Create a recurring delivery: a template and its recurrence in a time zone",
    description="Without `confirm_before_send` the creator starts every occurrence, so must "
    "hold start_deliveries.",
    status_code=status.HTTP_201_CREATED,
)
def create_recurring(ctx: Ctx, user: CurrentUser, body: RecurringIn) -> RecurringOut:
    return _out(service.get_recurring(ctx, service.create_recurring(ctx, user, _spec(body))))


@router.put(
    "/{recurring_id}",
    summary="Edit a recurring delivery: its template and recurrence, replaced as a whole",
    description="The deliveries its occurrences created already keep their content. Switching "
    "`confirm_before_send` off needs start_deliveries, as at creation.",
)
def edit_recurring(
    ctx: Ctx, user: CurrentUser, recurring_id: PathId, body: RecurringIn
) -> RecurringOut:
    return _out(service.edit_recurring(ctx, user, recurring_id, _spec(body)))


@router.get("/{recurring_id}", summary="Read a recurring delivery")
def get_recurring(ctx: Ctx, _user: CurrentUser, recurring_id: PathId) -> RecurringOut:
    return _out(service.get_recurring(ctx, recurring_id))


@router.put(
    "/{recurring_id}/active",
    summary="Switch a recurring delivery on or off; on again, it resumes at its next occurrence",
)
def set_active(ctx: Ctx, user: CurrentUser, recurring_id: PathId, body: ActiveIn) -> RecurringOut:
    return _out(service.set_recurring_active(ctx, user, recurring_id, body.active))


@router.get(
    "/{recurring_id}/occurrences",
    summary="Every occurrence that came due, and what became of it",
)
def occurrences(ctx: Ctx, _user: CurrentUser, recurring_id: PathId) -> list[OccurrenceOut]:
    return [OccurrenceOut.model_validate(o) for o in service.occurrences_of(ctx, recurring_id)]


def _spec(body: RecurringIn) -> service.RecurringSpec:
    template = DeliveryDraft(
        **body.model_dump(exclude=_NOT_IN_TEMPLATE),
        target=Target(tuple(body.target.lists), body.target.filter),
    )
    return service.RecurringSpec(
        template=template,
        recurrence=body.recurrence,
        timezone=body.timezone,
        aggregation=body.aggregation,
        confirm_before_send=body.confirm_before_send,
    )


def _out(item: Recurring) -> RecurringOut:
    draft = item.template
    template = TemplateOut(
        subject=draft.subject,
        from_addr=draft.from_addr,
        reply_to=draft.reply_to,
        html=draft.html,
        text=draft.text,
        inline_css=draft.inline_css,
        target=draft.target.to_json(),
        target_limit=draft.target_limit,
        feedback_mode=draft.feedback_mode,
        validity_hours=draft.validity_hours,
        relays=draft.relays,
        track_opens=draft.track_opens,
        track_clicks=draft.track_clicks,
        approval_required=draft.approval_required,
    )
    return RecurringOut.model_validate({**vars(item), "template": template})
