"""Messages composed ahead in processes of their own: the same messages, the same failures."""

from __future__ import annotations

import asyncio
import datetime as dt
import email
from email import policy

from scripted_relay import ScriptedRelay

from conftest import Scenario
from mailcast.compose.composer import ComposedMessage, DeliveryContent, Recipient
from mailcast.context import Context
from mailcast.send.compose_ahead import ComposeAhead
from mailcast.send.engine import send_until_idle
from mailcast.stats.deployment import deployment

NOW = dt.datetime(2026, 12, 4, 9, 0, tzinfo=dt.UTC)


def test_a_worker_composing_ahead_sends_each_message_once(ctx: Context, scenario: Scenario) -> None:
    ctx.settings.send.compose_processes = 2
    addresses = [f"r{n}@example.com" for n in range(60)]
    scenario.audience(addresses)
    with ScriptedRelay({}) as relay:
        ctx.settings.relay.port = relay.port
        delivery_id = scenario.sending()
        send_until_idle(ctx)
    assert relay.accepted() == dict.fromkeys(addresses, 1)
    assert deployment(ctx, delivery_id).counts.sent == 60


def test_a_recipient_the_template_fails_for_comes_back_as_its_error(ctx: Context) -> None:
    # 100 // (length - 2): a two-letter name divides by zero.
    content = DeliveryContent(
        7,
        "Hi {{ first_name }}",
        "news@example.com",
        None,
        "",
        "{{ 100 // (first_name | length - 2) }}",
    )
    names = ["Zoe", "Li", "Ana"]
    recipients = [Recipient(n, f"r{n}@example.com", name, None, {}) for n, name in enumerate(names)]

    async def compose() -> list[ComposedMessage | str | None]:
        ahead = ComposeAhead(ctx.settings, ctx.secret, 1)
        try:
            ahead.submit(content, recipients, NOW)
            return [await ahead.take(r.message_id) for r in recipients]
        finally:
            ahead.close()

    zoe, li, ana = asyncio.run(compose())
    assert isinstance(li, str) and "ZeroDivisionError" in li
    for composed, name in ((zoe, "Zoe"), (ana, "Ana")):
        assert isinstance(composed, ComposedMessage)
        parsed = email.message_from_bytes(composed.data, policy=policy.default)
        assert parsed["Subject"] == f"Hi {name}"
        assert composed.envelope_from == ctx.signer.return_path(composed.message_id)
