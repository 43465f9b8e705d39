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
    # The end of the validity period finishes a send that has not ended by itself.
    S.SENDING: frozenset({S.SENT, S.PAUSED, S.STOPPED, S.ERROR, S.FINISHED}),
    S.PAUSED: frozenset({S.SENDING, S.STOPPED, S.FINISHED}),
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

# Every state's Stibee word ("" where Stibee has none) and the colour (a rich colour name)
# it is shown in, in lists and on the delivery page.
STIBEE_LABELS: dict[DeliveryState, tuple[str, str]] = {
    S.DRAFT: ("작성중", "grey50"),
    S.PREPARING: ("", "cyan"),
    S.READY: ("", "bright_cyan"),
    S.PENDING_APPROVAL: ("", "magenta"),
    S.APPROVED: ("", "bright_magenta"),
    S.PENDING_CONFIRMATION: ("", "orchid"),
    S.SCHEDULED: ("예약중", "blue"),
    S.SENDING: ("발송중", "yellow"),
    S.PAUSED: ("", "dark_orange"),
    S.SENT: ("발송완료", "green"),
    S.FINISHED: ("발송완료", "dark_green"),
    S.STOPPED: ("", "orange_red1"),
    S.ERROR: ("발송오류", "red"),
    S.SKIPPED: ("", "grey37"),
}

# Sending, or sent, with nothing left to send but retries (ACS).
RETRY_LABEL = "sending (retry)"
RETRY_COLOUR = "gold3"


@dataclass(frozen=True)
class ShownState:
    """How a delivery's state reads: the label, Stibee's word ("" if none) and the colour."""

    label: str
    stibee: str
    colour: str


def shown_state(state: DeliveryState, *, only_retries_left: bool = False) -> ShownState:
    """The state as shown; `sending (retry)` while only retries remain to be sent.

    The stored state moves from sending to sent once no message waits for its first hand-off
    (SPEC §3: handed over or failed), so a sent delivery whose soft failures are still being
    retried reads `sending (retry)` too, until its last retry is done or the validity ends.
    """
    stibee, colour = STIBEE_LABELS[state]
    if only_retries_left and state in (S.SENDING, S.SENT):
        return ShownState(RETRY_LABEL, STIBEE_LABELS[S.SENDING][0], RETRY_COLOUR)
    return ShownState(state.value, stibee, colour)


class PauseCause(StrEnum):
    """Who paused a send: an operator resumes it; relay faults end when a probe succeeds."""

    OPERATOR = "operator"
    RELAY = "relay"


class Aggregation(StrEnum):
    """How the occurrences of a recurring delivery report: each alone, or per period."""

    NONE = "none"
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


class OccurrenceOutcome(StrEnum):
    """What became of one occurrence of a recurring delivery."""

    CREATED = "created"  # a child delivery was created and prepared for it
    AGGREGATED = "aggregated"  # its recipients were added to the period's delivery
    SKIPPED = "skipped"  # left unconfirmed until the next occurrence came due
    MISSED = "missed"  # came due while mailcast was down; only the latest one runs
    FAILED = "failed"  # preparation found a blocking error; the detail says which


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


class BounceReason(StrEnum):
    """Why a notice says a delivery failed, in sisimai's vocabulary (the bounce parser's)."""

    AUTH_FAILURE = "authfailure"
    BAD_REPUTATION = "badreputation"
    BLOCKED = "blocked"
    CONTENT_ERROR = "contenterror"
    DELIVERED = "delivered"
    EXCEED_LIMIT = "exceedlimit"
    EXPIRED = "expired"
    FAILED_STARTTLS = "failedstarttls"
    FEEDBACK = "feedback"
    FILTERED = "filtered"
    HAS_MOVED = "hasmoved"
    HOST_UNKNOWN = "hostunknown"
    MAILBOX_FULL = "mailboxfull"
    MAILER_ERROR = "mailererror"
    MESG_TOO_BIG = "mesgtoobig"
    NETWORK_ERROR = "networkerror"
    NO_RELAYING = "norelaying"
    NOT_ACCEPT = "notaccept"
    NOT_COMPLIANT_RFC = "notcompliantrfc"
    ON_HOLD = "onhold"
    POLICY_VIOLATION = "policyviolation"
    REJECTED = "rejected"
    REQUIRE_PTR = "requireptr"
    SECURITY_ERROR = "securityerror"
    SPAM_DETECTED = "spamdetected"
    SPEEDING = "speeding"
    SUPPRESSED = "suppressed"
    SUSPEND = "suspend"
    SYNTAX_ERROR = "syntaxerror"
    SYSTEM_ERROR = "systemerror"
    SYSTEM_FULL = "systemfull"
    TOO_MANY_CONN = "toomanyconn"
    UNDEFINED = "undefined"
    USER_UNKNOWN = "userunknown"
    VACATION = "vacation"
    VIRUS_DETECTED = "virusdetected"


