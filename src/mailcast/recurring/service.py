"""Recurring deliveries: create, edit, read, switch on and off, and confirm an occurrence.

Confirmation (seed: "a recurring delivery without an aggregation period can ask for a
confirmation before it is sent"): with aggregation `none`, every occurrence's delivery waits
in `pending_confirmation`. With an aggregation period, the period's delivery waits once, when
the period's first occurrence creates it; later occurrences add to it once it is sending. In
both cases a delivery left unconfirmed when the next occurrence comes due is skipped.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import RowMapping

from mailcast.audience.target import Target, validate_target
from mailcast.compose.mime import check_header_value
from mailcast.context import Context
from mailcast.deliveries.relays import check_relay_names
from mailcast.deliveries.service import DeliveryDraft, DeliveryError, require_recipients
from mailcast.domain import Action, Aggregation, DeliveryState, FeedbackMode, OccurrenceOutcome
from mailcast.recurring.periods import period_end
from mailcast.recurring.recurrence import Recurrence, RecurrenceError, parse_recurrence, zone_named
from mailcast.store import deliveries as delivery_store
from mailcast.store import recurring as store
from mailcast.users.service import User, authorize

MAX_NAME_LENGTH = 160


class RecurringError(DeliveryError):
    """A recurring delivery or occurrence request that cannot be done; the message says why."""


@dataclass(frozen=True)
class RecurringSpec:
    """A recurring delivery: its template (a draft without send date) and when it recurs."""

    template: DeliveryDraft  # its name is the recurring delivery's name
    recurrence: str  # cron ("0 9 * * MON-FRI") or RRULE ("FREQ=WEEKLY;BYDAY=MO;BYHOUR=9")
    timezone: str  # IANA name, e.g. "Europe/Paris"
    aggregation: Aggregation = Aggregation.NONE
    confirm_before_send: bool = True


@dataclass(frozen=True)
class Recurring:
    id: int
    name: str
    recurrence: str
    timezone: str
    aggregation: Aggregation
    confirm_before_send: bool
    active: bool
    next_occurrence_at: dt.datetime | None
    last_occurrence_at: dt.datetime | None
    created_by: int | None
    template: DeliveryDraft


@dataclass(frozen=True)
class Occurrence:
    due_at: dt.datetime
    outcome: OccurrenceOutcome
    delivery_id: int | None
    detail: str | None


def create_recurring(ctx: Context, user: User, spec: RecurringSpec) -> int:
    """Without confirmation the creator starts every occurrence, so must hold start_deliveries."""
    authorize(user, Action.CREATE_DELIVERY)
    if not spec.confirm_before_send:
        authorize(user, Action.CONFIRM_SEND)
    now = ctx.clock.now()
    recurrence = _recurrence(spec.recurrence, spec.timezone, now)
    first = recurrence.next_after(now)
    if first is None:
        raise RecurringError(f"the recurrence {spec.recurrence!r} has no occurrence after now")
    _check_template(spec.template)
    # Checked now, as for a delivery; a relay taken out of the settings later fails the
    # occurrences that name it, saying which.
    template = replace(spec.template, relays=check_relay_names(ctx.settings, spec.template.relays))
    with ctx.db.write() as conn:
        validate_target(conn, template.target)
        values = _columns(spec, template, recurrence)
        values |= {"next_occurrence_at": first, "created_by": user.id}
        return store.insert_recurring(conn, values, now)


def edit_recurring(ctx: Context, user: User, recurring_id: int, spec: RecurringSpec) -> Recurring:
    """Replace the template and the recurrence; the deliveries already created keep theirs.

    The same roles as creating: without confirmation, its occurrences start without anyone
    confirming them, so whoever switches confirmation off must hold start_deliveries.
    """
    authorize(user, Action.EDIT_DELIVERY)
    if not spec.confirm_before_send:
        authorize(user, Action.CONFIRM_SEND)
    now = ctx.clock.now()
    recurrence = _recurrence(spec.recurrence, spec.timezone, now)
    _check_template(spec.template)
    template = replace(spec.template, relays=check_relay_names(ctx.settings, spec.template.relays))
    with ctx.db.write() as conn:
        row = store.get_recurring(conn, recurring_id, for_update=True)
        validate_target(conn, template.target)
        values = _columns(spec, template, recurrence)
        if row["active"]:  # the next occurrence follows the new recurrence
            values["next_occurrence_at"] = recurrence.next_after(now)
        store.update_recurring(conn, recurring_id, now, **values)
        return _recurring(store.get_recurring(conn, recurring_id))


def _columns(
    spec: RecurringSpec, template: DeliveryDraft, recurrence: Recurrence
) -> dict[str, Any]:
    """What creating and editing both write."""
    return {
        "name": template.name,
        "template": template_json(template),
        "recurrence": recurrence.text,
        "timezone": spec.timezone,
        "aggregation": spec.aggregation,
        "confirm_before_send": spec.confirm_before_send,
    }


def get_recurring(ctx: Context, recurring_id: int) -> Recurring:
    with ctx.db.read() as conn:
        return _recurring(store.get_recurring(conn, recurring_id))


def list_recurring(ctx: Context) -> list[Recurring]:
    with ctx.db.read() as conn:
        return [_recurring(row) for row in store.list_recurring(conn)]


def set_recurring_active(ctx: Context, user: User, recurring_id: int, active: bool) -> Recurring:
    """Switched back on, it resumes at its next occurrence: the time it was off is not missed."""
    authorize(user, Action.EDIT_DELIVERY)
    now = ctx.clock.now()
    with ctx.db.write() as conn:
        row = store.get_recurring(conn, recurring_id, for_update=True)
        values: dict[str, Any] = {"active": active}
        if active and not row["active"]:
            recurrence = recurrence_of(row)
            values["next_occurrence_at"] = recurrence.next_after(now)
        store.update_recurring(conn, recurring_id, now, **values)
        return _recurring(store.get_recurring(conn, recurring_id))


def occurrences_of(ctx: Context, recurring_id: int) -> list[Occurrence]:
    with ctx.db.read() as conn:
        store.get_recurring(conn, recurring_id)  # NotFound for an unknown id
        rows = store.occurrences_of(conn, recurring_id)
    return [
        Occurrence(r["due_at"], OccurrenceOutcome(r["outcome"]), r["delivery_id"], r["detail"])
        for r in rows
    ]


def confirm_occurrence(ctx: Context, user: User, delivery_id: int) -> DeliveryState:
    """Start an occurrence's delivery that waits for confirmation, or that was approved
    (an occurrence that needed approval waits for no one else once approved)."""
    authorize(user, Action.CONFIRM_OCCURRENCE)
    now = ctx.clock.now()
    with ctx.db.write() as conn:
        delivery = delivery_store.get_delivery(conn, delivery_id, for_update=True)
        if delivery["recurring_id"] is None:
            raise RecurringError(f"delivery {delivery_id} is not an occurrence of a recurring one")
        _check_confirmable(delivery)
        require_recipients(conn, delivery_id)
        recurring = store.get_recurring(conn, delivery["recurring_id"])
        delivery_store.move_delivery(
            conn,
            delivery_id,
            DeliveryState.SENDING,
            now,
            confirmed_by=user.id,
            confirmed_at=now,
            started_at=now,
            validity_ends_at=validity_end(delivery, recurring, now),
        )
    return DeliveryState.SENDING


def _check_confirmable(delivery: RowMapping) -> None:
    state = delivery["state"]
    approved = state == DeliveryState.APPROVED and (
        delivery["approved_version"] == delivery["version"] == delivery["prepared_version"]
    )
    if state != DeliveryState.PENDING_CONFIRMATION and not approved:
        raise RecurringError(
            f"delivery {delivery['id']} is '{state}': only an occurrence waiting for "
            "confirmation, or approved, can be confirmed"
        )


def validity_end(delivery: RowMapping, recurring: RowMapping, now: dt.datetime) -> dt.datetime:
    """A period delivery's validity runs from the end of its period, not from its start."""
    start = now
    if delivery["aggregate_period"] is not None:
        zone = zone_named(recurring["timezone"])
        aggregation = Aggregation(recurring["aggregation"])
        start = max(now, period_end(aggregation, delivery["aggregate_period"], zone))
    return start + dt.timedelta(hours=delivery["validity_hours"])


