"""Shared API body types (pages, names, texts), and the bodies of delivery and recurring routes."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import JsonDict

from mailcast.domain import (
    Aggregation,
    DeliveryState,
    ExclusionReason,
    FeedbackMode,
    OccurrenceOutcome,
    PauseCause,
)
from mailcast.web.api.types import MAX_INT, HeaderText, LocalTime, NonBlank, Text, TimeZone

T = TypeVar("T")

Name = Annotated[NonBlank, Field(min_length=1, max_length=200)]
Address = Annotated[Text, Field(min_length=1, max_length=320)]
Header = Annotated[HeaderText, Field(max_length=400)]
Subject = Annotated[HeaderText, Field(max_length=2000)]
Body = Annotated[Text, Field(max_length=5_000_000)]


class Out(BaseModel):
    """Responses are read from rows and dataclasses by attribute."""

    model_config = ConfigDict(from_attributes=True)


class Page(Out, Generic[T]):
    items: list[T]
    next: int | None = Field(
        description="Pass as `after` (or `before`) for the next page; null on the last page."
    )


# --- Deliveries -----------------------------------------------------------------------------


class TargetIn(BaseModel):
    lists: list[Name] = Field(min_length=1, max_length=100)
    filter: Annotated[Text, Field(max_length=10_000)] | None = None


# At least one hour: the column holds whole hours (0.3 would be stored as 0), as the editor says.
Hours = Annotated[float, Field(ge=1, le=24 * 366)]
TargetLimit = Annotated[int, Field(ge=0, le=MAX_INT)]


_INLINE_CSS = (
    "Move the HTML's <style> rules into style attributes (the <style> blocks are removed, "
    'except those marked data-css-inline="keep"), for mail clients that ignore <style>.'
)


_RELAYS = (
    "The relays it may use, by the names of the settings (`relays`); null: every relay. "
    "Each message goes to one of them in rotation, chosen by weight."
)
RelayName = Annotated[str, Field(min_length=1, max_length=100)]
_TRACK_OPENS = "An open pixel in the HTML (opens are counted)."
_TRACK_CLICKS = "Links pass through the click tracker (clicks are counted)."
_APPROVAL = "Approval after preparation; null: as the settings' `approval_required`."


class ContentIn(BaseModel):
    """What a delivery says and to whom: shared by deliveries and recurring templates."""

    name: Name
    subject: Subject
    from_addr: Annotated[Header, Field(min_length=1)]
    target: TargetIn
    html: Body = ""
    text: Body = ""
    reply_to: Header | None = None
    inline_css: bool = Field(False, description=_INLINE_CSS)
    target_limit: TargetLimit | None = None
    feedback_mode: FeedbackMode | None = None
    validity_hours: Hours | None = None
    relays: list[RelayName] | None = Field(None, description=_RELAYS)
    track_opens: bool = Field(True, description=_TRACK_OPENS)
    track_clicks: bool = Field(True, description=_TRACK_CLICKS)
    approval_required: bool | None = Field(None, description=_APPROVAL)


_EXAMPLE_CONTENT: JsonDict = {
    "name": "Spring sale",
    "subject": "Hello {{ first_name }}",
    "from_addr": "News <news@example.com>",
    "target": {"lists": ["news"], "filter": None},
    "html": '<p>Hi {{ first_name }}</p><a href="{{ unsubscribe_url }}">Unsubscribe</a>',
    "text": "Hi {{ first_name }}. Unsubscribe: {{ unsubscribe_url }}",
}


class DeliveryIn(ContentIn):
    model_config = ConfigDict(json_schema_extra={"examples": [_EXAMPLE_CONTENT]})

    send_at: LocalTime | None = Field(
        None, description="Without an offset: a wall-clock time in `send_timezone` (or UTC)."
    )
    send_timezone: TimeZone | None = None


class DeliveryEdit(BaseModel):
    """Only the fields given change; any change sends a prepared delivery back to draft."""

    # Absent: unchanged; these have no null (a default that is never validated, nor shown).
    name: Annotated[Name, Field(default=None)]
    subject: Annotated[Subject, Field(default=None)]
    from_addr: Annotated[Header, Field(default=None, min_length=1)]
    target: Annotated[TargetIn, Field(default=None)]
    html: Annotated[Body, Field(default=None)]
    text: Annotated[Body, Field(default=None)]
    inline_css: Annotated[bool, Field(default=None, description=_INLINE_CSS)]
    reply_to: Header | None = None
    target_limit: TargetLimit | None = None
    feedback_mode: FeedbackMode | None = Field(None, description="null: the settings' mode.")
    validity_hours: Hours | None = Field(None, description="null: unchanged.")
    send_at: LocalTime | None = None
    send_timezone: TimeZone | None = None
    relays: list[RelayName] | None = Field(None, description=_RELAYS)
    track_opens: Annotated[bool, Field(default=None, description=_TRACK_OPENS)]
    track_clicks: Annotated[bool, Field(default=None, description=_TRACK_CLICKS)]
    approval_required: bool | None = Field(None, description=_APPROVAL)


class FindingOut(Out):
    level: str
    rule: str
    message: str


class DeploymentOut(Out):
    """The Deployment block: progress and KPIs from the live counters."""

    to_deliver: int
    processed: int
    queued: int
    pending: int
    sent: int
    failed: int
    not_sent: int
    delivered_pct: float
    bounces_pct: float
    open_rate: float
    click_rate: float
    progress: float = Field(description="Share of the messages to deliver that are processed.")
    excluded: int
    exclusions: dict[ExclusionReason, int]
    in_flight: int
    relayed_more_than_once: int = Field(
        description="Messages handed over again after a worker died before recording them."
    )
    error_reason: str | None
    pause_reason: str | None = Field(
        description="Why the send is paused: an operator, or relay faults (see paused_by)."
    )
    paused_by: PauseCause | None = Field(
        description="'relay': paused by relay faults, resumes by itself once a probe succeeds."
    )
    rates_refreshed_at: dt.datetime | None


class DeliverySummary(Out):
    id: int
    name: str
    state: DeliveryState
    display_state: str = Field(description="The state as shown, e.g. 'sending (retry)'.")
    stibee_label: str = Field(description="Stibee's word for the state, when it has one.")
    subject: str
    send_at: dt.datetime | None
    send_timezone: str | None
    created_at: dt.datetime
    updated_at: dt.datetime


class DeliveryOut(DeliverySummary):
    from_addr: str
    reply_to: str | None
    html: str
    text: str
    inline_css: bool
    track_opens: bool
    track_clicks: bool
    approval_required: bool | None
    target: dict[str, Any]
    target_limit: int | None
    feedback_mode: FeedbackMode
    validity_hours: int
    validity_ends_at: dt.datetime | None
    version: int
    prepared_version: int | None
    approved_version: int | None
    preparation_log: list[FindingOut] | None
    proof_addresses: list[str] | None
    relays: list[str] | None = Field(description=_RELAYS)
    copied_from_id: int | None
    recurring_id: int | None
    error_reason: str | None
    confirmed_at: dt.datetime | None
    started_at: dt.datetime | None
    sent_at: dt.datetime | None
    finished_at: dt.datetime | None
    deployment: DeploymentOut


class PreparationOut(Out):
    delivery_id: int
    state: DeliveryState
    to_deliver: int
    exclusions: dict[ExclusionReason, int]
    findings: list[FindingOut]
    blocked: bool


class StateOut(Out):
    id: int
    state: DeliveryState


class StoppedOut(StateOut):
    not_sent: int = Field(description="Messages that will never be sent.")


class DuplicateIn(BaseModel):
    leave_out_delivered: bool = Field(
        default=False, description="Leave out whom the original delivered to (copy and retry)."
    )
    name: Name | None = None


class DriftOut(Out):
    counter: str
    live: int
    recounted: int


class StatsOut(Out):
    delivery_id: int
    recounted: dict[str, int]
    drift: list[DriftOut]
    corrected: bool
    rates_refreshed_at: dt.datetime | None


class PreviewOut(Out):
    address: str | None = Field(description="Whose profile filled the message; null: none.")
    subject: str
    html: str
    text: str


# --- Recurring deliveries -------------------------------------------------------------------


class RecurringIn(ContentIn):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                _EXAMPLE_CONTENT | {"recurrence": "0 9 * * MON", "timezone": "Europe/Paris"}
            ]
        }
    )

    recurrence: Annotated[Text, Field(min_length=1, max_length=500)] = Field(
        description='Cron ("0 9 * * MON-FRI") or an RRULE ("FREQ=WEEKLY;BYDAY=MO;BYHOUR=9").'
    )
    timezone: TimeZone = Field(description="The IANA zone the recurrence is read in.")
    aggregation: Aggregation = Aggregation.NONE
    confirm_before_send: bool = True


class TemplateOut(Out):
    subject: str
    from_addr: str
    reply_to: str | None
    html: str
    text: str
    inline_css: bool
    target: dict[str, Any]
    target_limit: int | None
    feedback_mode: FeedbackMode | None
    validity_hours: float | None
    relays: list[str] | None = Field(description=_RELAYS)
    track_opens: bool = True
    track_clicks: bool = True
    approval_required: bool | None = None


class RecurringOut(Out):
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
    template: TemplateOut


class ActiveIn(BaseModel):
    active: bool


class OccurrenceOut(Out):
    due_at: dt.datetime
    outcome: OccurrenceOutcome
    delivery_id: int | None
    detail: str | None


# --- Proofs -----------------------------------------------------------------------------------


class ProofsIn(BaseModel):
    addresses: list[Address] | None = Field(
        default=None, max_length=1000, description="None: the delivery's proof addresses."
    )


class ProofAddressesIn(BaseModel):
    addresses: list[Address] = Field(max_length=1000)


class ProofResultOut(Out):
    address: str
    accepted: bool
    smtp_code: int | None
    smtp_response: str
    message_id: str | None


class ProofOut(Out):
    id: int
    address: str
    version: int
    sent_by: int | None
    sent_at: dt.datetime
    smtp_code: int | None
    smtp_response: str | None
    message_id: str | None
