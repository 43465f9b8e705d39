"""The operators' commands of the lifecycle: create with a send date, cancel a schedule,
duplicate, and the list of deliveries with their states in colour."""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path

import pytest
from lifecycle_helpers import Relay, refuse_every_login
from rich.color import ColorSystem
from rich.console import Console
from rich.style import Style
from typer.testing import CliRunner, Result

from conftest import Scenario
from mailcast.cli import EXIT_REFUSED, app
from mailcast.context import Context
from mailcast.deliveries.service import confirm_send, duplicate_delivery
from mailcast.domain import STIBEE_LABELS, DeliveryState, Role
from mailcast.send.engine import send_until_idle
from mailcast.store import deliveries as delivery_store
from mailcast.users.service import User, add_user, create_token

CREATED = re.compile(r"delivery (\d+) created")


@pytest.fixture
def cli(ctx: Context, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> CliRunner:
    """A runner whose commands reach the test database, as the operator's shell would."""
    monkeypatch.chdir(tmp_path)  # no stray mailcast.toml is read
    monkeypatch.setenv("MAILCAST_DATABASE_URL", ctx.settings.database_url)
    monkeypatch.setenv("MAILCAST_SECRET_KEY", ctx.settings.secret_key or "")
    monkeypatch.setenv("COLUMNS", "250")
    for name in ("MAILCAST_TOKEN", "MAILCAST_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    return CliRunner()


def _run(cli: CliRunner, *args: str) -> Result:
    return cli.invoke(app, list(args))


def _token(ctx: Context, user: User) -> str:
    return create_token(ctx.db, user, "cli", ctx.clock)


def _row(ctx: Context, delivery_id: int) -> dict:
    with ctx.db.read() as conn:
        return dict(delivery_store.get_delivery(conn, delivery_id))


def test_create_with_a_send_date_in_a_time_zone(
    ctx: Context, cli: CliRunner, scenario: Scenario, marie: User
) -> None:
    scenario.audience(["a@example.com"])
    result = _run(
        cli,
        "deliveries", "create", "--token", _token(ctx, marie),
        "--name", "spring", "--subject", "Hi", "--from", "news@example.com", "--list", "news",
        "--send-at", "2030-03-02T09:00", "--timezone", "Europe/Paris",
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    match = CREATED.search(result.output)
    assert match, result.output
    row = _row(ctx, int(match.group(1)))
    assert (row["send_at"], row["send_timezone"]) == (
        dt.datetime(2030, 3, 2, 8, 0, tzinfo=dt.UTC),
        "Europe/Paris",
    )
    listing = _run(cli, "deliveries", "list")
    assert "2030-03-02 09:00 Europe/Paris" in listing.output


def test_create_refuses_an_unknown_zone_and_a_date_it_cannot_read(
    ctx: Context, cli: CliRunner, scenario: Scenario, marie: User
) -> None:
    scenario.audience(["a@example.com"])
    common = ["deliveries", "create", "--token", _token(ctx, marie), "--name", "x",
              "--subject", "Hi", "--from", "news@example.com", "--list", "news"]  # fmt: skip

    zone = _run(cli, *common, "--send-at", "2030-03-02T09:00", "--timezone", "Paris")
    date = _run(cli, *common, "--send-at", "next tuesday")

    assert zone.exit_code == 1 and "unknown time zone 'Paris'" in zone.output
    assert date.exit_code == 2 and "not an ISO 8601 date" in date.output
    with ctx.db.read() as conn:
        assert delivery_store.list_deliveries(conn) == []


def test_cancel_schedule_and_duplicate(
    ctx: Context, cli: CliRunner, scenario: Scenario, marie: User, sam: User
) -> None:
    scenario.audience(["a@example.com"])
    delivery_id = scenario.prepared(send_at=dt.datetime(2030, 1, 1, 9, 0))
    confirm_send(ctx, sam, delivery_id)

    refused = _run(
        cli, "deliveries", "cancel-schedule", str(delivery_id), "--token", _token(ctx, marie)
    )
    cancelled = _run(
        cli, "deliveries", "cancel-schedule", str(delivery_id), "--token", _token(ctx, sam)
    )
    copied = _run(
        cli, "deliveries", "duplicate", str(delivery_id), "--leave-out-delivered",
        "--token", _token(ctx, marie),
    )  # fmt: skip

    assert refused.exit_code == EXIT_REFUSED and "start_deliveries" in refused.output
    assert cancelled.exit_code == 0, cancelled.output
    assert "schedule cancelled" in cancelled.output
    assert _row(ctx, delivery_id)["state"] == DeliveryState.DRAFT
    assert copied.exit_code == 0, copied.output
    match = CREATED.search(copied.output)
    assert match, copied.output
    copy = _row(ctx, int(match.group(1)))
    assert (copy["copied_from_id"], copy["leave_out_delivered"], copy["send_at"]) == (
        delivery_id,
        True,
        None,
    )


def test_the_list_shows_each_state_in_its_colour_with_stibee_words(
    ctx: Context, cli: CliRunner, scenario: Scenario, sam: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    scenario.audience(["a@example.com"])
    scenario.delivery(name="being written")
    scheduled = scenario.prepared(name="for later", send_at=dt.datetime(2030, 1, 1, 9, 0))
    confirm_send(ctx, sam, scheduled)
    with Relay(authenticator=refuse_every_login, auth_require_tls=False) as relay:
        ctx.settings.relay.port = relay.port
        ctx.settings.relay.username, ctx.settings.relay.password = "mailcast", "wrong"
        scenario.sending(name="went wrong")
        send_until_idle(ctx)
    ctx.settings.relay.username = ctx.settings.relay.password = None
    scenario.sending(name="going out")
    # A colour terminal, as the operator's.
    screen = io.StringIO()
    terminal = Console(file=screen, force_terminal=True, color_system="256", width=250)
    monkeypatch.setattr("mailcast.cli.deliveries.out", terminal)

    result = _run(cli, "deliveries", "list")

    assert result.exit_code == 0, result.output
    shown = screen.getvalue()
    for state, name in [
        (DeliveryState.DRAFT, "being written"),
        (DeliveryState.SCHEDULED, "for later"),
        (DeliveryState.ERROR, "went wrong"),
        (DeliveryState.SENDING, "going out"),
    ]:
        word, colour = STIBEE_LABELS[state]
        line = next(line for line in shown.splitlines() if name in line)
        assert _coloured(state.value, colour) in line
        assert _coloured(word, colour) in line
    assert "authentication refused: 535" in shown


def _coloured(text: str, colour: str) -> str:
    return Style(color=colour).render(text, color_system=ColorSystem.EIGHT_BIT)


def test_delete_a_draft_and_only_a_draft(
    ctx: Context, cli: CliRunner, scenario: Scenario, marie: User
) -> None:
    scenario.audience(["a@example.com"])
    draft, prepared = scenario.delivery(), scenario.prepared()
    copy_id = duplicate_delivery(ctx, marie, draft)  # a copy outlives its original
    approver = add_user(ctx.db, "ann", [Role.APPROVE], None, ctx.clock)

    refused = _run(cli, "deliveries", "delete", str(draft), "--token", _token(ctx, approver))
    not_draft = _run(cli, "deliveries", "delete", str(prepared), "--token", _token(ctx, marie))
    deleted = _run(cli, "deliveries", "delete", str(draft), "--token", _token(ctx, marie))

    assert refused.exit_code == EXIT_REFUSED and "prepare_deliveries" in refused.output
    assert not_draft.exit_code != 0 and "only a draft can be deleted" in not_draft.output
    assert deleted.exit_code == 0, deleted.output
    assert f"delivery {draft} deleted" in deleted.output
    with ctx.db.read() as conn:
        assert [row["id"] for row in delivery_store.list_deliveries(conn)] == [copy_id, prepared]
    assert _row(ctx, copy_id)["copied_from_id"] is None
