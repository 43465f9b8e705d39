"""What a profile's page shows, read through the stores and the history service."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import RowMapping

from mailcast.audience.subscriptions import SubscriptionChange, subscription_changes
from mailcast.context import Context
from mailcast.domain import Standing, standing
from mailcast.stats.history import ProfileHistory, profile_history
from mailcast.store import addresses as address_store
from mailcast.store import profiles as profile_store
from mailcast.store.deliveries import NotFound


@dataclass(frozen=True)
class ProfileView:
    profile: RowMapping
    attributes: list[tuple[str, Any]]  # by name
    lists: list[str]
    standing: Standing  # a complaint outweighs the subscription flag
    address: RowMapping | None  # the address's state; None: valid, nothing recorded
    history: ProfileHistory | None  # None for a profile without an address
    changes: list[SubscriptionChange]  # operators' unsubscribes and resubscribes, latest first

    @property
    def subscribed(self) -> bool:
        return bool(self.profile["email_subscribed"])


def profile_view(ctx: Context, profile_id: int) -> ProfileView:
    with ctx.db.read() as conn:
        row = profile_store.get_profile(conn, profile_id)
        if row is None:
            raise NotFound(f"no profile {profile_id}")
        lists = profile_store.lists_of(conn, profile_id)
        key = row["email_key"]
        address = address_store.get_address_state(conn, key) if key else None
    history = profile_history(ctx, row["email"]) if row["email"] else None
    complained = history is not None and history.complained_at is not None
    return ProfileView(
        profile=row,
        attributes=sorted((row["attributes"] or {}).items()),
        lists=lists,
        standing=standing(bool(row["email_subscribed"]), complained),
        address=address,
        history=history,
        changes=subscription_changes(ctx, profile_id),
    )
