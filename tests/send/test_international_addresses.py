"""Non-ASCII addresses either go out (SMTPUTF8, IDNA A-labels) or are refused up front."""

from __future__ import annotations

import email
from collections.abc import Iterator
from email import policy
from email.message import EmailMessage

import pytest

from conftest import Scenario
from mailcast.audience.csv_import import add_profile
from mailcast.context import Context
from mailcast.domain import (
    DeliveryState,
    ExclusionReason,
    FailureReason,
    FailureType,
    MessageStatus,
    SendState,
)
from mailcast.sandbox.handler import Received
from mailcast.sandbox.mta import SandboxMTA
from mailcast.send.engine import send_until_idle
from mailcast.stats.deployment import deployment
from mailcast.store import addresses as address_store
from mailcast.store import deliveries as delivery_store
from mailcast.store import messages as message_store

JOSE = "josé@exemple.fr"
CHINESE = "用户@例子.广告"
# 例子.广告 in IDNA 2008 A-labels, the form the relay and the sending log carry.
CHINESE_WIRE = "用户@xn--fsqu00a.xn--4rr70v"
IDN_ASCII_LOCAL = "user@例子.广告"
IDN_ASCII_LOCAL_WIRE = "user@xn--fsqu00a.xn--4rr70v"


@pytest.fixture
def ascii_only_relay(ctx: Context) -> Iterator[SandboxMTA]:
    """A real SMTP server on loopback that does not offer SMTPUTF8."""
    with SandboxMTA(port=0, smtputf8=False) as server:
        ctx.settings.relay.port = server.port
        yield server


def _log(ctx: Context, delivery_id: int) -> dict[str, dict]:
    with ctx.db.read() as conn:
        rows = message_store.sending_log(conn, delivery_id, limit=10_000)
    return {row["address"]: dict(row) for row in rows}


def _received(relay: SandboxMTA) -> dict[str, Received]:
    return {r.recipients[0]: r for r in relay.received()}


def _parsed(received: Received) -> EmailMessage:
    # RFC 6532: the headers are UTF-8.
    parsed = email.message_from_string((received.data or b"").decode(), policy=policy.SMTPUTF8)
    assert isinstance(parsed, EmailMessage)
    return parsed


def test_non_ascii_addresses_go_out_with_smtputf8_where_the_relay_offers_it(
    ctx: Context, scenario: Scenario, mta: SandboxMTA
) -> None:
    ctx.settings.relay.smtputf8 = True
    first, last = 'José "Jo"', "Dupont, fils"
    add_profile(ctx.db, ctx.clock, JOSE, first_name=first, last_name=last, lists=("news",))
    scenario.audience([CHINESE, "plain@example.com"])
    delivery_id = scenario.sending()
    assert deployment(ctx, delivery_id).counts.to_deliver == 3

    send_until_idle(ctx)

    received = _received(mta)
    assert sorted(received) == sorted([JOSE, CHINESE_WIRE, "plain@example.com"])
    log = _log(ctx, delivery_id)
    assert {row["status"] for row in log.values()} == {MessageStatus.SENT}
    for address, message in received.items():
        # SMTPUTF8 only where the address needs it; VERP and Message-ID stay ASCII.
        assert ("SMTPUTF8" in message.mail_params) is (address != "plain@example.com")
        assert message.mail_from.isascii() and (message.message_id or "").isascii()
        assert ctx.signer.message_from_return_path(message.mail_from) == log[address]["id"]
    # RFC 6533: the original recipient in ASCII, each other character as \x{code point}.
    assert received[JOSE].params_for(JOSE)["ORCPT"] == "utf-8;jos\\x{E9}@exemple.fr"
    [to] = _parsed(received[JOSE])["To"].addresses
    assert (to.display_name, to.addr_spec) == ('José "Jo" Dupont, fils', JOSE)
    assert _parsed(received[CHINESE_WIRE])["To"].addresses[0].addr_spec == CHINESE_WIRE
    shown = deployment(ctx, delivery_id)
    assert (shown.kpis.processed, shown.kpis.delivered_pct) == (3, 100.0)


def test_without_smtputf8_a_non_ascii_local_part_is_left_out_at_preparation_and_an_idn_goes(
    ctx: Context, scenario: Scenario, ascii_only_relay: SandboxMTA
) -> None:
    assert ctx.settings.relay.smtputf8 is False  # the default
    scenario.audience([JOSE, IDN_ASCII_LOCAL])
    delivery_id = scenario.sending()

    with ctx.db.read() as conn:
        [excluded] = delivery_store.exclusion_log(conn, delivery_id)
    assert (excluded["address"], excluded["reason"]) == (JOSE, ExclusionReason.SMTPUTF8_REQUIRED)
    assert "SMTPUTF8" in excluded["detail"] and "relay.smtputf8" in excluded["detail"]
    shown = deployment(ctx, delivery_id)
    assert shown.counts.to_deliver == 1
    assert shown.exclusions == {ExclusionReason.SMTPUTF8_REQUIRED: 1}

    send_until_idle(ctx)

    [message] = ascii_only_relay.received()
    assert message.recipients == (IDN_ASCII_LOCAL_WIRE,)
    assert "SMTPUTF8" not in message.mail_params
    assert (message.data or b"").isascii()
    assert _parsed(message)["To"].addresses[0].addr_spec == IDN_ASCII_LOCAL_WIRE
    assert _log(ctx, delivery_id)[IDN_ASCII_LOCAL_WIRE]["status"] == MessageStatus.SENT


def test_a_relay_without_smtputf8_at_send_time_fails_the_message_and_spares_the_address(
    ctx: Context, scenario: Scenario, ascii_only_relay: SandboxMTA
) -> None:
    ctx.settings.relay.smtputf8 = True  # the setting says yes, the relay says no
    scenario.audience([JOSE, "plain@example.com"])
    delivery_id = scenario.sending()

    send_until_idle(ctx)

    assert sorted(ascii_only_relay.recipients_counter()) == ["plain@example.com"]
    assert ascii_only_relay.refusals() == []
    line = _log(ctx, delivery_id)[JOSE]
    assert (line["status"], line["send_state"]) == (MessageStatus.FAILED, SendState.DONE)
    assert (line["failure_type"], line["failure_reason"]) == (
        FailureType.IGNORED,
        FailureReason.ERROR_IGNORED,
    )
    assert "does not offer SMTPUTF8" in line["smtp_response"]
    assert "codec" not in line["smtp_response"]
    with ctx.db.read() as conn:
        assert address_store.get_address_state(conn, JOSE) is None
    assert deployment(ctx, delivery_id).state is DeliveryState.SENT
