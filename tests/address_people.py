"""People with a past, for the address tests: one complained, one unsubscribed, one did not.

A delivery goes through the sandbox MTA; the complaint is an ARF report handed to the real
bounce receiver, the unsubscribe is the one-click service the unsubscribe link calls.
"""

from __future__ import annotations

from bounce_mail import arf, hand_over, sent
from conftest import Scenario
from mailcast.context import Context
from mailcast.feedback.receiver import BounceReceiver
from mailcast.send.engine import send_until_idle
from mailcast.tracking.unsubscribe import unsubscribe

ANGRY, GONE, FINE = "angry@example.com", "gone@example.org", "fine@example.com"


def people_with_a_past(ctx: Context, scenario: Scenario) -> None:
    """Spring is sent to ANGRY, GONE and FINE; ANGRY complains, GONE unsubscribes."""
    scenario.audience([ANGRY, GONE, FINE])
    delivery_id = scenario.sending(name="Spring")
    send_until_idle(ctx)
    messages = sent(ctx, delivery_id)
    feedback = f"feedback@{ctx.settings.bounce_domain}"
    with BounceReceiver(ctx, port=0) as receiver:
        hand_over(receiver, arf(messages[ANGRY], to=feedback), [feedback])
    unsubscribe(ctx, messages[GONE].id, ctx.clock.now(), "one-click")
