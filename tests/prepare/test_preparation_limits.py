"""Preparation under the template limits and the message-size rule: a limit passed is a
blocking finding naming it, the delivery back in draft with nothing queued; Gmail's clipping
size is a warning."""

from __future__ import annotations

from typing import Any

import pytest

from conftest import Scenario
from mailcast.audience.csv_import import add_profile
from mailcast.context import Context
from mailcast.deliveries.service import confirm_send
from mailcast.domain import DeliveryState
from mailcast.prepare.preparation import PreparationResult, prepare_delivery
from mailcast.prepare.rules import Finding
from mailcast.sandbox.mta import SandboxMTA
from mailcast.send.engine import send_until_idle
from mailcast.stats.deployment import deployment
from mailcast.store import deliveries as delivery_store
from mailcast.store import messages as message_store
from mailcast.users.service import User

UNSUBSCRIBE = '<a href="{{ unsubscribe_url }}">unsubscribe</a>'
# A tenth of a second of rendering per recipient, give or take (a million loop iterations).
SLOW = "{% for i in range(100000) %}{% for j in range(10) %}{% endfor %}{% endfor %}"
# 10^10 loop iterations: only a time budget stops it.
ENDLESS = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"


def _prepare(scenario: Scenario, html: str, **fields: Any) -> PreparationResult:
    delivery_id = scenario.delivery(html=f"<p>{html}</p>{UNSUBSCRIBE}", **fields)
    return prepare_delivery(scenario.ctx, scenario.author, delivery_id)


def _errors(result: PreparationResult) -> list[Finding]:
    return [f for f in result.findings if f.level == "error"]


def _assert_back_in_draft(ctx: Context, result: PreparationResult) -> None:
    assert result.blocked
    assert result.state is DeliveryState.DRAFT
    shown = deployment(ctx, result.delivery_id)
    assert shown.state is DeliveryState.DRAFT
    assert (shown.counts.to_deliver, shown.excluded) == (0, 0)
    with ctx.db.read() as conn:
        assert message_store.sending_log(conn, result.delivery_id, limit=10) == []
        row = delivery_store.get_delivery(conn, result.delivery_id)
    assert row["preparation_log"] == [f.to_json() for f in result.findings]


@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    ("html", "setting"),
    [
        ("{{ 9**(9**8) }}", "templates.max_number_bits"),
        ("{{ 'x' * 100000000 }}", "templates.max_value_length"),
        ("{% for i in range(1000000) %}{% endfor %}", "templates.max_range"),
    ],
)
def test_a_template_past_a_limit_blocks_the_preparation_and_names_the_limit(
    ctx: Context, scenario: Scenario, html: str, setting: str
) -> None:
    scenario.audience(["a@example.com", "b@example.com"])

    result = _prepare(scenario, html)

    _assert_back_in_draft(ctx, result)
    [error] = _errors(result)
    assert error.rule == "template_limit"
    assert error.message.startswith("a@example.com: HTML body: ")
    assert error.message.endswith(f"(limit: {setting})")


@pytest.mark.timeout(120)
def test_a_template_that_runs_on_stops_at_the_recipients_time_budget(
    ctx: Context, scenario: Scenario
) -> None:
    ctx.settings.templates.recipient_seconds = 0.3
    scenario.audience(["a@example.com", "b@example.com"])

    result = _prepare(scenario, ENDLESS)

    _assert_back_in_draft(ctx, result)
    assert [e.message.split("(limit: ")[-1] for e in _errors(result)] == [
        "templates.recipient_seconds)"
    ]


@pytest.mark.timeout(120)
def test_the_preparations_renders_share_one_time_budget(ctx: Context, scenario: Scenario) -> None:
    ctx.settings.templates.preparation_seconds = 0.3
    scenario.audience([f"u{n}@example.com" for n in range(50)])

    result = _prepare(scenario, SLOW)

    _assert_back_in_draft(ctx, result)
    [error] = _errors(result)
    assert error.rule == "template_limit"
    assert error.message.endswith("(limit: templates.preparation_seconds)")


def test_a_limit_passed_for_one_recipients_data_blocks_the_whole_delivery(
    ctx: Context, scenario: Scenario
) -> None:
    for address, width in (("a@example.com", "10"), ("z@example.com", "100000000")):
        add_profile(ctx.db, ctx.clock, address, attributes={"width": width}, lists=("news",))

    result = _prepare(scenario, "{{ '-' * (attributes.width | int) }}")

    _assert_back_in_draft(ctx, result)
    [error] = _errors(result)
    assert error.message.startswith("z@example.com: HTML body: '*' (repetition)")


def test_a_message_above_gmails_clipping_size_is_a_warning(
    ctx: Context, scenario: Scenario
) -> None:
    scenario.audience(["a@example.com", "b@example.com"])

    small = _prepare(scenario, "{{ 'x' * 90000 }}")
    large = _prepare(scenario, "{{ 'x' * 110000 }}")

    assert [f for f in small.findings if f.rule == "message_size"] == []
    assert not large.blocked
    assert large.state is DeliveryState.READY
    [warning] = [f for f in large.findings if f.rule == "message_size"]
    assert warning.level == "warning"
    assert warning.message.startswith("2 message(s) are larger than 102,000 bytes")
    assert "Gmail" in warning.message


def test_a_message_above_the_largest_size_blocks_the_preparation(
    ctx: Context, scenario: Scenario
) -> None:
    ctx.settings.send.max_message_bytes = 200_000
    scenario.audience(["a@example.com", "b@example.com"])

    result = _prepare(scenario, "{{ 'x' * 250000 }}")

    _assert_back_in_draft(ctx, result)
    [error] = _errors(result)
    assert error.rule == "message_size"
    assert error.message.startswith("the message to a@example.com is ")
    assert error.message.endswith("larger than send.max_message_bytes (200,000)")


def test_an_append_that_passes_a_limit_adds_nothing(
    ctx: Context, scenario: Scenario, marie: User, mta: SandboxMTA
) -> None:
    add_profile(ctx.db, ctx.clock, "a@example.com", attributes={"width": "10"}, lists=("news",))
    delivery_id = scenario.delivery(
        html=f"<p>{{{{ '-' * (attributes.width | int) }}}}</p>{UNSUBSCRIBE}"
    )
    with ctx.db.write() as conn:
        # A period's delivery stays sending until its period is over (recurring deliveries).
        delivery_store.update_delivery(
            conn, delivery_id, ctx.clock.now(), aggregate_period="2026-01"
        )
    assert not prepare_delivery(ctx, marie, delivery_id).blocked
    confirm_send(ctx, scenario.starter, delivery_id)
    send_until_idle(ctx)
    add_profile(
        ctx.db, ctx.clock, "z@example.com", attributes={"width": "100000000"}, lists=("news",)
    )

    result = prepare_delivery(ctx, marie, delivery_id, append=True)

    assert result.blocked
    assert (result.state, result.to_deliver) == (DeliveryState.SENDING, 0)
    assert [f.rule for f in _errors(result)] == ["template_limit"]
    assert deployment(ctx, delivery_id).counts.to_deliver == 1
    assert mta.recipients_counter() == {"a@example.com": 1}
