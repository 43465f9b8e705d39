"""The vocabulary of mailcast: states, transitions, roles, failures and the KPI rules (pure)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum


class DeliveryState(StrEnum):
    DRAFT = "draft"
    PREPARING = "preparing"
    READY = "ready"
    PENDING_APPROVAL = "pending_approval"
    APPROVED = "approved"
    PENDING_CONFIRMATION = "pending_confirmation"
    SCHEDULED = "scheduled"
    SENDING = "sending"
    PAUSED = "paused"
    SENT = "sent"
    FINISHED = "finished"
    STOPPED = "stopped"
    ERROR = "error"
    SKIPPED = "skipped"


S = DeliveryState

# Every allowed move of a delivery (SPEC §3). Anything not listed is refused.
TRANSITIONS: dict[DeliveryState, frozenset[DeliveryState]] = {
    S.DRAFT: frozenset({S.PREPARING}),
    # Preparation ends ready, or back in draft on a blocking error or when stopped.
    S.PREPARING: frozenset({S.READY, S.DRAFT}),
    S.READY: frozenset(
        {S.PREPARING, S.PENDING_APPROVAL, S.PENDING_CONFIRMATION, S.SCHEDULED, S.SENDING, S.DRAFT}
    ),
    S.PENDING_APPROVAL: frozenset({S.APPROVED, S.DRAFT}),
    S.APPROVED: frozenset({S.SCHEDULED, S.SENDING, S.DRAFT}),
    # A recurring occurrence waits for a start_deliveries user, or is skipped by the next one.
    S.PENDING_CONFIRMATION: frozenset({S.SCHEDULED, S.SENDING, S.SKIPPED, S.DRAFT}),
    # Cancelling a schedule returns the delivery to draft (Stibee).
    S.SCHEDULED: frozenset({S.SENDING, S.DRAFT}),
    S.SENDING: frozenset({S.SENT, S.PAUSED, S.STOPPED, S.ERROR}),
    S.PAUSED: frozenset({S.SENDING, S.STOPPED}),
    S.SENT: frozenset({S.FINISHED}),
    S.STOPPED: frozenset({S.FINISHED}),
    S.FINISHED: frozenset(),
    S.ERROR: frozenset(),
    S.SKIPPED: frozenset(),
}

# States in which an edit of content, target or schedule is allowed; it returns to draft (ACS).
EDITABLE_STATES = frozenset(
    {S.DRAFT, S.READY, S.PENDING_APPROVAL, S.APPROVED, S.PENDING_CONFIRMATION, S.SCHEDULED}
)

# Stibee's status words for the states that have one, with the colour shown in lists.
STIBEE_LABELS: dict[DeliveryState, tuple[str, str]] = {
    S.DRAFT: ("작성중", "grey50"),
    S.SCHEDULED: ("예약중", "blue"),
    S.SENDING: ("발송중", "yellow"),
    S.SENT: ("발송완료", "green"),
    S.FINISHED: ("발송완료", "green"),
    S.ERROR: ("발송오류", "red"),
}


class TransitionError(ValueError):
    """A delivery was asked to move somewhere its state does not allow."""

    def __init__(self, current: DeliveryState, target: DeliveryState) -> None:
        super().__init__(f"a delivery in state '{current}' cannot become '{target}'")
        self.current = current
        self.target = target


def can_transition(current: DeliveryState, target: DeliveryState) -> bool:
    return target in TRANSITIONS[current]


def check_transition(current: DeliveryState, target: DeliveryState) -> DeliveryState:
    if not can_transition(current, target):
        raise TransitionError(current, target)
    return target


class FeedbackMode(StrEnum):
    LEGACY = "legacy"
    EFS = "efs"


class MessageStatus(StrEnum):
    """The status of one line of the sending log."""

    QUEUED = "queued"  # not processed yet: waiting for its first hand-off
    PENDING = "pending"  # EFS: handed to the MTA, outcome not reported yet
    SENT = "sent"
    FAILED = "failed"
    NOT_SENT = "not_sent"  # the delivery was stopped before this message left


PROCESSED_STATUSES = frozenset({MessageStatus.PENDING, MessageStatus.SENT, MessageStatus.FAILED})


class SendState(StrEnum):
    """Where a message stands in the send queue, independent of its log status."""

    WAITING = "waiting"  # due at next_attempt_at
    IN_FLIGHT = "in_flight"  # claimed by a worker under a lease; may be on the wire
    DONE = "done"  # nothing more to send


class FailureType(StrEnum):
    HARD = "hard"
    SOFT = "soft"
    IGNORED = "ignored"


class FailureReason(StrEnum):
    """ACS failure reasons, and the reasons a recipient is left out at preparation."""

    USER_UNKNOWN = "user_unknown"
    INVALID_DOMAIN = "invalid_domain"
    MAILBOX_FULL = "mailbox_full"
    ACCOUNT_DISABLED = "account_disabled"
    REFUSED = "refused"
    UNREACHABLE = "unreachable"
    NOT_DEFINED = "not_defined"
    ERROR_IGNORED = "error_ignored"


class ExclusionReason(StrEnum):
    """Filtering rules of preparation, in the order they apply (ACS)."""

    ADDRESS_EMPTY = "address_empty"
    DENYLISTED = "denylisted"
    QUARANTINED = "quarantined"
    DUPLICATE = "duplicate"
    TARGET_LIMIT = "target_limit"
    FATIGUE = "fatigue"
    RENDER_ERROR = "render_error"


class AddressStatus(StrEnum):
    VALID = "valid"
    ERRONEOUS = "erroneous"
    QUARANTINE = "quarantine"
    DENYLIST = "denylist"
    ALLOWLIST = "allowlist"


EXCLUDED_ADDRESS_STATUSES = {
    AddressStatus.DENYLIST: ExclusionReason.DENYLISTED,
    AddressStatus.QUARANTINE: ExclusionReason.QUARANTINED,
}


class EventKind(StrEnum):
    RELAYED = "relayed"
    DELIVERED = "delivered"
    BOUNCED = "bounced"
    DEFERRED = "deferred"
    RETRIED = "retried"
    FAILED = "failed"
    NOT_SENT = "not_sent"
    OPENED = "opened"
    CLICKED = "clicked"
    UNSUBSCRIBED = "unsubscribed"
    COMPLAINED = "complained"


class Role(StrEnum):
    PREPARE = "prepare_deliveries"
    APPROVE = "approve_deliveries"
    START = "start_deliveries"
    ADMIN = "admin"


# A role also grants what these roles grant (SPEC §2: start = prepare + starting).
ROLE_IMPLIES: dict[Role, frozenset[Role]] = {
    Role.PREPARE: frozenset(),
    Role.APPROVE: frozenset(),
    Role.START: frozenset({Role.PREPARE}),
    Role.ADMIN: frozenset(),
}


class Action(StrEnum):
    CREATE_DELIVERY = "create_delivery"
    EDIT_DELIVERY = "edit_delivery"
    DUPLICATE_DELIVERY = "duplicate_delivery"
    PREPARE_DELIVERY = "prepare_delivery"
    DELETE_DELIVERY = "delete_delivery"
    SEND_PROOF = "send_proof"
    APPROVE_DELIVERY = "approve_delivery"
    CONFIRM_SEND = "confirm_send"
    PAUSE = "pause"
    RESUME = "resume"
    STOP = "stop"
    CANCEL_SCHEDULE = "cancel_schedule"
    CONFIRM_OCCURRENCE = "confirm_occurrence"
    MANAGE_USERS = "manage_users"
    MANAGE_SETTINGS = "manage_settings"
    MANAGE_QUARANTINE = "manage_quarantine"
    IMPORT_PROFILES = "import_profiles"
    READ_LOGS = "read_logs"


REQUIRED_ROLE: dict[Action, Role] = {
    Action.CREATE_DELIVERY: Role.PREPARE,
    Action.EDIT_DELIVERY: Role.PREPARE,
    Action.DUPLICATE_DELIVERY: Role.PREPARE,
    Action.PREPARE_DELIVERY: Role.PREPARE,
    Action.DELETE_DELIVERY: Role.PREPARE,
    Action.SEND_PROOF: Role.PREPARE,
    Action.APPROVE_DELIVERY: Role.APPROVE,
    Action.CONFIRM_SEND: Role.START,
    Action.PAUSE: Role.START,
    Action.RESUME: Role.START,
    Action.STOP: Role.START,
    Action.CANCEL_SCHEDULE: Role.START,
    Action.CONFIRM_OCCURRENCE: Role.START,
    Action.MANAGE_USERS: Role.ADMIN,
    Action.MANAGE_SETTINGS: Role.ADMIN,
    Action.MANAGE_QUARANTINE: Role.ADMIN,
    Action.IMPORT_PROFILES: Role.PREPARE,
    Action.READ_LOGS: Role.PREPARE,
}


def effective_roles(roles: set[Role] | frozenset[Role]) -> frozenset[Role]:
    granted = set(roles)
    for role in roles:
        granted |= ROLE_IMPLIES[role]
    return frozenset(granted)


def missing_role(roles: set[Role] | frozenset[Role], action: Action) -> Role | None:
    """The role the user lacks for the action, or None when it is allowed."""
    needed = REQUIRED_ROLE[action]
    return None if needed in effective_roles(roles) else needed


# --- The sending-log tables of SPEC §4 ------------------------------------------------------


class Outcome(StrEnum):
    """What is learned about a message; the rows of the two tables of SPEC §4."""

    RELAYED = "relayed"  # the MTA accepted the message (first hand-off)
    DELIVERED = "delivered"  # EFS: delivery reported
    HARD_BOUNCE = "hard_bounce"  # reported, or a 5xx during the hand-off
    SOFT_BOUNCE = "soft_bounce"  # reported, or a 4xx during the hand-off
    RETRY_SUCCEEDED = "retry_succeeded"
    RETRIES_FAILED = "retries_failed"  # the validity period ended without success


M = MessageStatus
O = Outcome  # noqa: E741 — short aliases keep the two tables readable

LEGACY_TABLE: dict[Outcome, dict[MessageStatus, MessageStatus]] = {
    O.RELAYED: {M.QUEUED: M.SENT},
    O.DELIVERED: {},
    O.HARD_BOUNCE: {M.QUEUED: M.FAILED, M.SENT: M.FAILED},
    # Legacy mode cannot tell a soft bounce from a later success: the log keeps 'sent'.
    O.SOFT_BOUNCE: {M.QUEUED: M.FAILED},
    O.RETRY_SUCCEEDED: {M.FAILED: M.SENT},
    O.RETRIES_FAILED: {M.SENT: M.FAILED},
}

EFS_TABLE: dict[Outcome, dict[MessageStatus, MessageStatus]] = {
    O.RELAYED: {M.QUEUED: M.PENDING},
    O.DELIVERED: {M.PENDING: M.SENT, M.FAILED: M.SENT},
    O.HARD_BOUNCE: {M.QUEUED: M.FAILED, M.PENDING: M.FAILED},
    O.SOFT_BOUNCE: {M.QUEUED: M.FAILED, M.PENDING: M.FAILED},
    O.RETRY_SUCCEEDED: {M.FAILED: M.SENT, M.PENDING: M.SENT},
    O.RETRIES_FAILED: {},
}

MODE_TABLES = {FeedbackMode.LEGACY: LEGACY_TABLE, FeedbackMode.EFS: EFS_TABLE}


def next_status(mode: FeedbackMode, status: MessageStatus, outcome: Outcome) -> MessageStatus:
    """The sending-log status after an outcome; unchanged where the mode's table says so."""
    return MODE_TABLES[mode][outcome].get(status, status)


