"""Address states from delivery feedback (ACS quarantine), their automatic and admin releases.

Feedback channels (the send engine's SMTP replies, bounces, webhooks, complaints) call the
note_* functions inside their own transaction; the rules themselves are pure, in domain.py.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from email_validator import EmailNotValidError
from sqlalchemy import Connection

from mailcast.audience.csv_import import normalise_email
from mailcast.context import Context
from mailcast.domain import (
    ACS_QUARANTINE,
    Action,
    AddressNote,
    AddressState,
    AddressStatus,
    FailureReason,
    FailureType,
    NoteKind,
    QuarantinePolicy,
    automatic_release_at,
    automatic_releases,
    next_address_state,
)
from mailcast.store import addresses as store
from mailcast.users.service import User, authorize

# What a release without --status gives back: one address may leave any of these; bulk
# releases leave the denylist alone, since it records what recipients asked for.
NAMED_RELEASE_STATUSES = frozenset(
    {AddressStatus.ERRONEOUS, AddressStatus.QUARANTINE, AddressStatus.DENYLIST}
)
BULK_RELEASE_STATUSES = frozenset({AddressStatus.ERRONEOUS, AddressStatus.QUARANTINE})


class QuarantineError(ValueError):
    """A request about address states that cannot be done: the message says why."""


def address_key(address: str) -> str:
    """The address_states key of an address: case-folded, its domain in ASCII (as preparation)."""
    cleaned = address.strip()
    # The sending log holds addresses already normalised: no need to validate them again.
    if cleaned.isascii() and cleaned.count("@") == 1 and " " not in cleaned:
        local, domain = cleaned.split("@")
        if local and domain:
            return cleaned.casefold()
    try:
        return normalise_email(cleaned)[1]
    except EmailNotValidError as exc:
        raise QuarantineError(f"not an email address: {address!r} ({exc})") from None


# --- Feedback: what the channels call ------------------------------------------------------


def note_failure(
    conn: Connection,
    address: str,
    failure_type: FailureType,
    failure_reason: FailureReason | None,
    at: dt.datetime,
    detail: str = "",
    *,
    policy: QuarantinePolicy = ACS_QUARANTINE,
) -> None:
    """A hard failure quarantines; soft ones count (a day apart) up to quarantine; ignored: none."""
    note_all(conn, [AddressNote.failure(address, failure_type, failure_reason, at, detail)], policy)


def note_success(
    conn: Connection, address: str, at: dt.datetime, *, policy: QuarantinePolicy = ACS_QUARANTINE
) -> None:
    """A successful delivery: the address is valid again, its counter at zero (not denylist)."""
    note_all(conn, [AddressNote.success(address, at)], policy)


def note_complaint(conn: Connection, address: str, at: dt.datetime, detail: str = "") -> None:
    """A complaint (ARF, provider report) puts the address on the denylist."""
    note_all(conn, [AddressNote.complaint(address, at, detail)])


def note_all(
    conn: Connection, notes: Sequence[AddressNote], policy: QuarantinePolicy = ACS_QUARANTINE
) -> int:
    """Weigh many notes at once, in time order: one read and one write for the batch.

    Returns how many addresses changed state. Raises QuarantineError, before writing
    anything, when a note's address is not an email address.
    """
    keyed = sorted(((address_key(n.address), n) for n in notes), key=lambda pair: pair[1].at)
    if not keyed:
        return 0
    # Only failures and complaints create states; a success changes an existing one at most.
    store.lock_addresses(conn, {k for k, n in keyed if n.kind is not NoteKind.SUCCESS})
    current = store.states_for_update(conn, {key for key, _ in keyed})
    changed: dict[str, AddressState] = {}
    for key, note in keyed:
        new = next_address_state(changed.get(key, current.get(key)), note, policy)
        if new is not None:
            changed[key] = new
    store.save_states(conn, changed, max(note.at for _, note in keyed))
    return len(changed)


def release_due(
    conn: Connection, now: dt.datetime, policy: QuarantinePolicy = ACS_QUARANTINE
) -> int:
    """Automatic releases (run by the scheduler): erroneous after 10 days, mailbox full after 30."""
    released = 0
    for status, reason, last_error_before in automatic_releases(policy, now):
        detail = f"released automatically: no counted error since {last_error_before:%Y-%m-%d}"
        released += store.release_expired(conn, status, reason, last_error_before, now, detail)
    return released


# --- Administration: listing and releasing -------------------------------------------------


@dataclass(frozen=True)
class AddressEntry:
    """One line of the address list."""

    address: str
    state: AddressState  # `valid` without errors for an address that has no state
    releases_at: dt.datetime | None  # automatic release; None when only an admin can release
    unsubscribed: bool = False  # a profile with this address unsubscribed
    complained_at: dt.datetime | None = None  # when a profile with it last complained


def list_addresses(
    ctx: Context,
    user: User,
    statuses: Sequence[AddressStatus] = (),
    after: str | None = None,
    limit: int = 100,
    *,
    search: str | None = None,
    unsubscribed: bool = False,
    complained: bool = False,
) -> list[AddressEntry]:
    """Addresses in address order: those with a state and those whose profile unsubscribed or
    complained, or with `search` every address holding it ("@domain": of that domain)."""
    authorize(user, Action.MANAGE_QUARANTINE)
    query = _query(statuses, (search or "").strip(), unsubscribed, complained)
    policy = ctx.settings.quarantine.policy
    with ctx.db.read() as conn:
        rows = store.address_page(conn, query, after, limit)
    entries = []
    for row in rows:
        state = store.state_of(row)
        entries.append(
            AddressEntry(
                row["address"],
                state,
                automatic_release_at(state, policy),
                bool(row["unsubscribed"]),
                row["complained_at"],
            )
        )
    return entries


def _query(
    statuses: Sequence[AddressStatus], search: str, unsubscribed: bool, complained: bool
) -> store.AddressQuery:
    """What a search looks for: "@" and a whole domain, that domain; else the text anywhere."""
    query = store.AddressQuery(statuses, unsubscribed=unsubscribed, complained=complained)
    if not search:
        return query
    if search.startswith("@"):
        try:
            return replace(query, domain=_domain_key(search))
        except QuarantineError:
            pass  # "@exam" while typing: found anywhere, as any other text
    return replace(query, search=search.casefold())


def count_addresses(ctx: Context, user: User) -> dict[AddressStatus, int]:
    authorize(user, Action.MANAGE_QUARANTINE)
    with ctx.db.read() as conn:
        return store.count_by_status(conn)


@dataclass(frozen=True)
class ReleaseRequest:
    """Which addresses to release: named ones, or every one matching all the filters given."""

    addresses: tuple[str, ...] = ()
    domain: str | None = None
    reason: FailureReason | None = None
    since: dt.datetime | None = None  # status set at or after this moment
    everything: bool = False  # every address in the statuses, no filter
    statuses: frozenset[AddressStatus] = field(default_factory=frozenset)  # empty: the default

    @property
    def bulk(self) -> bool:
        return self.everything or any(f is not None for f in (self.domain, self.reason, self.since))


@dataclass(frozen=True)
class ReleaseResult:
    released: list[str]
    not_held: list[str]  # named addresses that were in none of the statuses released


def release_addresses(ctx: Context, user: User, request: ReleaseRequest) -> ReleaseResult:
    """An admin gives addresses back: valid, counter at zero. Nothing changes on a refusal."""
    authorize(user, Action.MANAGE_QUARANTINE)
    _check(request)
    keys = address_keys(request.addresses)
    domain = _domain_key(request.domain) if request.domain is not None else None
    default = BULK_RELEASE_STATUSES if request.bulk else NAMED_RELEASE_STATUSES
    detail = f"released by {user.name}"
    with ctx.db.write() as conn:
        released = store.release_matching(
            conn,
            request.statuses or default,
            ctx.clock.now(),
            detail,
            keys=keys or None,
            domain=domain,
            reason=request.reason,
            since=request.since,
        )
    return ReleaseResult(released, sorted(set(keys) - set(released)))


def _check(request: ReleaseRequest) -> None:
    if request.addresses and request.bulk:
        raise QuarantineError("name addresses, or choose --domain, --reason, --since or --all")
    if not request.addresses and not request.bulk:
        raise QuarantineError("nothing to release: name addresses, or --domain, --reason, --all")
    if request.everything and any(f is not None for f in (request.domain, request.reason)):
        raise QuarantineError("--all releases every address: it takes no --domain or --reason")
    if request.since is not None and request.since.tzinfo is None:
        raise QuarantineError("the --since moment needs a time zone (e.g. 2026-01-05T00:00Z)")


def address_keys(addresses: Sequence[str]) -> list[str]:
    """The keys of named addresses; QuarantineError naming every one that is not an address."""
    keys, bad = [], []
    for address in addresses:
        try:
            keys.append(address_key(address))
        except QuarantineError:
            bad.append(address)
    if bad:
        raise QuarantineError("not email addresses: " + ", ".join(repr(a) for a in bad))
    return keys


def _domain_key(domain: str) -> str:
    try:
        return normalise_email("postmaster@" + domain.strip().lstrip("@"))[1].split("@", 1)[1]
    except EmailNotValidError as exc:
        raise QuarantineError(f"not a domain: {domain!r} ({exc})") from None
