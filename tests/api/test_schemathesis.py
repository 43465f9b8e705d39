"""Schemathesis against the OpenAPI document: no request, valid or not, gets a server error.

The app runs under uvicorn on loopback with its lifespan, as `mailcast serve` runs it, over a
database that holds a little of everything (profiles, deliveries in several states, logs,
quarantined addresses, a recurring delivery), so that generated ids often hit real rows.
Every operation is called as an admin holding every role; since generated requests may
disable that admin, take its roles or revoke its token, each call makes sure it still can.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import schemathesis
from api_helpers import World, running_app
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig

from conftest import Scenario
from conftest import _empty as empty
from mailcast.clock import ManualClock
from mailcast.config import Settings
from mailcast.context import Context
from mailcast.domain import Role
from mailcast.sandbox.mta import SandboxMTA
from mailcast.send.engine import send_until_idle
from mailcast.store.db import Database
from mailcast.users import service as users
from mailcast.web.app import create_app
from mailcast.web.in_thread import WebServer

# Examples per operation and phase: about 60 operations, kept under a minute on both databases.
MAX_EXAMPLES = 5
FUZZER = "fuzz-admin"
CHECK = not_a_server_error


@contextmanager
def served(ctx: Context) -> Iterator[str]:
    """The app under uvicorn on 127.0.0.1 (a free port), in a thread, while in the block."""
    with WebServer(ctx) as web:
        yield web.base_url


class Fuzzer:
    """The admin schemathesis acts as, restored after any call that may have changed it."""

    def __init__(self, ctx: Context, base_url: str) -> None:
        self.ctx, self.base_url = ctx, base_url
        users.add_user(ctx.db, FUZZER, list(Role), None, ctx.clock)
        self.token = users.create_token(ctx.db, self._user(), "fuzz", ctx.clock)

    def call(self, case: Any) -> None:
        headers = {"Authorization": f"Bearer {self.token}"}
        case.call_and_validate(base_url=self.base_url, headers=headers, checks=[CHECK])
        if case.path.startswith("/api/users/"):
            self._restore()

    def _restore(self) -> None:
        user = users.authenticate_token(self.ctx.db, self.token)
        if user is None or user.roles != frozenset(Role):
            users.set_disabled(self.ctx.db, FUZZER, False)
            users.set_roles(self.ctx.db, FUZZER, list(Role))
            self.token = users.create_token(self.ctx.db, self._user(), "fuzz", self.ctx.clock)

    def _user(self) -> users.User:
        user = users.get_user(self.ctx.db, FUZZER)
        assert user is not None
        return user


@pytest.fixture(scope="module")
def fuzzer(db_url: str) -> Iterator[Fuzzer]:
    """One database and one server for every operation of the module: seeded once."""
    settings = Settings(database_url=db_url, secret_key="test-secret")
    ctx = Context(settings, Database(db_url), ManualClock())
    empty(ctx.db)
    with SandboxMTA(port=0) as mta, served(ctx) as base_url:
        settings.relay.port = mta.port
        _seed(ctx)
        yield Fuzzer(ctx, base_url)
    empty(ctx.db)
    ctx.db.dispose()


def _seed(ctx: Context) -> None:
    """A little of everything, with small ids, for generated requests to find."""
    author = users.add_user(ctx.db, "marie", [Role.PREPARE], None, ctx.clock)
    starter = users.add_user(ctx.db, "sam", [Role.START], None, ctx.clock)
    with running_app(ctx) as client:
        world = World(ctx, client, Scenario(ctx, author, starter))
        world.quarantine("gone@example.com")
        world.draft()
        world.prepared()
        world.scheduled()
        world.sending()
        send_until_idle(ctx)
        world.pending_confirmation()


# The document does not depend on the data: it is read from an app on no database at all.
DOCUMENT = create_app(Context(Settings(), Database("sqlite://"))).openapi()
schema = schemathesis.openapi.from_dict(
    DOCUMENT,
    config=SchemathesisConfig.from_dict(
        {"seed": 20251123, "generation": {"max-examples": MAX_EXAMPLES, "mode": "all"}}
    ),
)


@schema.parametrize()
def test_no_operation_answers_with_a_server_error(case: Any, fuzzer: Fuzzer) -> None:
    fuzzer.call(case)
