"""A sending task sends each message's data with the next message's envelope (RFC 2920's
"content first"), and its hand-off is still counted before its own data goes."""

from __future__ import annotations

from recording_relay import RecordingRelay

from conftest import Scenario
from mailcast.context import Context
from mailcast.send.engine import send_until_idle
from mailcast.stats.deployment import deployment
from mailcast.store import messages as message_store


def test_a_worker_sends_each_data_with_the_next_envelope_and_each_message_once(
    ctx: Context, scenario: Scenario
) -> None:
    ctx.settings.send.concurrency = 2
    addresses = [f"r{n}@example.com" for n in range(40)]
    scenario.audience(addresses)
    with RecordingRelay() as relay:
        ctx.settings.relay.port = relay.port
        delivery_id = scenario.sending()
        send_until_idle(ctx)

    assert sorted(r for m in relay.messages for r in m.rcpt_tos) == sorted(addresses)
    assert relay.connections == 2
    # Most messages after the first of each session went in the write of the one before.
    together = [r for r in relay.reads if b"\r\n.\r\nMAIL FROM:" in r]
    assert len(together) >= 30
    assert deployment(ctx, delivery_id).counts.sent == 40
    with ctx.db.read() as conn:
        log = message_store.sending_log(conn, delivery_id, limit=100)
    assert {(row["relay_attempts"], row["resends"]) for row in log} == {(1, 0)}
