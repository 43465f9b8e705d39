"""`mailcast deliveries proof ID --to ...` as an operator runs it, against the sandbox MTA."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import Scenario
from mailcast.cli import EXIT_REFUSED, app
from mailcast.context import Context
from mailcast.deliveries.proofs import list_proofs, set_proof_addresses
from mailcast.domain import Role
from mailcast.sandbox.mta import SandboxMTA
from mailcast.store import profiles as profile_store
from mailcast.users.service import User, add_user, create_token

ANSI = re.compile(r"\x1b\[[0-9;]*m")
HTML = '<p>Hi</p><a href="{{ unsubscribe_url }}">unsubscribe</a>'
TEXT = "Hi. Unsubscribe: {{ unsubscribe_url }}"


@pytest.fixture
def cli(
    ctx: Context, mta: SandboxMTA, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> CliRunner:
    """A runner whose commands reach the test database and relay to the sandbox MTA."""
    monkeypatch.chdir(tmp_path)  # no stray mailcast.toml is read
    monkeypatch.setenv("MAILCAST_DATABASE_URL", ctx.settings.database_url)
    monkeypatch.setenv("MAILCAST_SECRET_KEY", ctx.settings.secret_key or "")
    monkeypatch.setenv("MAILCAST_RELAY__PORT", str(mta.port))
    monkeypatch.setenv("COLUMNS", "200")
    for name in ("MAILCAST_TOKEN", "MAILCAST_CONFIG", "FORCE_COLOR"):
        monkeypatch.delenv(name, raising=False)
    return CliRunner()


@pytest.fixture
def delivery_id(ctx: Context, scenario: Scenario) -> int:
    with ctx.db.write() as conn:
        profile_store.ensure_list(conn, "news", ctx.clock.now())
    return scenario.delivery(html=HTML, text=TEXT)


def _token(ctx: Context, user: User) -> str:
    return create_token(ctx.db, user, None, ctx.clock)


def test_proofs_go_to_the_addresses_given(
    cli: CliRunner, ctx: Context, marie: User, mta: SandboxMTA, delivery_id: int
) -> None:
    args = ["deliveries", "proof", str(delivery_id), "--token", _token(ctx, marie)]

    result = cli.invoke(app, [*args, "--to", "a@example.com", "--to", "b@example.com"])

    assert result.exit_code == 0, result.output
    output = ANSI.sub("", result.output)
    assert "sent a@example.com: 250" in output
    assert "sent b@example.com: 250" in output
    assert sorted(mta.recipients_counter()) == ["a@example.com", "b@example.com"]
    assert [p.address for p in list_proofs(ctx, delivery_id)] == ["a@example.com", "b@example.com"]


def test_without_to_the_delivery_proof_target_is_used_and_a_refusal_fails_the_command(
    cli: CliRunner, ctx: Context, marie: User, mta: SandboxMTA, delivery_id: int
) -> None:
    set_proof_addresses(ctx, marie, delivery_id, ["ok@example.com", "unknown-b@example.com"])

    result = cli.invoke(
        app, ["deliveries", "proof", str(delivery_id), "--token", _token(ctx, marie)]
    )

    assert result.exit_code == 1, result.output
    output = ANSI.sub("", result.output)
    assert "sent ok@example.com: 250" in output
    assert "not sent unknown-b@example.com: 550" in output


def test_a_user_without_the_role_is_refused_and_nothing_is_sent(
    cli: CliRunner, ctx: Context, mta: SandboxMTA, delivery_id: int
) -> None:
    approver = add_user(ctx.db, "ada", [Role.APPROVE], None, ctx.clock)
    args = ["deliveries", "proof", str(delivery_id), "--to", "a@example.com"]

    result = cli.invoke(app, [*args, "--token", _token(ctx, approver)])

    assert result.exit_code == EXIT_REFUSED
    assert "the role 'prepare_deliveries' is missing" in ANSI.sub("", result.output)
    assert mta.count == 0
