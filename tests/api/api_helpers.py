"""Helpers of the API tests: a client per user (each with its own token), deliveries in any
state, and a snapshot of every table to show that a refused request changed nothing.

Test modules build their fixtures from these (a tests/api/conftest.py would be a second
module named `conftest` for mypy).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import httpx2
from fastapi.testclient import TestClient
from sqlalchemy import select

from mailcast.audience.target import Target
from mailcast.clock import ManualClock
from mailcast.context import Context
from mailcast.deliveries.service import DeliveryDraft, confirm_send
from mailcast.domain import DeliveryState, FailureReason, FailureType, Role
from mailcast.feedback.quarantine import note_failure
from mailcast.recurring.occurrences import run_due_occurrences
from mailcast.recurring.service import RecurringSpec, create_recurring, occurrences_of
from mailcast.store import deliveries as delivery_store
from mailcast.store.db import Database
from mailcast.store.tables import metadata
from mailcast.users.service import User, add_user, create_token
from mailcast.web.app import create_app

if TYPE_CHECKING:
    from conftest import Scenario

PROBLEM = "application/problem+json"
AUDIENCE = ["a@example.com", "b@example.com", "c@example.com"]
# A message that passes every control rule.
CONTENT: dict[str, Any] = {
    "subject": "Hello {{ first_name }}",
    "from_addr": "News <news@example.com>",
    "html": '<p>Hi {{ first_name }} <a href="{{ unsubscribe_url }}">unsubscribe</a></p>',
    "text": "Hi {{ first_name }}, unsubscribe: {{ unsubscribe_url }}",
}


class Caller:
    """Requests made as one user: every one carries the user's API token."""

    def __init__(self, client: TestClient, user: User, token: str) -> None:
        self.client, self.user, self.token = client, user, token

    def request(self, method: str, path: str, **kwargs: Any) -> httpx2.Response:
        headers = {"Authorization": f"Bearer {self.token}", **kwargs.pop("headers", {})}
        return self.client.request(method, path, headers=headers, **kwargs)

    def get(self, path: str, **kwargs: Any) -> httpx2.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx2.Response:
        return self.request("POST", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> httpx2.Response:
        return self.request("PATCH", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> httpx2.Response:
        return self.request("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> httpx2.Response:
        return self.request("DELETE", path, **kwargs)


class World:
    """The app, one user per role, and deliveries brought to whatever state a test needs."""

    def __init__(self, ctx: Context, client: TestClient, scenario: Scenario) -> None:
        self.ctx, self.client, self.scenario = ctx, client, scenario
        self.callers: dict[str, Caller] = {}
        for user in (scenario.author, scenario.starter):
            self.callers[user.name] = self._caller(user)
        self.add("ann", Role.APPROVE)
        self.add("ada", Role.ADMIN)
        self.add("nobody")

    def add(self, name: str, *roles: Role) -> Caller:
        user = add_user(self.ctx.db, name, roles, None, self.ctx.clock)
        self.callers[name] = self._caller(user)
        return self.callers[name]

    def _caller(self, user: User) -> Caller:
        return Caller(self.client, user, create_token(self.ctx.db, user, "test", self.ctx.clock))

    @property
    def clock(self) -> ManualClock:
        assert isinstance(self.ctx.clock, ManualClock)
        return self.ctx.clock

    def __getitem__(self, name: str) -> Caller:
        return self.callers[name]

    # --- deliveries in each state ---------------------------------------------------------

    def audience(self) -> None:
        self.scenario.audience(AUDIENCE)

    def draft(self, **fields: Any) -> int:
        self.audience()
        return self.scenario.delivery(**(CONTENT | fields))

    def prepared(self, **fields: Any) -> int:
        self.audience()
        return self.scenario.prepared(**(CONTENT | fields))

    def sending(self, **fields: Any) -> int:
        self.audience()
        return self.scenario.sending(**(CONTENT | fields))

    def preparing(self) -> int:
        delivery_id = self.draft()
        self.move(delivery_id, DeliveryState.PREPARING)
        return delivery_id

    def pending_approval(self) -> int:
        self.ctx.settings.approval_required = True
        delivery_id = self.prepared()
        assert self.state(delivery_id) == DeliveryState.PENDING_APPROVAL
        return delivery_id

    def paused(self) -> int:
        delivery_id = self.sending()
        self.move(delivery_id, DeliveryState.PAUSED)
        return delivery_id

    def scheduled(self) -> int:
        delivery_id = self.prepared(send_at=self.ctx.clock.now() + dt.timedelta(days=1))
        confirm_send(self.ctx, self.scenario.starter, delivery_id)
        assert self.state(delivery_id) == DeliveryState.SCHEDULED
        return delivery_id

    def recurring(self) -> int:
        """A daily recurring delivery to the audience, created by marie (confirm before send)."""
        self.audience()
        draft = DeliveryDraft(name="daily", target=Target(("news",)), **CONTENT)
        spec = RecurringSpec(draft, "0 9 * * *", "Europe/Paris")
        return create_recurring(self.ctx, self.scenario.author, spec)

    def pending_confirmation(self) -> int:
        """The delivery of a recurring delivery's first occurrence, waiting for confirmation."""
        recurring_id = self.recurring()
        self.clock.advance(dt.timedelta(days=1))
        run_due_occurrences(self.ctx)
        [occurrence] = occurrences_of(self.ctx, recurring_id)
        assert occurrence.delivery_id is not None, occurrence
        assert self.state(occurrence.delivery_id) == DeliveryState.PENDING_CONFIRMATION
        return occurrence.delivery_id

    def move(self, delivery_id: int, state: DeliveryState) -> None:
        with self.ctx.db.write() as conn:
            delivery_store.move_delivery(conn, delivery_id, state, self.ctx.clock.now())

    def state(self, delivery_id: int) -> str:
        with self.ctx.db.read() as conn:
            return str(delivery_store.get_delivery(conn, delivery_id)["state"])

    def quarantine(self, address: str) -> None:
        with self.ctx.db.write() as conn:
            note_failure(
                conn, address, FailureType.HARD, FailureReason.USER_UNKNOWN, self.ctx.clock.now()
            )


@contextmanager
def running_app(ctx: Context) -> Iterator[TestClient]:
    with TestClient(create_app(ctx)) as client:
        yield client


def snapshot(db: Database) -> dict[str, list[str]]:
    """Every row of every table, in a stable order: equal snapshots mean nothing changed."""
    with db.read() as conn:
        return {
            table.name: sorted(repr(tuple(row)) for row in conn.execute(select(table)))
            for table in metadata.sorted_tables
        }


def assert_problem(response: httpx2.Response, status: int) -> dict[str, Any]:
    """The response is an RFC 9457 problem with this status; its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["title"] and body["detail"] and body["type"]
    return body
