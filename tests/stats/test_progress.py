"""The Deployment block's progress shows what was processed; a delivery with nobody to send to
cannot be confirmed (the API and the dashboard: tests/dashboard/test_confirm_nobody_http.py)."""

from __future__ import annotations

import pytest

from conftest import Scenario
from mailcast.context import Context
from mailcast.deliveries.service import DeliveryError, confirm_send, stop_delivery
from mailcast.domain import DeliveryState
from mailcast.stats.deployment import deployment
from mailcast.store import deliveries as delivery_store
from mailcast.store import messages as message_store

NOBODY = "the delivery has no recipient: 0 messages to deliver"


def _empty_delivery(scenario: Scenario) -> int:
    scenario.audience([None])  # one profile, no address: left out at preparation
    return scenario.prepared()


def test_a_stopped_send_shows_what_it_sent_not_100_percent(
    ctx: Context, scenario: Scenario
) -> None:
    scenario.audience(["a@example.com", "b@example.com", "c@example.com", "d@example.com"])
    delivery_id = scenario.sending()
    assert stop_delivery(ctx, scenario.starter, delivery_id) == 4

    block = deployment(ctx, delivery_id)
    assert (block.state, block.counts.not_sent, block.progress) == (DeliveryState.STOPPED, 4, 0.0)


def test_a_send_ended_by_an_error_shows_what_it_sent(ctx: Context, scenario: Scenario) -> None:
    scenario.audience(["a@example.com", "b@example.com", "c@example.com", "d@example.com"])
    delivery_id = scenario.sending()
    with ctx.db.write() as conn:  # as the engine does when the relay refuses for good
        delivery_store.fail_sending(conn, delivery_id, "the relay refused AUTH", ctx.clock.now())
        assert message_store.mark_not_sent(conn, delivery_id, ctx.clock.now()) == 4

    block = deployment(ctx, delivery_id)
    assert (block.state, block.counts.not_sent, block.progress) == (DeliveryState.ERROR, 4, 0.0)


def test_a_delivery_with_nobody_to_send_to_shows_0_and_cannot_be_confirmed(
    ctx: Context, scenario: Scenario
) -> None:
    delivery_id = _empty_delivery(scenario)
    assert deployment(ctx, delivery_id).progress == 0.0

    with pytest.raises(DeliveryError, match=NOBODY):
        confirm_send(ctx, scenario.starter, delivery_id)
    assert deployment(ctx, delivery_id).state is DeliveryState.READY
