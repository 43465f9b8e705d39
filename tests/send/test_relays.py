"""Several relays: weights, failover, relays a delivery names, per-relay quotas and CA files.
Each against real SMTP servers on loopback and the real engine."""

from __future__ import annotations

import datetime as dt
import socket
from collections import Counter
from pathlib import Path

from aiosmtpd.smtp import AuthResult
from recording_relay import RecordingRelay
from scripted_relay import ScriptedRelay
from worker_helpers import sending_log, wait_until

from conftest import Scenario
from engine_thread import engine_running
from mailcast.clock import SystemClock
from mailcast.config import RelaySettings
from mailcast.context import Context
from mailcast.domain import DeliveryState, MessageStatus
from mailcast.send.engine import send_until_idle
from mailcast.stats.deployment import deployment
from mailcast.store import addresses as address_store
from tls_certs import self_signed


def _addresses(scenario: Scenario, count: int, prefix: str = "r") -> list[str]:
    addresses = [f"{prefix}{n}@example.com" for n in range(count)]
    scenario.audience(addresses, list_name=f"list-{prefix}")
    return addresses


def _relays(ctx: Context, **relays: RelaySettings) -> None:
    ctx.settings.relays = relays


def _no_address_touched(ctx: Context) -> bool:
    with ctx.db.read() as conn:
        return not address_store.count_by_status(conn)


def test_messages_spread_over_the_relays_by_weight(ctx: Context, scenario: Scenario) -> None:
    addresses = _addresses(scenario, 400)
    with ScriptedRelay({}) as a, ScriptedRelay({}) as b:
        _relays(ctx, a=RelaySettings(port=a.port, weight=3), b=RelaySettings(port=b.port))
        delivery_id = scenario.sending(list_name="list-r")
        send_until_idle(ctx)
    assert a.accepted() + b.accepted() == dict.fromkeys(addresses, 1)
    assert 240 <= a.accepted().total() <= 360  # three in four, give or take chance
    assert deployment(ctx, delivery_id).state is DeliveryState.SENT


def test_an_unreachable_relay_leaves_the_rotation_and_comes_back_after_its_probe(
    ctx: Context, scenario: Scenario
) -> None:
    ctx.clock = SystemClock()  # the engine runs on its own thread, on the real time
    ctx.settings.send.probe_first_seconds = 0.1
    ctx.settings.send.probe_max_seconds = 0.2
    first = _addresses(scenario, 60, "first")
    second = _addresses(scenario, 200, "second")
    port = _free_port()
    with ScriptedRelay({}) as b:
        _relays(ctx, a=RelaySettings(port=port), b=RelaySettings(port=b.port))
        with engine_running(ctx):
            delivery_id = scenario.sending(list_name="list-first")
            wait_until(lambda: deployment(ctx, delivery_id).state is DeliveryState.SENT)
            # Every message went to the other relay at once: nothing waits, nothing failed.
            assert b.accepted() == dict.fromkeys(first, 1)
            assert _no_address_touched(ctx)
            with ScriptedRelay({}, port=port) as a:
                wait_until(lambda: a.quits > 0)  # its probe went through
                later = scenario.sending(list_name="list-second")
                wait_until(lambda: deployment(ctx, later).state is DeliveryState.SENT)
    assert a.accepted().total() > 0  # back in the rotation, it takes its share again
    assert a.accepted() + b.accepted() == dict.fromkeys(first + second, 1)


def test_a_relay_that_refuses_the_login_is_left_out_and_the_others_carry_on(
    ctx: Context, scenario: Scenario
) -> None:
    addresses = _addresses(scenario, 50)

    def refuse(*_args: object) -> AuthResult:
        return AuthResult(success=False, handled=False)

    with RecordingRelay(authenticator=refuse, auth_require_tls=False) as a, ScriptedRelay({}) as b:
        _relays(
            ctx,
            a=RelaySettings(port=a.port, username="mailcast", password="wrong"),
            b=RelaySettings(port=b.port),
        )
        delivery_id = scenario.sending(list_name="list-r")
        send_until_idle(ctx)
    assert b.accepted() == dict.fromkeys(addresses, 1)
    assert not a.messages
    assert deployment(ctx, delivery_id).state is DeliveryState.SENT