class ExclusionReason(StrEnum):
    """Filtering rules of preparation, in the order they apply (ACS)."""

    ADDRESS_EMPTY = "address_empty"
    DENYLISTED = "denylisted"
    QUARANTINED = "quarantined"
    DUPLICATE = "duplicate"
    TARGET_LIMIT = "target_limit"
    FATIGUE = "fatigue"
    RENDER_ERROR = "render_error"
    # A copy made to retry a delivery leaves out whom the original delivered to (Stibee).
    ALREADY_DELIVERED = "already_delivered"
    # A local part that is not ASCII needs SMTPUTF8 (RFC 6531), which the relay is not set to take.
    SMTPUTF8_REQUIRED = "smtputf8_required"


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


class NotSentReason(StrEnum):
    """Why a queued message or a retry was not sent: its recipient opted out after preparation."""

    UNSUBSCRIBED = "not sent: unsubscribed after preparation"
    DENYLISTED = "not sent: denylisted after preparation"
    QUARANTINED = "not sent: quarantined after preparation"


def send_time_opt_out(email_subscribed: bool, address_status: str | None) -> NotSentReason | None:
    """Preparation's rule on the recipient's choice and address, applied again at each claim.

    An unsubscribed profile, a denylisted or a quarantined address is left out; an allowlisted
    or erroneous address is sent to (an address has one status: allowlisting lifts the others).
    """
    if not email_subscribed:
        return NotSentReason.UNSUBSCRIBED
    excluded = EXCLUDED_ADDRESS_STATUSES.get(AddressStatus(address_status or "valid"))
    return NotSentReason[excluded.name] if excluded is not None else None


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
    IGNORED = "ignored"  # feedback that changes nothing: an auto-reply, an ignored error


class ReportOutcome(StrEnum):
    """What became of a message that reached the bounce receiver."""

    RECEIVED = "received"  # stored, not (fully) applied yet
    APPLIED = "applied"  # at least one of its observations changed something
    DUPLICATE = "duplicate"  # everything it says had been applied already
    UNMATCHED = "unmatched"  # read, but it names no message of ours
    UNPARSED = "unparsed"  # not readable as a bounce, complaint or auto-reply


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
    # An operator's unsubscribe or resubscribe: unsubscribed is on the denylist (admins').
    CHANGE_SUBSCRIPTION = "change_subscription"
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
    Action.CHANGE_SUBSCRIPTION: Role.ADMIN,
    Action.READ_LOGS: Role.PREPARE,
}


def effective_roles(roles: set[Role] | frozenset[Role]) -> frozenset[Role]:
    granted = set(roles)
    for role in roles:
        granted |= ROLE_IMPLIES[role]
    return frozenset(granted)


# Roles that may also do an action besides its required one: admins read all logs (SPEC §2),
# approvers read what they are asked to approve.
ALSO_ALLOWED: dict[Action, frozenset[Role]] = {
    Action.READ_LOGS: frozenset({Role.ADMIN, Role.APPROVE}),
}


def missing_role(roles: set[Role] | frozenset[Role], action: Action) -> Role | None:
    """The role the user lacks for the action, or None when it is allowed."""
    needed = REQUIRED_ROLE[action]
    allowed = {needed} | ALSO_ALLOWED.get(action, frozenset())
    return None if allowed & effective_roles(roles) else needed


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
    # Legacy mode cannot tell a soft bounce from a later success: the log keeps 'sent'. A 4xx
    # during the hand-off leaves the message queued (not processed, its soft failure noted)
    # until a retry is accepted (sent) or refused for good, or the retries fail (SPEC §4:
    # Delivered % unchanged by soft failures until then).
    O.SOFT_BOUNCE: {},
    O.RETRY_SUCCEEDED: {M.FAILED: M.SENT},
    O.RETRIES_FAILED: {M.SENT: M.FAILED, M.QUEUED: M.FAILED},
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


