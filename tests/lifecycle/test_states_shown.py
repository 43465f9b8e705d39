"""`sending (retry)` while only retries remain, `finished` when the validity ends, and how
every state reads (Stibee's words, colours); the docs table matches the code."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from lifecycle_helpers import sending_log
from rich.color import Color

from conftest import Scenario
from mailcast.clock import ManualClock
from mailcast.context import Context
from mailcast.deliveries.service import pause_delivery
from mailcast.docs_lifecycle import CAUSES, MEANINGS, lifecycle_markdown
from mailcast.domain import (
    STIBEE_LABELS,
    TRANSITIONS,
    DeliveryState,
    MessageStatus,
    shown_state,
)
from mailcast.sandbox.mta import SandboxMTA
from mailcast.schedule import run_due_jobs
from mailcast.send.engine import send_until_idle
from mailcast.stats.deployment import deployment, display_state, display_states
from mailcast.store import deliveries as delivery_store
from mailcast.users.service import User

S = DeliveryState
HOUR = dt.timedelta(hours=1)
VALIDITY = dt.timedelta(hours=84)  # 3.5 days (ACS)
DOCS = Path(__file__).resolve().parents[2] / "docs" / "lifecycle.md"


def _label(ctx: Context, delivery_id: int) -> str:
    return display_state(deployment(ctx, delivery_id)).label


# --- sending (retry) ------------------------------------------------------------------------


def test_only_retries_left_reads_sending_retry_until_the_retry_is_done(
    ctx: Context, scenario: Scenario, mta: SandboxMTA, clock: ManualClock
) -> None:
    scenario.audience(["ok@example.com", "full@example.com"])
    delivery_id = scenario.sending()
    assert _label(ctx, delivery_id) == "sending"  # first hand-offs still to come

    send_until_idle(ctx)  # ok@ is sent; full@ is refused for now (4.2.2): retried in an hour
    d = deployment(ctx, delivery_id)
    assert (d.state, display_state(d).label) == (S.SENT, "sending (retry)")
    assert display_state(d).stibee == "발송중"

    mta.handler.rules = lambda address: None  # the mailbox has room again
    clock.advance(HOUR)
    send_until_idle(ctx)
    assert _label(ctx, delivery_id) == "sent"
    assert sending_log(ctx, delivery_id)["full@example.com"]["status"] == MessageStatus.SENT


def test_a_sent_delivery_without_retries_reads_sent_and_finished_at_the_end(
    ctx: Context, scenario: Scenario, mta: SandboxMTA, clock: ManualClock
) -> None:
    scenario.audience(["ok@example.com", "unknown@example.com"])  # a hard failure: no retry
    delivery_id = scenario.sending()
    send_until_idle(ctx)
    assert _label(ctx, delivery_id) == "sent"

    clock.advance(VALIDITY)
    run_due_jobs(ctx)
    shown = display_state(deployment(ctx, delivery_id))
    assert (shown.label, shown.stibee) == ("finished", "발송완료")


def test_the_list_reads_sending_retry_too(
    ctx: Context, scenario: Scenario, mta: SandboxMTA
) -> None:
    scenario.audience(["ok@example.com", "full@example.com"])
    retrying = scenario.sending()
    draft = scenario.delivery()
    send_until_idle(ctx)

    with ctx.db.read() as conn:
        rows = delivery_store.list_deliveries(conn)
    shown = display_states(ctx, rows)
    assert (shown[retrying].label, shown[draft].label) == ("sending (retry)", "draft")


def test_retries_shown_only_for_sending_and_sent() -> None:
    for state in S:
        retrying = shown_state(state, only_retries_left=True)
        expected = "sending (retry)" if state in (S.SENDING, S.SENT) else state.value
        assert retrying.label == expected
        assert shown_state(state).label == state.value


# --- finished when the validity ends --------------------------------------------------------


@pytest.mark.parametrize("paused", [False, True])
def test_a_send_still_going_when_the_validity_ends_finishes_and_the_rest_is_not_sent(
    ctx: Context, scenario: Scenario, sam: User, clock: ManualClock, mta: SandboxMTA, paused: bool
) -> None:
    scenario.audience([f"reader{n}@example.com" for n in range(4)])
    delivery_id = scenario.sending()
    if paused:
        pause_delivery(ctx, sam, delivery_id)

    clock.advance(VALIDITY - dt.timedelta(seconds=1))
    assert run_due_jobs(ctx)["deliveries_finished"] == 0
    clock.advance(dt.timedelta(seconds=1))
    done = run_due_jobs(ctx)
    send_until_idle(ctx)

    assert (done["deliveries_finished"], done["messages_not_sent"]) == (1, 4)
    d = deployment(ctx, delivery_id)
    assert (d.state, d.counts.not_sent, d.counts.queued, d.counts.processed) == (
        S.FINISHED,
        4,
        0,
        0,
    )
    for line in sending_log(ctx, delivery_id).values():
        assert line["smtp_response"] == (
            "not sent: the validity period ended before it was handed over"
        )
    assert mta.count == 0


def test_a_sending_delivery_with_retries_waiting_finishes_and_they_fail(
    ctx: Context, scenario: Scenario, mta: SandboxMTA, clock: ManualClock
) -> None:
    scenario.audience(["ok@example.com", "full@example.com"])
    delivery_id = scenario.sending()
    send_until_idle(ctx)

    clock.advance(VALIDITY)
    run_due_jobs(ctx)

    d = deployment(ctx, delivery_id)
    assert (d.state, d.counts.sent, d.counts.failed, d.counts.not_sent) == (S.FINISHED, 1, 1, 0)


# --- how every state reads ------------------------------------------------------------------


def test_every_state_has_a_colour_and_stibee_words_where_stibee_has_them() -> None:
    words = {state: STIBEE_LABELS[state][0] for state in S}
    assert {state: word for state, word in words.items() if word} == {
        S.DRAFT: "작성중",
        S.SCHEDULED: "예약중",
        S.SENDING: "발송중",
        S.SENT: "발송완료",
        S.FINISHED: "발송완료",
        S.ERROR: "발송오류",
    }
    for state in S:
        Color.parse(STIBEE_LABELS[state][1])  # a colour rich (and so the terminal) knows
    Color.parse(shown_state(S.SENT, only_retries_left=True).colour)


# --- the docs table -------------------------------------------------------------------------


def test_the_docs_table_is_the_one_the_code_generates() -> None:
    assert DOCS.read_text(encoding="utf-8") == lifecycle_markdown(), (
        "docs/lifecycle.md is out of date: python -m mailcast.docs_lifecycle > docs/lifecycle.md"
    )


def test_every_state_and_every_allowed_transition_is_explained() -> None:
    allowed = {(a, b) for a, targets in TRANSITIONS.items() for b in targets}
    assert set(CAUSES) == allowed
    assert set(MEANINGS) == set(S)
    for current, target in allowed:
        assert f"| `{current.value}` | `{target.value}` |" in lifecycle_markdown()
