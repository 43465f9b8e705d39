"""Shared fixtures: one database per test session (SQLite file or PostgreSQL), emptied per test."""

from __future__ import annotations

import csv
import os
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings as hypothesis_settings
from sqlalchemy import text

from mailcast.audience.csv_import import add_profile, import_profiles
from mailcast.audience.target import Target
from mailcast.clock import ManualClock
from mailcast.config import BounceSettings, Settings
from mailcast.context import Context
from mailcast.deliveries.service import DeliveryDraft, confirm_send, create_delivery
from mailcast.domain import Role
from mailcast.prepare.preparation import prepare_delivery
from mailcast.sandbox.mta import SandboxMTA
from mailcast.store.db import Database
from mailcast.store.tables import metadata
from mailcast.users.service import User, add_user

SHARED = Path(__file__).resolve().parents[2] / "shared"
CORPUS = SHARED / "corpus"
_NO_CORPUS = f"needs the shared corpus at {CORPUS}, which is not beside this checkout (CI has it)"
# For tests that read the corpus when pytest collects them.
needs_corpus = pytest.mark.skipif(not CORPUS.is_dir(), reason=_NO_CORPUS)


def corpus_file(relative: str) -> Path:
    """A file of the shared corpus; the calling test skips, saying so, where it is absent."""
    path = CORPUS / relative
    if not path.exists():
        pytest.skip(_NO_CORPUS)
    return path


# CI replays the same examples on every run, so a red build always points at a change; local
# runs keep exploring new ones (and `.hypothesis/` remembers any failure they find).
hypothesis_settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")


@pytest.fixture(scope="session")
def db_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("MAILCAST_TEST_DATABASE_URL")
    if not url:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'mailcast-test.db'}"
    database = Database(url)
    with database.write() as conn:
        # A clean schema from the migrations, whatever an earlier run left behind.
        metadata.drop_all(conn)
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    database.upgrade()
    database.dispose()
    return url


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = Database(db_url)
    _empty(database)
    yield database
    database.dispose()


def _empty(database: Database) -> None:
    names = [t.name for t in metadata.sorted_tables]
    with database.write() as conn:
        if database.is_sqlite:
            for name in reversed(names):
                conn.execute(text(f"DELETE FROM {name}"))
        else:
            conn.execute(text(f"TRUNCATE {', '.join(names)} RESTART IDENTITY CASCADE"))


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def settings(db_url: str) -> Settings:
    # The report consumer runs on a thread: it reads the tests' manual clock; it applies
    # each report as it comes, so that a test hands reports over one by one quickly.
    return Settings(
        database_url=db_url,
        secret_key="test-secret",
        bounces=BounceSettings(consumer_processes=0, gather_seconds=0),
    )


# --- scenario fixtures: users, audience, deliveries, a sandbox MTA ------------------------


@pytest.fixture
def ctx(db: Database, clock: ManualClock, settings: Settings) -> Context:
    return Context(settings, db, clock)


@pytest.fixture
def mta(ctx: Context) -> Iterator[SandboxMTA]:
    """A real SMTP server on loopback, and the context's relay pointed at it."""
    with SandboxMTA(port=0) as server:
        ctx.settings.relay.port = server.port
        yield server


@pytest.fixture
def marie(ctx: Context) -> User:
    return add_user(ctx.db, "marie", [Role.PREPARE], None, ctx.clock)


@pytest.fixture
def sam(ctx: Context) -> User:
    return add_user(ctx.db, "sam", [Role.START], None, ctx.clock)


class Scenario:
    """Builds audiences and deliveries through the same service functions as the CLI."""

    def __init__(self, ctx: Context, author: User, starter: User) -> None:
        self.ctx, self.author, self.starter = ctx, author, starter

    def audience(self, addresses: Sequence[str | None], list_name: str = "news") -> None:
        """Profiles named P0, P1, ... in a list; through a CSV import, as users would."""
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "audience.csv"
            with path.open("w", newline="") as handle:
                writer = csv.writer(handle)
                writer.writerow(["email", "first_name"])
                writer.writerows([a, f"P{n}"] for n, a in enumerate(addresses) if a is not None)
            import_profiles(self.ctx.db, path, list_name, self.ctx.clock)
        for n, address in enumerate(addresses):
            if address is None:
                add_profile(
                    self.ctx.db, self.ctx.clock, None, first_name=f"P{n}", lists=(list_name,)
                )

    def delivery(self, list_name: str = "news", **fields: Any) -> int:
        values: dict[str, Any] = {
            "name": "test delivery",
            "subject": "Hello {{ first_name }}",
            "from_addr": "News <news@example.com>",
            "target": Target((list_name,)),
            "html": '<p>Hi {{ first_name }} <a href="https://example.com/x">x</a> '
            '<a href="{{ unsubscribe_url }}">unsubscribe</a></p>',
            "text": "Hi {{ first_name }}, unsubscribe: https://example.com/u",
        } | fields
        return create_delivery(self.ctx, self.author, DeliveryDraft(**values))

    def prepared(self, **fields: Any) -> int:
        delivery_id = self.delivery(**fields)
        result = prepare_delivery(self.ctx, self.author, delivery_id)
        assert not result.blocked, result.findings
        return delivery_id

    def sending(self, **fields: Any) -> int:
        delivery_id = self.prepared(**fields)
        confirm_send(self.ctx, self.starter, delivery_id)
        return delivery_id


@pytest.fixture
def scenario(ctx: Context, marie: User, sam: User) -> Scenario:
    return Scenario(ctx, marie, sam)
