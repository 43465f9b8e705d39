"""`mailcast recurring` as operators use it: create, list, occurrences, confirm with roles."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from recurring_helpers import children, delivery
from typer.testing import CliRunner

from conftest import Scenario
from mailcast.cli import EXIT_REFUSED, app
from mailcast.clock import ManualClock
from mailcast.context import Context
from mailcast.domain import DeliveryState
from mailcast.recurring.occurrences import run_due_occurrences
from mailcast.recurring.service import get_recurring, list_recurring
from mailcast.users.service import User, create_token

ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture
def cli(ctx: Context, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> CliRunner:
    """A runner whose commands reach the test database, as the operator's shell would."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MAILCAST_DATABASE_URL", ctx.settings.database_url)
    monkeypatch.setenv("MAILCAST_SECRET_KEY", ctx.settings.secret_key or "")
    monkeypatch.setenv("COLUMNS", "200")
    for name in ("MAILCAST_TOKEN", "MAILCAST_CONFIG", "FORCE_COLOR"):
        monkeypatch.delenv(name, raising=False)
    return CliRunner()


def _run(cli: CliRunner, *args: str) -> tuple[int, str]:
    result = cli.invoke(app, list(args))
    return result.exit_code, ANSI.sub("", result.output)


def _create(
    cli: CliRunner, ctx: Context, user: User, tmp_path: Path, *extra: str
) -> tuple[int, str]:
    html = tmp_path / "m.html"
    html.write_text('<p>Hi {{ first_name }} <a href="https://x.org/u">unsubscribe</a></p>')
    text = tmp_path / "m.txt"
    text.write_text("Hi {{ first_name }}, unsubscribe: https://x.org/u")
    token = create_token(ctx.db, user, None, ctx.clock)
    return _run(
        cli,
        *("recurring", "create", "Morning news", "--token", token),
        *("--recurrence", "0 9 * * MON-FRI", "--timezone", "Europe/Paris"),
        *("--subject", "News for {{ first_name }}", "--from", "News <news@example.com>"),
        *("--list", "news", "--html-file", str(html), "--text-file", str(text), *extra),
    )


def test_create_list_run_and_confirm_an_occurrence(
    cli: CliRunner,
    ctx: Context,
    clock: ManualClock,
    scenario: Scenario,
    marie: User,
    sam: User,
    tmp_path: Path,
) -> None:
    scenario.audience(["ann@example.com", "bob@example.com"])

    code, output = _create(cli, ctx, marie, tmp_path)

    assert code == 0, output
    [created] = list_recurring(ctx)
    assert f"recurring delivery {created.id} created; first occurrence" in output
    assert created.next_occurrence_at is not None
    assert re.search(r"first occurrence \d{4}-\d\d-\d\d 09:00 CES?T", output), output
    code, listed = _run(cli, "recurring", "list")
    assert "Morning news" in listed and "0 9 * * MON-FRI" in listed and "Europe/Paris" in listed

    clock.set(created.next_occurrence_at)
    run_due_occurrences(ctx)
    [child] = children(ctx, created.id)
    code, shown = _run(cli, "recurring", "occurrences", str(created.id))
    assert re.search(rf"09:00 CES?T .*created .*{child['id']}", shown), shown

    marie_token = create_token(ctx.db, marie, None, ctx.clock)
    code, refused = _run(cli, "recurring", "confirm", "--token", marie_token, str(child["id"]))
    assert code == EXIT_REFUSED
    assert "'start_deliveries' is missing" in refused
    assert delivery(ctx, child["id"])["state"] == DeliveryState.PENDING_CONFIRMATION

    sam_token = create_token(ctx.db, sam, None, ctx.clock)
    code, confirmed = _run(
        cli, "recurring", "confirm", "--token", sam_token, str(child["id"]), "--yes"
    )
    assert code == 0, confirmed
    assert f"delivery {child['id']}: sending" in confirmed
    assert delivery(ctx, child["id"])["state"] == DeliveryState.SENDING


def test_create_without_confirmation_needs_start_deliveries(
    cli: CliRunner, ctx: Context, scenario: Scenario, marie: User, sam: User, tmp_path: Path
) -> None:
    scenario.audience(["ann@example.com"])

    code, output = _create(cli, ctx, marie, tmp_path, "--no-confirm", "--aggregation", "week")
    assert code == EXIT_REFUSED
    assert "'start_deliveries' is missing" in output
    assert list_recurring(ctx) == []

    code, output = _create(cli, ctx, sam, tmp_path, "--no-confirm", "--aggregation", "week")
    assert code == 0, output
    [created] = list_recurring(ctx)
    assert get_recurring(ctx, created.id).confirm_before_send is False


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        (("--timezone", "Europe/Nowhere"), "unknown time zone 'Europe/Nowhere'"),
        (("--recurrence", "every day"), "neither a cron expression"),
        (("--list", "nosuchlist"), "nosuchlist"),
    ],
)
def test_a_bad_recurrence_zone_or_list_is_refused_clearly(
    cli: CliRunner,
    ctx: Context,
    scenario: Scenario,
    marie: User,
    tmp_path: Path,
    extra: tuple[str, ...],
    says: str,
) -> None:
    scenario.audience(["ann@example.com"])

    code, output = _create(cli, ctx, marie, tmp_path, *extra)

    assert code == 1
    assert says in output
    assert list_recurring(ctx) == []


def test_create_names_the_relays_of_every_occurrence_and_refuses_an_unknown_one(
    cli: CliRunner,
    ctx: Context,
    scenario: Scenario,
    marie: User,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MAILCAST_RELAYS", '{"eu": {"port": 2601}, "backup": {"port": 2602}}')
    scenario.audience(["ann@example.com"])
    code, output = _create(cli, ctx, marie, tmp_path, "--relay", "us")
    assert code == 1 and "unknown relay 'us': the relays are eu, backup" in output
    assert list_recurring(ctx) == []

    code, output = _create(cli, ctx, marie, tmp_path, "--relay", "backup")
    assert code == 0, output
    [created] = list_recurring(ctx)
    assert created.template.relays == ["backup"]
