"""The statistics commands as operators run them: compute-stats, report, profiles history."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from sqlalchemy import update
from stats_helpers import hit, log_by_address
from typer.testing import CliRunner, Result

from conftest import Scenario
from mailcast.cli import app
from mailcast.clock import ManualClock
from mailcast.context import Context
from mailcast.sandbox.mta import SandboxMTA
from mailcast.send.engine import send_until_idle
from mailcast.store.tables import delivery_counters
from mailcast.tracking.tokens import TokenKind
from mailcast.tracking.unsubscribe import unsubscribe

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


def _run(cli: CliRunner, *args: str) -> Result:
    return cli.invoke(app, list(args))


def _ok(cli: CliRunner, *args: str) -> str:
    result = _run(cli, *args)
    assert result.exit_code == 0, result.output
    return ANSI.sub("", result.output)


@pytest.fixture
def delivery_id(ctx: Context, scenario: Scenario, mta: SandboxMTA, clock: ManualClock) -> int:
    """Sent to three (one refused); ann opened and clicked, then unsubscribed."""
    scenario.audience(["ann@example.com", "bob@example.org", "unknown@example.org"])
    delivery_id = scenario.sending(name="Spring")
    send_until_idle(ctx)
    ann = log_by_address(ctx, delivery_id)["ann@example.com"]["id"]
    hit(ctx, TokenKind.OPEN, ann)
    hit(ctx, TokenKind.CLICK, ann)
    unsubscribe(ctx, ann, clock.now(), "page")
    return delivery_id


def test_compute_stats_says_there_is_no_drift_then_reports_and_fixes_one(
    cli: CliRunner, ctx: Context, delivery_id: int
) -> None:
    assert "no drift" in _ok(cli, "deliveries", "compute-stats", str(delivery_id))
    with ctx.db.write() as conn:
        conn.execute(
            update(delivery_counters)
            .where(delivery_counters.c.delivery_id == delivery_id)
            .values(unique_clicks=4)
        )

    output = _ok(cli, "deliveries", "compute-stats", str(delivery_id))

    row = next(line for line in output.splitlines() if "unique_clicks" in line)
    assert re.findall(r"[+\w]+", row) == ["unique_clicks", "4", "1", "+3"]  # live, recount, drift
    assert "1 counter(s) corrected" in output
    assert "no drift" in _ok(cli, "deliveries", "compute-stats", str(delivery_id))


def test_report_as_json_and_as_tables(cli: CliRunner, delivery_id: int) -> None:
    data = json.loads(_ok(cli, "deliveries", "report", str(delivery_id), "--json"))
    assert (data["counts"]["sent"], data["counts"]["failed"]) == (2, 1)
    assert (data["kpis"]["open_rate"], data["kpis"]["click_rate"]) == (50.0, 50.0)
    assert data["unsubscribed"] == 1
    assert [d["domain"] for d in data["domains"]] == ["example.org", "example.com"]

    text = _ok(cli, "deliveries", "report", str(delivery_id))
    assert "Report — delivery" in text and "Per hour (UTC)" in text
    assert re.search(r"hard\W+user unknown\W+1", text)


def test_an_unknown_delivery_is_a_clear_error(cli: CliRunner, ctx: Context) -> None:
    for command in ("compute-stats", "report"):
        result = _run(cli, "deliveries", command, "999")
        assert result.exit_code == 1
        assert "error:" in result.output


def test_profiles_history(cli: CliRunner, delivery_id: int) -> None:
    text = _ok(cli, "profiles", "history", "ann@example.com")
    assert "unsubscribed (email denylist)" in text
    row = next(line for line in text.splitlines() if "Spring" in line)
    assert "sent" in row

    result = _run(cli, "profiles", "history", "nobody@example.com")
    assert result.exit_code == 1
    assert "no profile has the address" in result.output