def relay_outcome(mode: FeedbackMode, status: MessageStatus) -> Outcome:
    """A hand-off accepted by the MTA: the first one, or a retry after a soft failure.

    In legacy mode the MTA's acceptance is all there is to know, so an accepted retry is a
    success. In EFS mode success is known only when the delivery is reported.
    """
    if status is MessageStatus.QUEUED or mode is FeedbackMode.EFS:
        return Outcome.RELAYED
    return Outcome.RETRY_SUCCEEDED


def smtp_reply_outcome(code: int) -> Outcome:
    """The outcome of the SMTP reply to a hand-off (5xx hard, 4xx soft, 2xx relayed)."""
    if 200 <= code < 300:
        return Outcome.RELAYED
    if 500 <= code < 600:
        return Outcome.HARD_BOUNCE
    return Outcome.SOFT_BOUNCE


# --- KPIs of the Deployment block -----------------------------------------------------------


@dataclass(frozen=True)
class StatusCounts:
    to_deliver: int = 0
    queued: int = 0
    pending: int = 0
    sent: int = 0
    failed: int = 0
    not_sent: int = 0
    unique_opens: int = 0
    unique_clicks: int = 0

    @property
    def processed(self) -> int:
        return self.pending + self.sent + self.failed


@dataclass(frozen=True)
class Kpis:
    to_deliver: int
    processed: int
    delivered_pct: float
    bounces_pct: float
    open_rate: float
    click_rate: float