# --- Address states and quarantine (ACS, SPEC §5) -------------------------------------------


@dataclass(frozen=True)
class QuarantinePolicy:
    """The ACS quarantine numbers; every one is a setting (config.QuarantineSettings)."""

    # Soft errors closer together than this count once (ACS: time between two significant errors).
    error_gap: dt.timedelta = dt.timedelta(days=1)
    errors_to_quarantine: int = 5
    # The counter resets, and an `erroneous` address is valid again, this long after its last
    # significant error (ACS: the two rules are one).
    counter_reset_after: dt.timedelta = dt.timedelta(days=10)
    mailbox_full_release_after: dt.timedelta = dt.timedelta(days=30)


ACS_QUARANTINE = QuarantinePolicy()

# Statuses that only an admin sets or lifts: delivery feedback never moves them (a complaint
# still puts an allowlisted address on the denylist: it is the recipient's own wish).
ADMIN_ONLY_STATUSES = frozenset({AddressStatus.DENYLIST, AddressStatus.ALLOWLIST})


class NoteKind(StrEnum):
    SUCCESS = "success"
    FAILURE = "failure"
    COMPLAINT = "complaint"


@dataclass(frozen=True, slots=True)
class AddressNote:
    """One thing learned about an address: a successful delivery, a failure or a complaint."""

    address: str
    kind: NoteKind
    at: dt.datetime
    failure_type: FailureType | None = None
    failure_reason: FailureReason | None = None
    detail: str = ""

    @classmethod
    def success(cls, address: str, at: dt.datetime) -> AddressNote:
        return cls(address, NoteKind.SUCCESS, at)

    @classmethod
    def failure(
        cls,
        address: str,
        failure_type: FailureType,
        failure_reason: FailureReason | None,
        at: dt.datetime,
        detail: str = "",
    ) -> AddressNote:
        return cls(address, NoteKind.FAILURE, at, failure_type, failure_reason, detail)

    @classmethod
    def complaint(cls, address: str, at: dt.datetime, detail: str = "") -> AddressNote:
        return cls(address, NoteKind.COMPLAINT, at, detail=detail)


@dataclass(frozen=True, slots=True)
class AddressState:
    """What is known of one address; an address never seen is valid, without errors."""

    status: AddressStatus = AddressStatus.VALID
    error_count: int = 0
    last_error_at: dt.datetime | None = None  # the last significant (counted) error
    failure_reason: FailureReason | None = None
    detail: str | None = None
    status_changed_at: dt.datetime | None = None


def next_address_state(
    state: AddressState | None, note: AddressNote, policy: QuarantinePolicy = ACS_QUARANTINE
) -> AddressState | None:
    """The address's state after the note, or None when the note changes nothing."""
    current = state or AddressState()
    if note.kind is NoteKind.COMPLAINT:
        return _after_complaint(current, note)
    if note.kind is NoteKind.SUCCESS:
        return _after_success(current, note)
    return _after_failure(current, note, policy)


def released_state(at: dt.datetime, detail: str) -> AddressState:
    """An address an admin (or the release job) gave back: valid, its counter at zero."""
    return AddressState(AddressStatus.VALID, 0, None, None, detail, at)


# The lists an admin keeps by hand: an address is put on one and taken off it by name.
ADMIN_LISTS = (AddressStatus.DENYLIST, AddressStatus.ALLOWLIST)


def listed_state(
    state: AddressState | None, status: AddressStatus, at: dt.datetime, detail: str
) -> AddressState | None:
    """An address an admin puts on the denylist or allowlist; None when it is there already.

    Its error history stays (it says what happened); the status and its reason are replaced.
    """
    current = state or AddressState()
    if current.status is status:
        return None
    return AddressState(status, current.error_count, current.last_error_at, None, detail, at)


class Standing(StrEnum):
    """What a profile's page says of its subscription: a complaint outweighs the rest."""

    SUBSCRIBED = "subscribed"
    UNSUBSCRIBED = "unsubscribed"
    COMPLAINED = "complained"


def standing(email_subscribed: bool, complained: bool) -> Standing:
    """A profile that complained is never shown as subscribed, whatever its flag says."""
    if complained:
        return Standing.COMPLAINED
    return Standing.SUBSCRIBED if email_subscribed else Standing.UNSUBSCRIBED