def test_a_delivery_uses_only_the_relays_it_names(ctx: Context, scenario: Scenario) -> None:
    addresses = _addresses(scenario, 40)
    with ScriptedRelay({}) as a, ScriptedRelay({}) as b:
        _relays(ctx, a=RelaySettings(port=a.port), b=RelaySettings(port=b.port))
        scenario.sending(list_name="list-r", relays=["b"])
        send_until_idle(ctx)
    assert b.accepted() == dict.fromkeys(addresses, 1)
    assert a.accepted() == Counter()


def test_a_relay_whose_quota_is_used_up_leaves_the_rest_to_the_others(
    ctx: Context, scenario: Scenario
) -> None:
    addresses = _addresses(scenario, 100)
    with ScriptedRelay({}) as a, ScriptedRelay({}) as b:
        _relays(
            ctx,
            a=RelaySettings(port=a.port, weight=10, hourly_quota=30),
            b=RelaySettings(port=b.port),
        )
        delivery_id = scenario.sending(list_name="list-r")
        send_until_idle(ctx)
    assert a.accepted().total() == 30
    assert a.accepted() + b.accepted() == dict.fromkeys(addresses, 1)
    statuses = {line["status"] for line in sending_log(ctx, delivery_id).values()}
    assert MessageStatus.QUEUED not in statuses  # none waits for the hour to pass


def test_a_relay_with_a_private_ca_is_trusted_through_its_ca_file(
    ctx: Context, scenario: Scenario, tmp_path: Path
) -> None:
    addresses = _addresses(scenario, 5)
    server_tls, _ = self_signed(tmp_path)
    with RecordingRelay(tls_context=server_tls, require_starttls=True) as relay:
        ctx.settings.relay = RelaySettings(
            port=relay.port, tls="starttls", ca_file=tmp_path / "relay.pem"
        )
        delivery_id = scenario.sending(list_name="list-r")
        send_until_idle(ctx)
    assert sorted(m.rcpt_tos[0] for m in relay.messages) == sorted(addresses)
    assert deployment(ctx, delivery_id).state is DeliveryState.SENT


def test_without_the_ca_file_the_private_certificate_is_refused(
    ctx: Context, scenario: Scenario, tmp_path: Path
) -> None:
    _addresses(scenario, 5)
    server_tls, _ = self_signed(tmp_path)
    with RecordingRelay(tls_context=server_tls, require_starttls=True) as relay:
        ctx.settings.relay = RelaySettings(port=relay.port, tls="starttls")
        delivery_id = scenario.sending(list_name="list-r")
        send_until_idle(ctx)
    assert not relay.messages
    d = deployment(ctx, delivery_id)
    assert d.state is DeliveryState.ERROR
    assert "certificate verify failed" in (d.error_reason or "")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_when_every_relay_has_used_its_quota_the_rest_waits_untouched_for_the_next_hour(
    ctx: Context, scenario: Scenario
) -> None:
    addresses = _addresses(scenario, 30)
    with ScriptedRelay({}) as a, ScriptedRelay({}) as b:
        _relays(
            ctx,
            a=RelaySettings(port=a.port, hourly_quota=5),
            b=RelaySettings(port=b.port, hourly_quota=5),
        )
        delivery_id = scenario.sending(list_name="list-r")
        send_until_idle(ctx)
    assert (a.accepted().total(), b.accepted().total()) == (5, 5)
    log = sending_log(ctx, delivery_id)
    waiting = [line for line in log.values() if line["status"] == MessageStatus.QUEUED]
    assert len(waiting) == len(addresses) - 10
    next_hour = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
    next_hour += dt.timedelta(hours=1)
    for line in waiting:  # the quota's window is real (UTC) time, whatever the test clock
        assert line["attempts"] == 0
        left = line["next_attempt_at"] - ctx.clock.now()
        assert abs(left - (next_hour - dt.datetime.now(dt.UTC))) < dt.timedelta(minutes=5)
    assert _no_address_touched(ctx)
