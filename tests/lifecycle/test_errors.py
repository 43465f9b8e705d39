"""Faults that retrying will not cure put the delivery in error, with the reason shown.

Each against a real SMTP server on loopback: one that refuses logins, one that wants a login,
one without STARTTLS, one whose certificate cannot be trusted, one that speaks no TLS at all;
and a template that fails for every recipient. (A relay that keeps saying "try later" pauses
the send instead: tests/send/test_relay_faults.py.)
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import pytest
from lifecycle_helpers import Relay, refuse_every_login, sending_log, untrusted_tls_context
from typer.testing import CliRunner

from conftest import Scenario
from mailcast.audience.csv_import import import_profiles
from mailcast.cli import app
from mailcast.context import Context
from mailcast.domain import DeliveryState, FailureType, MessageStatus
from mailcast.sandbox.mta import SandboxMTA
from mailcast.send.engine import send_until_idle
from mailcast.stats.deployment import Deployment, deployment

RECIPIENTS = [f"reader{n}@example.com" for n in range(6)]


def _send_into_error(ctx: Context, scenario: Scenario) -> Deployment:
    scenario.audience(RECIPIENTS)
    delivery_id = scenario.sending()
    send_until_idle(ctx)
    d = deployment(ctx, delivery_id)
    assert d.state is DeliveryState.ERROR
    # Nothing was handed over; what was left will never leave, and the log says why.
    assert (d.counts.processed, d.counts.queued, d.counts.not_sent) == (0, 0, len(RECIPIENTS))
    for line in sending_log(ctx, delivery_id).values():
        assert line["smtp_response"] == f"not sent: the send could not go on ({d.error_reason})"
    return d


@pytest.fixture
def login_refused(ctx: Context) -> Iterator[Relay]:
    with Relay(authenticator=refuse_every_login, auth_require_tls=False) as relay:
        ctx.settings.relay.port = relay.port
        ctx.settings.relay.username, ctx.settings.relay.password = "mailcast", "wrong"
        yield relay


def test_the_relay_refusing_authentication_puts_the_delivery_in_error(
    ctx: Context, scenario: Scenario, login_refused: Relay
) -> None:
    d = _send_into_error(ctx, scenario)
    assert d.error_reason is not None
    assert d.error_reason.startswith("authentication refused: 535")
    assert login_refused.count() == 0


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_a_relay_that_wants_a_login_none_is_configured_for_is_an_error(
    ctx: Context, scenario: Scenario
) -> None:
    with Relay(auth_required=True, auth_require_tls=False) as relay:
        ctx.settings.relay.port = relay.port
        d = _send_into_error(ctx, scenario)
    assert d.error_reason is not None
    assert d.error_reason.startswith("authentication required: ")


def test_starttls_not_offered_is_an_error(
    ctx: Context, scenario: Scenario, mta: SandboxMTA
) -> None:
    ctx.settings.relay.tls = "starttls"
    d = _send_into_error(ctx, scenario)
    assert d.error_reason == (
        "TLS could not be negotiated: SMTP STARTTLS extension not supported by server."
    )
    assert mta.count == 0


def test_a_starttls_handshake_that_fails_is_an_error(
    ctx: Context, scenario: Scenario, tmp_path: Path
) -> None:
    with Relay(tls_context=untrusted_tls_context(tmp_path)) as relay:
        ctx.settings.relay.port, ctx.settings.relay.tls = relay.port, "starttls"
        d = _send_into_error(ctx, scenario)
        assert relay.count() == 0
    assert d.error_reason is not None
    assert d.error_reason.startswith("TLS could not be negotiated: ")
    assert "CERTIFICATE_VERIFY_FAILED" in d.error_reason


def test_an_implicit_tls_handshake_that_fails_is_an_error(
    ctx: Context, scenario: Scenario, mta: SandboxMTA
) -> None:
    ctx.settings.relay.tls = "implicit"  # the relay speaks plain SMTP on that port
    d = _send_into_error(ctx, scenario)
    assert d.error_reason is not None
    assert d.error_reason.startswith("TLS could not be negotiated: ")


def test_a_relay_saying_try_later_a_few_times_is_no_error(ctx: Context, scenario: Scenario) -> None:
    with Relay(mail_reply="421 4.3.2 Service not available, try later") as relay:
        ctx.settings.relay.port = relay.port
        scenario.audience(RECIPIENTS[:1])
        delivery_id = scenario.sending()
        send_until_idle(ctx)
    d = deployment(ctx, delivery_id)
    assert (d.state, d.counts.queued) == (DeliveryState.SENDING, 1)  # it tries again later


# --- a template that fails for every recipient ----------------------------------------------


def _audience_with_seats(ctx: Context, folder: Path, seats: list[str]) -> None:
    """Profiles with a `seats` attribute, imported as an operator would (again to change it)."""
    path = folder / "seats.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["email", "first_name", "seats"])
        rows = zip(RECIPIENTS, seats, strict=True)
        writer.writerows([address, f"P{n}", s] for n, (address, s) in enumerate(rows))
    import_profiles(ctx.db, path, "news", ctx.clock)


SEATS_HTML = (
    "<p>{{ 100 // attributes.seats|int }} per seat</p><a href='https://x.org/u'>unsubscribe</a>"
)


def test_a_template_that_fails_for_every_recipient_puts_the_delivery_in_error(
    ctx: Context, scenario: Scenario, mta: SandboxMTA, tmp_path: Path
) -> None:
    ctx.settings.send.max_render_failures = 3
    _audience_with_seats(ctx, tmp_path, ["4"] * len(RECIPIENTS))
    delivery_id = scenario.sending(html=SEATS_HTML)  # preparation renders for everyone
    _audience_with_seats(ctx, tmp_path, ["0"] * len(RECIPIENTS))  # then the data changes

    send_until_idle(ctx)

    d = deployment(ctx, delivery_id)
    assert d.state is DeliveryState.ERROR
    assert d.error_reason is not None
    assert d.error_reason.startswith("the template fails for every recipient: HTML body: ")
    assert "ZeroDivisionError" in d.error_reason
    assert (d.counts.failed, d.counts.not_sent) == (3, len(RECIPIENTS) - 3)
    failed = [line for line in sending_log(ctx, delivery_id).values() if line["failure_type"]]
    assert {line["failure_type"] for line in failed} == {FailureType.IGNORED}
    assert mta.count == 0


def test_a_template_that_fails_for_some_recipients_only_fails_those(
    ctx: Context, scenario: Scenario, mta: SandboxMTA, tmp_path: Path
) -> None:
    ctx.settings.send.max_render_failures = 3
    _audience_with_seats(ctx, tmp_path, ["4"] * len(RECIPIENTS))
    delivery_id = scenario.sending(html=SEATS_HTML)
    _audience_with_seats(ctx, tmp_path, ["0", "0", "4", "0", "0", "0"])

    send_until_idle(ctx)

    d = deployment(ctx, delivery_id)
    assert d.state is DeliveryState.SENT
    statuses = {a: line["status"] for a, line in sending_log(ctx, delivery_id).items()}
    assert statuses[RECIPIENTS[2]] == MessageStatus.SENT
    assert list(statuses.values()).count(MessageStatus.FAILED) == 5
    assert mta.recipients_counter() == {RECIPIENTS[2]: 1}


# --- the reason, where users see it ---------------------------------------------------------


def test_the_error_reason_is_shown_by_deliveries_status_and_list(
    ctx: Context,
    scenario: Scenario,
    login_refused: Relay,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    d = _send_into_error(ctx, scenario)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MAILCAST_DATABASE_URL", ctx.settings.database_url)
    monkeypatch.setenv("COLUMNS", "300")
    runner = CliRunner()

    status = runner.invoke(app, ["deliveries", "status", str(d.delivery_id)])
    listing = runner.invoke(app, ["deliveries", "list"])

    assert status.exit_code == listing.exit_code == 0, status.output + listing.output
    assert "error [발송오류]" in status.output
    assert "authentication refused: 535" in status.output
    assert "authentication refused: 535" in listing.output