def automatic_release_at(state: AddressState, policy: QuarantinePolicy) -> dt.datetime | None:
    """When the address becomes valid again by itself; None when only an admin can release it."""
    since = state.last_error_at or state.status_changed_at
    if since is None:
        return None
    if state.status is AddressStatus.ERRONEOUS:
        return since + policy.counter_reset_after
    if (
        state.status is AddressStatus.QUARANTINE
        and state.failure_reason is FailureReason.MAILBOX_FULL
    ):
        return since + policy.mailbox_full_release_after
    return None


def automatic_releases(
    policy: QuarantinePolicy, now: dt.datetime
) -> list[tuple[AddressStatus, FailureReason | None, dt.datetime]]:
    """The release job's rules as (status, reason or None for any, last error at or before)."""
    return [
        (AddressStatus.ERRONEOUS, None, now - policy.counter_reset_after),
        (
            AddressStatus.QUARANTINE,
            FailureReason.MAILBOX_FULL,
            now - policy.mailbox_full_release_after,
        ),
    ]


def _after_complaint(state: AddressState, note: AddressNote) -> AddressState | None:
    if state.status is AddressStatus.DENYLIST:
        return None
    detail = note.detail or "complaint"
    return AddressState(
        AddressStatus.DENYLIST, state.error_count, state.last_error_at, None, detail, note.at
    )


def _after_success(state: AddressState, note: AddressNote) -> AddressState | None:
    if state.status in ADMIN_ONLY_STATUSES:
        return None
    if state.status is AddressStatus.VALID and state.error_count == 0:
        return None
    # A failure reported after this success is the newer news: it stands.
    if state.last_error_at is not None and note.at < state.last_error_at:
        return None
    return AddressState(AddressStatus.VALID, 0, None, None, None, note.at)


def _after_failure(
    state: AddressState, note: AddressNote, policy: QuarantinePolicy
) -> AddressState | None:
    if note.failure_type not in (FailureType.HARD, FailureType.SOFT):
        return None  # ignored errors (out of office, technical) change nothing (ACS)
    if state.status in ADMIN_ONLY_STATUSES or _stale(state, note.at):
        return None
    if note.failure_type is FailureType.HARD:
        return _after_hard(state, note, policy)
    return _after_soft(state, note, policy)


def _stale(state: AddressState, at: dt.datetime) -> bool:
    """An error dated before the address was last proven good or released says nothing new."""
    changed = state.status_changed_at
    return state.status is AddressStatus.VALID and changed is not None and at < changed


def _after_hard(state: AddressState, note: AddressNote, policy: QuarantinePolicy) -> AddressState:
    count, last = _error_counter(state, note.at, policy, always_counts=True)
    status = AddressStatus.QUARANTINE
    reason = note.failure_reason or FailureReason.NOT_DEFINED
    return AddressState(
        status, count, last, reason, note.detail or None, _changed_at(state, status, note.at)
    )


def _after_soft(
    state: AddressState, note: AddressNote, policy: QuarantinePolicy
) -> AddressState | None:
    count, last = _error_counter(state, note.at, policy, always_counts=False)
    if (count, last) == (state.error_count, state.last_error_at):
        return None  # less than a day after the last counted error: it was counted already
    if state.status is AddressStatus.QUARANTINE:
        # Still failing: the quarantine and its reason stay, a counted error delays its release.
        return AddressState(
            state.status, count, last, state.failure_reason, state.detail, state.status_changed_at
        )
    quarantined = count >= policy.errors_to_quarantine
    status = AddressStatus.QUARANTINE if quarantined else AddressStatus.ERRONEOUS
    reason = note.failure_reason or FailureReason.NOT_DEFINED
    return AddressState(
        status, count, last, reason, note.detail or None, _changed_at(state, status, note.at)
    )


def _error_counter(
    state: AddressState, at: dt.datetime, policy: QuarantinePolicy, *, always_counts: bool
) -> tuple[int, dt.datetime]:
    """(error count, last significant error) once this error is weighed."""
    last = state.last_error_at
    if last is None or state.error_count == 0 or at - last >= policy.counter_reset_after:
        return 1, at
    if always_counts or at - last >= policy.error_gap:
        return state.error_count + 1, max(at, last)
    return state.error_count, last


def _changed_at(state: AddressState, status: AddressStatus, at: dt.datetime) -> dt.datetime:
    if status is state.status and state.status_changed_at is not None:
        return state.status_changed_at
    return at
