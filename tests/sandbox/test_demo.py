"""`mailcast demo` in both modes: the KPIs move as SPEC §4's tables say, and add up at the end."""

from __future__ import annotations

import datetime as dt
import io
import re
import signal
import tempfile
from pathlib import Path

import httpx2
import pytest
from rich.console import Console
from sqlalchemy import select
from typer.testing import CliRunner

from mailcast.cli import app
from mailcast.demo import DemoResult, run_demo
from mailcast.demo.readers import READ_FROM, UNSUBSCRIBES
from mailcast.demo.run import DEMO_VALIDITY_HOURS
from mailcast.demo.sample import UNKNOWN_USERS
from mailcast.domain import DeliveryState, EventKind, FeedbackMode, Role
from mailcast.store.db import Database
from mailcast.store.tables import events, messages
from processes import WAIT, Mailcast, mailcast_env

pytestmark = pytest.mark.slow

PROFILES = 80
SPEED = 6000.0  # ten simulated minutes per tick


# Readers read within the first half of the validity period, from READ_FROM of it on.
EARLIEST_READ = dt.timedelta(hours=DEMO_VALIDITY_HOURS) / 2 * READ_FROM


def _demo(mode: FeedbackMode, tmp_path: Path) -> tuple[DemoResult, str]:
    output = io.StringIO()
    console = Console(file=output, width=200, no_color=True)
    result = run_demo(
        console,
        exit_when_finished=True,
        mode=mode,
        profiles=PROFILES,
        speed=SPEED,
        workdir=tmp_path,
    )
    return result, output.getvalue()


def _assert_people_counted(result: DemoResult, output: str) -> None:
    """Readers opened, clicked and unsubscribed over HTTP; the counters and rates show it."""
    read, final = result.read, result.final
    sent = final.counts.sent
    assert not read.refused
    assert 0.25 * sent <= len(read.opened) <= 0.55 * sent  # about 40 % of those delivered
    assert 0 < len(read.clicked) < len(read.opened) and read.clicked <= read.opened
    assert len(read.unsubscribed) == UNSUBSCRIBES and not read.unsubscribed & read.clicked
    # They read hours after delivery in a browser: people, counted, not machine events.
    assert (final.counts.unique_opens, final.counts.unique_clicks) == (
        len(read.opened),
        len(read.clicked),
    )
    assert final.kpis.open_rate == round(100 * len(read.opened) / sent, 2) > 0
    assert final.kpis.click_rate == round(100 * len(read.clicked) / sent, 2) > 0
    last = result.timeline[-1]
    assert (last.opens, last.clicks, last.unsubscribed) == (
        len(read.opened),
        len(read.clicked),
        UNSUBSCRIBES,
    )
    assert result.timeline[0].opens == 0  # nobody reads during the hand-off
    assert f"unsubscribed ({UNSUBSCRIBES}) = readers who unsubscribed one-click" in output
    assert re.search(rf"Open rate\s*│\s*{final.kpis.open_rate:.2f} %", output)


def _assert_read_after_delivery(workdir: Path) -> None:
    """Each open came hours after its message was reported delivered, as a person's does.

    An open in the same tick as the success DSN is stamped with the delivery's own time, and
    the timing rule rightly calls it a privacy proxy: a reader lost from the unique opens.
    """
    database = Database(f"sqlite:///{workdir / 'mailcast.db'}")
    query = (
        select(events.c.at, events.c.machine, messages.c.delivered_at)
        .join(messages, messages.c.id == events.c.message_id)
        .where(events.c.kind == EventKind.OPENED)
    )
    with database.read() as conn:
        opens = conn.execute(query).all()
    database.dispose()
    assert opens
    early = [(at, delivered) for at, _, delivered in opens if at - delivered < EARLIEST_READ]
    assert early == []
    assert not any(machine for _, machine, _ in opens)


def test_legacy_demo_starts_at_100_percent_and_only_hard_bounces_lower_it(
    tmp_path: Path,
) -> None:
    result, output = _demo(FeedbackMode.LEGACY, tmp_path)

    to_deliver = result.hand_off.counts.to_deliver
    assert result.hand_off.state is DeliveryState.SENT
    assert (result.hand_off.kpis.delivered_pct, result.hand_off.kpis.bounces_pct) == (100.0, 0.0)
    delivered = [row.delivered_pct for row in result.timeline]
    assert delivered == sorted(delivered, reverse=True)  # never up: only bounces move it
    assert delivered[-1] < 100.0
    # Soft bounces (full mailboxes) and delays came too, but only the hard ones count.
    last = result.timeline[-1]
    assert sum(last.notices.values()) > UNKNOWN_USERS
    assert (last.state, last.failed, last.sent) == (
        DeliveryState.FINISHED,
        UNKNOWN_USERS,
        to_deliver - UNKNOWN_USERS,
    )
    assert result.ok, output
    assert "the numbers add up" in output
    _assert_people_counted(result, output)
    _assert_read_after_delivery(tmp_path)


