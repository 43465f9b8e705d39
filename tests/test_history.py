"""A profile's history: every delivery that targeted it, with what became of it, in time order."""

from __future__ import annotations

import datetime as dt

import pytest
from rich.console import Console
from rich.table import Table

from address_people import ANGRY, FINE, GONE, people_with_a_past
from conftest import Scenario
from mailcast.clock import ManualClock
from mailcast.context import Context
from mailcast.domain import (
    AddressStatus,
    ExclusionReason,
    FailureReason,
    FailureType,
    MessageStatus,
    Standing,
)
from mailcast.sandbox.mta import SandboxMTA
from mailcast.send.engine import send_until_idle
from mailcast.stats.history import UnknownProfile, profile_history
from mailcast.stats.render import history_table
from mailcast.store import messages as message_store
from mailcast.store.tracking import record_hits
from mailcast.tracking.recorder import Hit
from mailcast.tracking.tokens import TokenKind, TrackingToken
from mailcast.tracking.unsubscribe import unsubscribe

A, B, UNKNOWN = "ann@example.com", "bob@example.com", "unknown@example.com"


def _at(hour: int, minute: int) -> dt.datetime:
    return dt.datetime(2026, 1, 5, hour, minute, tzinfo=dt.UTC)


def _message_id(ctx: Context, delivery_id: int, address: str) -> int:
    with ctx.db.read() as conn:
        log = message_store.sending_log(conn, delivery_id, limit=100)
    return int(next(row["id"] for row in log if row["address"] == address))


def _open_and_click(ctx: Context, message_id: int) -> None:
    now = ctx.clock.now()
    hits = [
        Hit(TrackingToken(TokenKind.OPEN, message_id, now), now, False, "Mozilla", "::1"),
        Hit(TrackingToken(TokenKind.OPEN, message_id, now), now, False, "Mozilla", "::1"),
        Hit(
            TrackingToken(TokenKind.CLICK, message_id, now, 1, "https://example.com/x"),
            now,
            False,
            "Mozilla",
            "::1",
        ),
    ]
    with ctx.db.write() as conn:
        record_hits(conn, hits, now)


def _two_deliveries(ctx: Context, scenario: Scenario, clock: ManualClock) -> tuple[int, int]:
    """Spring at 09:00: ann opens twice, clicks and unsubscribes; Summer at 10:00 leaves her out."""
    scenario.audience([A, B, UNKNOWN])
    spring = scenario.sending(name="Spring")
    send_until_idle(ctx)
    clock.set(_at(9, 30))
    _open_and_click(ctx, _message_id(ctx, spring, A))
    clock.set(_at(9, 40))
    unsubscribe(ctx, _message_id(ctx, spring, A), clock.now(), "one-click")
    clock.set(_at(10, 0))
    summer = scenario.sending(name="Summer")
    send_until_idle(ctx)
    return spring, summer


def test_history_lists_sends_and_exclusions_in_time_order(
    ctx: Context, scenario: Scenario, mta: SandboxMTA, clock: ManualClock
) -> None:
    spring, summer = _two_deliveries(ctx, scenario, clock)

    history = profile_history(ctx, A)

    assert (history.email, history.subscribed) == (A, False)
    first, second = history.entries
    assert (first.at, first.delivery_id, first.delivery_name) == (_at(9, 0), spring, "Spring")
    assert (first.status, first.excluded, first.failure_reason) == (MessageStatus.SENT, None, None)
    assert (first.opens, first.clicks) == (2, 1)
    assert (first.first_opened_at, first.first_clicked_at) == (_at(9, 30), _at(9, 30))
    assert first.unsubscribed_at == _at(9, 40)
    assert (second.at, second.delivery_id, second.delivery_name) == (_at(10, 0), summer, "Summer")
    assert (second.status, second.excluded) == (None, ExclusionReason.DENYLISTED)


def test_history_shows_the_failure_reason_and_finds_the_profile_case_insensitively(
    ctx: Context, scenario: Scenario, mta: SandboxMTA, clock: ManualClock
) -> None:
    spring, summer = _two_deliveries(ctx, scenario, clock)

    entries = profile_history(ctx, "UNKNOWN@Example.COM").entries

    assert entries[0].delivery_id == spring
    assert (entries[0].status, entries[0].failure_type, entries[0].failure_reason) == (
        MessageStatus.FAILED,
        FailureType.HARD,
        FailureReason.USER_UNKNOWN,
    )
    assert [e.delivery_id for e in profile_history(ctx, B).entries] == [spring, summer]


def test_an_unknown_address_is_a_clear_error(ctx: Context) -> None:
    with pytest.raises(UnknownProfile) as raised:
        profile_history(ctx, "nobody@example.com")
    assert str(raised.value) == "no profile has the address 'nobody@example.com'"


def test_a_profile_that_complained_does_not_read_subscribed(
    ctx: Context, scenario: Scenario, mta: SandboxMTA
) -> None:
    people_with_a_past(ctx, scenario)

    angry = profile_history(ctx, ANGRY)
    gone = profile_history(ctx, GONE)
    fine = profile_history(ctx, FINE)

    assert (angry.standing, angry.subscribed) == (Standing.COMPLAINED, False)
    assert angry.address_status == AddressStatus.DENYLIST
    [entry] = angry.entries
    assert entry.complained_at == ctx.clock.now() == angry.complained_at
    assert (gone.standing, gone.subscribed, gone.complained_at) == (
        Standing.UNSUBSCRIBED,
        False,
        None,
    )
    assert (fine.standing, fine.subscribed, fine.address_status) == (
        Standing.SUBSCRIBED,
        True,
        AddressStatus.VALID,
    )
    shown = _rendered(history_table(angry))
    assert "complained on 2026-01-05" in shown and "address: denylist" in shown
    assert "subscribed" not in shown.replace("unsubscribed", "")


def _rendered(table: Table) -> str:
    console = Console(width=200, record=True)
    console.print(table)
    return console.export_text()
