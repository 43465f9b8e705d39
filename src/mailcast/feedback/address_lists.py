"""The admin's address lists: putting addresses on the denylist or allowlist, taking them off.

An address has one status: the denylist keeps every delivery from it, the allowlist sends to
it whatever its errors. Delivery feedback never moves either (a complaint still denylists an
allowlisted address: it is the recipient's own wish). Every function checks the admin role.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from mailcast.context import Context
from mailcast.domain import ADMIN_LISTS, Action, AddressStatus, listed_state
from mailcast.feedback.quarantine import QuarantineError, address_keys
from mailcast.store import addresses as store
from mailcast.users.service import User, authorize

NOTE_LENGTH = 500
MAX_ADDRESSES = 10_000  # named in one request


@dataclass(frozen=True)
class ListChange:
    changed: list[str]  # put on the list, or taken off it
    unchanged: list[str]  # already on it, or not on it


def add_to_list(
    ctx: Context,
    user: User,
    status: AddressStatus,
    addresses: Sequence[str],
    note: str | None = None,
) -> ListChange:
    """Put the addresses on the denylist or allowlist; `note` says why (kept as the detail)."""
    authorize(user, Action.MANAGE_QUARANTINE)
    keys = _keys(status, addresses)
    detail = f"put on the {status} by {user.name}" + (
        f": {_note(note)}" if note and note.strip() else ""
    )
    now = ctx.clock.now()
    with ctx.db.write() as conn:
        # Locked as the feedback locks them: a bounce weighed at this moment waits, then sees it.
        store.lock_addresses(conn, keys)
        current = store.states_for_update(conn, keys)
        changed = {}
        for key in keys:
            new = listed_state(current.get(key), status, now, detail)
            if new is not None:
                changed[key] = new
        store.save_states(conn, changed, now)
    return ListChange(sorted(changed), sorted(set(keys) - set(changed)))


def remove_from_list(
    ctx: Context, user: User, status: AddressStatus, addresses: Sequence[str]
) -> ListChange:
    """Take the addresses off the denylist or allowlist: valid again, their counter at zero."""
    authorize(user, Action.MANAGE_QUARANTINE)
    keys = _keys(status, addresses)
    detail = f"taken off the {status} by {user.name}"
    with ctx.db.write() as conn:
        removed = store.release_matching(conn, {status}, ctx.clock.now(), detail, keys=keys)
    return ListChange(removed, sorted(set(keys) - set(removed)))


def _keys(status: AddressStatus, addresses: Sequence[str]) -> list[str]:
    if status not in ADMIN_LISTS:
        raise QuarantineError(f"an admin keeps the denylist and the allowlist, not {status!r}")
    if not addresses:
        raise QuarantineError("name at least one address")
    if len(addresses) > MAX_ADDRESSES:
        raise QuarantineError(f"name at most {MAX_ADDRESSES:,} addresses at a time")
    return sorted(set(address_keys(addresses)))


def _note(note: str) -> str:
    text = note.strip()
    if len(text) > NOTE_LENGTH or any(ord(c) < 32 for c in text):
        raise QuarantineError(f"the note must be one line of at most {NOTE_LENGTH} characters")
    return text
