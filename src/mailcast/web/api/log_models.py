"""The bodies of the log routes: sending-log lines, exclusions, events."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import Field

from mailcast.domain import EventKind, ExclusionReason, FailureReason, FailureType, MessageStatus
from mailcast.web.api.models import Out, Page


class MessageOut(Out):
    """One line of the sending log."""

    id: int
    delivery_id: int
    profile_id: int | None
    address: str
    status: MessageStatus
    failure_type: FailureType | None
    failure_reason: FailureReason | None
    attempts: int = Field(description="Hand-offs whose reply was recorded (retries included).")
    relay_attempts: int = Field(
        description="Hand-offs begun, counted before each DATA: more than `attempts` when a "
        "worker died before recording one."
    )
    resends: int = Field(
        description="Hand-offs begun again after such an unrecorded one: above 0, the message "
        "was relayed more than once."
    )
    next_attempt_at: dt.datetime | None
    smtp_code: int | None
    smtp_response: str | None
    mta_queue_id: str | None
    message_id_header: str | None
    relayed_at: dt.datetime | None
    delivered_at: dt.datetime | None
    opens: int
    clicks: int
    machine_opens: int
    machine_clicks: int
    first_opened_at: dt.datetime | None
    last_opened_at: dt.datetime | None
    first_clicked_at: dt.datetime | None
    last_clicked_at: dt.datetime | None
    unsubscribed_at: dt.datetime | None
    updated_at: dt.datetime


class ExclusionOut(Out):
    id: int
    profile_id: int | None
    address: str | None
    reason: ExclusionReason
    detail: str | None
    created_at: dt.datetime


class ExclusionPage(Page[ExclusionOut]):
    counts: dict[ExclusionReason, int] = Field(description="Recipients left out, per reason.")


class EventOut(Out):
    id: int
    delivery_id: int
    message_id: int | None
    profile_id: int | None
    kind: EventKind
    at: dt.datetime
    failure_type: FailureType | None
    failure_reason: FailureReason | None
    machine: bool
    repeats: int = Field(
        0, description="The same open or click again within tracking.repeat_window_seconds."
    )
    detail: dict[str, Any] | None