def _pct(part: int, whole: int) -> float:
    return round(100.0 * part / whole, 2) if whole else 0.0


def kpis(counts: StatusCounts) -> Kpis:
    """Delivered % and Bounces + errors % over processed; open and click rates over sent."""
    return Kpis(
        to_deliver=counts.to_deliver,
        processed=counts.processed,
        delivered_pct=_pct(counts.sent, counts.processed),
        bounces_pct=_pct(counts.failed, counts.processed),
        open_rate=_pct(counts.unique_opens, counts.sent),
        click_rate=_pct(counts.unique_clicks, counts.sent),
    )


# --- Retries (ACS legacy schedule) ----------------------------------------------------------

FIRST_DAY_RETRIES = 5
RETRY_MIN_GAP = dt.timedelta(hours=1)


def next_retry_at(
    first_failure_at: dt.datetime,
    now: dt.datetime,
    retries_done: int,
    validity_ends_at: dt.datetime,
    first_day_gap: dt.timedelta = RETRY_MIN_GAP,
) -> dt.datetime | None:
    """When to retry a soft failure, or None when the validity period leaves no room.

    Up to five retries on the first day, at least an hour apart, then one a day (ACS).
    """
    first_day_ends = first_failure_at + dt.timedelta(days=1)
    if retries_done < FIRST_DAY_RETRIES and now + first_day_gap <= first_day_ends:
        candidate = now + first_day_gap
    else:
        days_since = (now - first_failure_at) // dt.timedelta(days=1)
        candidate = max(first_failure_at + dt.timedelta(days=days_since + 1), now + first_day_gap)
    return candidate if candidate < validity_ends_at else None
