"""The bounce receiver over real SMTP: who may be written to, what is kept, what is applied."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import aiosmtplib
import pytest
from sqlalchemy import RowMapping, select
from typer.testing import CliRunner

from bounce_mail import Sent, dsn, hand_over, sent
from conftest import Scenario
from mailcast.cli import app
from mailcast.context import Context
from mailcast.domain import (
    EventKind,
    FailureReason,
    FailureType,
    MessageStatus,
    ReportOutcome,
    Role,
)
from mailcast.feedback.receiver import BounceReceiver
from mailcast.sandbox.mta import SandboxMTA
from mailcast.send.engine import send_until_idle
from mailcast.stats.deployment import deployment
from mailcast.store import messages as message_store
from mailcast.store.tables import events, inbound_reports
from mailcast.users.service import add_user, create_token

ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture
def receiver(ctx: Context) -> Iterator[BounceReceiver]:
    with BounceReceiver(ctx, port=0) as server:
        yield server


def _reports(ctx: Context) -> list[RowMapping]:
    with ctx.db.read() as conn:
        return list(conn.execute(select(inbound_reports).order_by(inbound_reports.c.id)).mappings())


def _rcpt_codes(port: int, addresses: list[str]) -> dict[str, int]:
    async def dialogue() -> dict[str, int]:
        async with aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=30) as smtp:
            await smtp.ehlo()
            await smtp.mail("")
            codes = {}
            for address in addresses:
                try:
                    codes[address] = (await smtp.rcpt(address)).code
                except aiosmtplib.SMTPRecipientRefused as exc:
                    codes[address] = exc.code
            return codes

    return asyncio.run(dialogue())


def _one_sent(
    ctx: Context, scenario: Scenario, addresses: list[str]
) -> tuple[int, dict[str, Sent]]:
    scenario.audience(addresses)
    delivery_id = scenario.sending()
    send_until_idle(ctx)
    return delivery_id, sent(ctx, delivery_id)


def test_only_signed_return_paths_and_feedback_addresses_are_accepted(
    ctx: Context, receiver: BounceReceiver
) -> None:
    domain = ctx.settings.bounce_domain
    ours = ctx.signer.return_path(41)
    forged_signature = re.sub(r"-[0-9a-f]{12}@", "-0123456789ab@", ours)
    other_message = ours.replace("b-15-", "b-16-")  # the signature of message 41 on 42

    codes = _rcpt_codes(
        receiver.port,
        [
            ours,
            f"postmaster@{domain}",
            "postmaster",
            f"feedback@{domain}",
            f"news@{domain}",
            forged_signature,
            other_message,
            "someone@example.com",
        ],
    )

    assert codes == {
        ours: 250,
        f"postmaster@{domain}": 250,
        "postmaster": 250,
        f"feedback@{domain}": 250,
        f"news@{domain}": 550,
        forged_signature: 550,
        other_message: 550,
        "someone@example.com": 550,
    }
    assert _reports(ctx) == []


def test_a_bounce_is_kept_as_it_came_before_the_reply_and_then_applied(
    ctx: Context, scenario: Scenario, mta: SandboxMTA, receiver: BounceReceiver
) -> None:
    delivery_id, msgs = _one_sent(ctx, scenario, ["ok@example.com", "gone@example.net"])
    gone = msgs["gone@example.net"]
    bounce = dsn(gone, status="5.1.1")

    reply = hand_over(receiver, bounce, [gone.return_path])

    [report] = _reports(ctx)
    assert f"kept as report {report['id']}" in reply
    assert bytes(report["raw"]) == bounce
    assert (report["mail_from"], report["recipients"]) == ("", [gone.return_path])
    assert report["received_at"] == ctx.clock.now()
    assert (report["outcome"], report["kind"], report["applied"]) == (
        ReportOutcome.APPLIED,
        "dsn",
        1,
    )
    with ctx.db.read() as conn:
        log = {r["address"]: r for r in message_store.sending_log(conn, delivery_id)}
        [event] = conn.execute(select(events).where(events.c.kind == EventKind.BOUNCED)).mappings()
    line = log["gone@example.net"]
    assert (line["status"], line["failure_type"], line["failure_reason"]) == (
        MessageStatus.FAILED,
        FailureType.HARD,
        FailureReason.USER_UNKNOWN,
    )
    assert log["ok@example.com"]["status"] == MessageStatus.SENT
    assert event["message_id"] == gone.id
    assert event["detail"]["report_id"] == report["id"]  # the raw DSN behind the event
    k = deployment(ctx, delivery_id).kpis
    assert (k.delivered_pct, k.bounces_pct) == (50.0, 50.0)


def test_the_same_bounce_twice_is_kept_twice_and_applied_once(
    ctx: Context, scenario: Scenario, mta: SandboxMTA, receiver: BounceReceiver
) -> None:
    delivery_id, msgs = _one_sent(ctx, scenario, ["gone@example.net", "ok@example.com"])
    gone = msgs["gone@example.net"]
    bounce = dsn(gone)
    # The second copy took another route: a trace header more, the same report.
    again = b"Received: from mx2.relay.example by mx.relay.example; Mon, 5 Jan 2026\r\n" + bounce

    hand_over(receiver, bounce, [gone.return_path])
    hand_over(receiver, again, [gone.return_path])

    outcomes = [(r["outcome"], r["applied"], r["duplicates"]) for r in _reports(ctx)]
    assert outcomes == [(ReportOutcome.APPLIED, 1, 0), (ReportOutcome.DUPLICATE, 0, 1)]
    with ctx.db.read() as conn:
        bounced = conn.execute(select(events).where(events.c.kind == EventKind.BOUNCED)).all()
    assert len(bounced) == 1
    d = deployment(ctx, delivery_id)
    assert (d.counts.sent, d.counts.failed) == (1, 1)


def test_what_cannot_be_read_is_kept_counted_and_listed(
    ctx: Context,
    receiver: BounceReceiver,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    postmaster = f"postmaster@{ctx.settings.bounce_domain}"
    note = (
        b"From: someone@example.org\r\nTo: " + postmaster.encode() + b"\r\n"
        b"Subject: Where do I unsubscribe?\r\n\r\nPlease take me off your list.\r\n"
    )

    hand_over(receiver, note, [postmaster], sender="someone@example.org")

    [report] = _reports(ctx)
    assert (report["outcome"], report["kind"]) == (ReportOutcome.UNPARSED, "not_bounce")
    assert bytes(report["raw"]) == note

    viewer = add_user(ctx.db, "vic", [Role.PREPARE], None, ctx.clock)
    token = create_token(ctx.db, viewer, "cli", ctx.clock)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MAILCAST_DATABASE_URL", ctx.settings.database_url)
    monkeypatch.setenv("MAILCAST_SECRET_KEY", ctx.settings.secret_key or "")
    monkeypatch.setenv("COLUMNS", "200")
    runner = CliRunner()

    listed = runner.invoke(app, ["bounces", "unparsed", "--token", token])
    assert listed.exit_code == 0, listed.output
    output = ANSI.sub("", listed.output)
    assert "Where do I unsubscribe?" in output and "someone@example.org" in output
    assert "unparsed: 1" in output and "applied: 0" in output

    shown = runner.invoke(app, ["bounces", "show", str(report["id"]), "--token", token])
    assert shown.exit_code == 0
    assert shown.stdout_bytes == note

    refused = runner.invoke(app, ["bounces", "unparsed", "--token", "mc_not-a-token"])
    assert refused.exit_code == 3


def test_a_message_over_the_size_limit_is_refused_and_not_kept(ctx: Context) -> None:
    ctx.settings.bounces.max_message_bytes = 4096
    big = b"Subject: big\r\n\r\n" + b"x" * 70 + b"\r\n"
    big = big * 100
    with BounceReceiver(ctx, port=0) as receiver:
        with pytest.raises(aiosmtplib.SMTPResponseException) as refused:
            hand_over(receiver, big, [f"postmaster@{ctx.settings.bounce_domain}"])
        assert refused.value.code == 552
        small = b"Subject: small\r\n\r\nhello\r\n"
        hand_over(receiver, small, [f"postmaster@{ctx.settings.bounce_domain}"])
    assert [bytes(r["raw"]) for r in _reports(ctx)] == [small]


def test_connections_past_the_limit_are_told_to_come_back_later(ctx: Context) -> None:
    ctx.settings.bounces.max_connections = 2

    async def connect_three(port: int) -> tuple[int, int | None]:
        first = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=30)
        second = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=30)
        await first.connect()
        await second.connect()
        third = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=30)
        code = None
        try:
            await third.connect()
        except aiosmtplib.SMTPConnectResponseError as exc:
            code = exc.code
        noop = await second.noop()  # the connections within the limit still work
        await first.quit()
        await second.quit()
        return code or 0, noop.code

    with BounceReceiver(ctx, port=0) as receiver:
        refused, still_served = asyncio.run(connect_three(receiver.port))
    assert (refused, still_served) == (421, 250)


def test_mailcast_bounces_runs_the_receiver_alone(
    ctx: Context, scenario: Scenario, mta: SandboxMTA, tmp_path: Path
) -> None:
    delivery_id, msgs = _one_sent(ctx, scenario, ["gone@example.net"])
    gone = msgs["gone@example.net"]
    env = os.environ | {
        "MAILCAST_DATABASE_URL": ctx.settings.database_url,
        "MAILCAST_SECRET_KEY": ctx.settings.secret_key or "",
        "COLUMNS": "200",
    }
    command = [sys.executable, "-m", "mailcast", "bounces", "--port", "0"]
    with subprocess.Popen(
        command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, text=True
    ) as process:
        assert process.stdout is not None
        banner = process.stdout.readline()
        listening = re.search(r"listening on 127\.0\.0\.1:(\d+) ", banner)
        assert listening, banner
        hand_over(int(listening.group(1)), dsn(gone), [gone.return_path])
        process.send_signal(signal.SIGINT)
        try:
            rest, _ = process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()  # a failure to stop, not a hang of the whole suite
            raise

    assert process.returncode == 0
    assert "1 messages kept" in rest
    with ctx.db.read() as conn:
        [line] = message_store.sending_log(conn, delivery_id)
    assert (line["status"], line["failure_type"]) == (MessageStatus.FAILED, FailureType.HARD)


@pytest.mark.parametrize(
    "path",
    [
        "<>",
        "<> SIZE=5",
        "<a@b.example>",
        "<b-1-abc+x=y@bounces.example.com> NOTIFY=NEVER ORCPT=rfc822;a@b.example",
        "<a@b.example>  SIZE=100 BODY=8BITMIME",
        " <a@b.example>",
        "a@b.example",
        "<a..b@c>",
        "<a@[192.0.2.1]>",
        '<"x y"@c.example>',
        "<a@b.example>x",
        "<a@b.example> (comment) SIZE=1",
        "<a@b..example>",
        "<a@b.example",
        "<" + "x" * 70 + "@b.example>",
    ],
)
def test_the_receiver_reads_mail_and_rcpt_paths_as_aiosmtpd_does(path: str) -> None:
    from aiosmtpd.smtp import SMTP

    from mailcast.feedback.receiver import _ReceiverSMTP

    for limit in (0, 64):
        plain, fast = SMTP(None), _ReceiverSMTP(None, None)  # type: ignore[arg-type]
        plain.local_part_limit = fast.local_part_limit = limit
        assert fast._getaddr(path) == plain._getaddr(path)