def recurrence_of(row: RowMapping) -> Recurrence:
    return parse_recurrence(row["recurrence"], row["timezone"], row["created_at"])


def _recurrence(text: str, timezone: str, now: dt.datetime) -> Recurrence:
    try:
        return parse_recurrence(text, timezone, now)
    except RecurrenceError as exc:
        raise RecurringError(str(exc)) from exc


def _check_template(draft: DeliveryDraft) -> None:
    if draft.send_at is not None:
        raise RecurringError("a recurring delivery's template has no send date: it recurs")
    if len(draft.name) > MAX_NAME_LENGTH:  # its deliveries' names add the occurrence's time
        raise RecurringError(f"a recurring delivery's name is at most {MAX_NAME_LENGTH} long")
    headers = (("Subject", draft.subject), ("From", draft.from_addr), ("Reply-To", draft.reply_to))
    try:
        for name, value in headers:
            check_header_value(name, value or "")
    except ValueError as exc:
        raise RecurringError(str(exc)) from exc


# --- the template, stored as JSON ------------------------------------------------------------


def template_json(draft: DeliveryDraft) -> dict[str, Any]:
    return {
        "subject": draft.subject,
        "from_addr": draft.from_addr,
        "reply_to": draft.reply_to,
        "html": draft.html,
        "text": draft.text,
        "inline_css": draft.inline_css,
        "target": draft.target.to_json(),
        "target_limit": draft.target_limit,
        "feedback_mode": draft.feedback_mode,
        "validity_hours": draft.validity_hours,
        "relays": draft.relays,
        "track_opens": draft.track_opens,
        "track_clicks": draft.track_clicks,
        "approval_required": draft.approval_required,
    }


def draft_from(template: dict[str, Any], name: str) -> DeliveryDraft:
    mode = template["feedback_mode"]
    return DeliveryDraft(
        **template
        | {
            "name": name,
            "target": Target.from_json(template["target"]),
            "feedback_mode": FeedbackMode(mode) if mode else None,
        }
    )


def _recurring(row: RowMapping) -> Recurring:
    return Recurring(
        id=row["id"],
        name=row["name"],
        recurrence=row["recurrence"],
        timezone=row["timezone"],
        aggregation=Aggregation(row["aggregation"]),
        confirm_before_send=row["confirm_before_send"],
        active=row["active"],
        next_occurrence_at=row["next_occurrence_at"],
        last_occurrence_at=row["last_occurrence_at"],
        created_by=row["created_by"],
        template=draft_from(row["template"], row["name"]),
    )