def test_efs_demo_starts_at_0_percent_and_rises_with_success_dsns(tmp_path: Path) -> None:
    result, output = _demo(FeedbackMode.EFS, tmp_path)

    hand_off = result.hand_off
    assert (hand_off.kpis.delivered_pct, hand_off.kpis.bounces_pct) == (0.0, 0.0)
    assert hand_off.counts.pending == hand_off.counts.processed == hand_off.counts.to_deliver
    delivered = [row.delivered_pct for row in result.timeline]
    assert delivered == sorted(delivered)  # only up: success DSNs, then retries that succeed
    bounces = [row.bounces_pct for row in result.timeline]
    # Soft bounces and delays count at first, then their retry or late delivery is reported.
    assert max(bounces) > bounces[-1]
    last = result.timeline[-1]
    assert (last.state, last.failed, last.pending) == (DeliveryState.FINISHED, UNKNOWN_USERS, 0)
    assert result.ok, output
    assert "sent in the log" in output and "the numbers add up" in output
    _assert_people_counted(result, output)
    _assert_read_after_delivery(tmp_path)


def test_the_demo_command_exits_zero_when_the_numbers_add_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setenv("COLUMNS", "200")
    # As CI runs `make demo`: the environment, rather than --exit, ends it after the story.
    result = CliRunner().invoke(
        app,
        ["demo", "--mode", "efs", "--profiles", "40", "--speed", "20000"],
        env={"MAILCAST_DEMO_EXIT": "1"},
    )
    assert result.exit_code == 0, result.output
    assert "mailcast demo — efs mode" in result.output
    assert "the numbers add up" in result.output
    assert "finished" in result.output


def test_after_its_story_the_demo_serves_the_dashboard_to_each_user_until_sigint(
    tmp_path: Path,
) -> None:
    data = tmp_path / "demo"
    args = ["demo", "--profiles", "40", "--speed", "20000", "--data", str(data)]
    with Mailcast(*args, cwd=tmp_path, env=mailcast_env()) as demo:
        url = demo.wait_for_line(r"^dashboard  (http://127\.0\.0\.1:\d+)/dashboard/$").group(1)
        logins = {
            role: demo.wait_for_line(rf"log in as (\w+) +password (\w+) +\({role}\)")
            for role in Role
        }
        demo.wait_for_line(r"Ctrl-C stops")
        with httpx2.Client(base_url=url, timeout=WAIT) as browser:
            name, password = logins[Role.START].groups()
            assert _log_in(browser, name, "not the password").status_code == 401
            answer = _log_in(browser, name, password)
            assert (answer.status_code, answer.headers["location"]) == (303, "/dashboard/")
            home = browser.get("/dashboard/")
            assert home.status_code == 200 and "Monthly newsletter" in home.text
            assert browser.get("/healthz").json()["database"] == "ok"
        code = demo.signal(signal.SIGINT)

    assert code == 0, demo.stderr
    assert "the numbers add up" in demo.stdout
    assert demo.stdout.rstrip().endswith(f"stopped; the data stays in {data}")
    assert "Traceback" not in demo.stderr
    assert (data / "mailcast.db").exists()


def _log_in(browser: httpx2.Client, name: str, password: str) -> httpx2.Response:
    """The dashboard's login form, filled in and sent as a browser does."""
    form = browser.get("/dashboard/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert csrf, form.text
    fields = {"csrf": csrf.group(1), "name": name, "password": password, "next": "/dashboard/"}
    return browser.post("/dashboard/login", data=fields, follow_redirects=False)


def test_the_demo_refuses_a_folder_that_holds_a_database_already(tmp_path: Path) -> None:
    (tmp_path / "mailcast.db").write_bytes(b"")

    result = CliRunner().invoke(app, ["demo", "--exit", "--data", str(tmp_path)])

    assert result.exit_code == 1
    assert "holds a database already" in result.stderr
