"""Live counters stay exact: random sequences of sends, refusals, bounces, retries, delivered
reports, opens, clicks and unsubscribes, in both modes; after every step, Compute stats
finds nothing to correct.

Each example is its own delivery to its own recipients over the real database and a real
SMTP sandbox on loopback, so the examples never see each other's rows.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stats_helpers import hit, log_by_address

from conftest import Scenario
from mailcast.clock import ManualClock
from mailcast.context import Context
from mailcast.domain import FailureReason, FailureType, FeedbackMode
from mailcast.feedback.apply import apply_observations
from mailcast.feedback.observation import MessageRef, Observation, Seen
from mailcast.sandbox.mta import SandboxMTA
from mailcast.sandbox.rules import Reply
from mailcast.schedule import run_due_jobs
from mailcast.send.engine import send_until_idle
from mailcast.stats.compute import check_counters
from mailcast.tracking.tokens import TokenKind
from mailcast.tracking.unsubscribe import unsubscribe

RECIPIENTS = 4
REFUSALS: dict[str, Reply | None] = {
    "accept": None,
    "hard": (550, "5.1.1 User unknown"),
    "soft": (452, "4.2.2 Mailbox full"),
}
REPORTS = {
    "delivered": (Seen.DELIVERED, None, None),
    "hard": (Seen.FAILED, FailureType.HARD, FailureReason.USER_UNKNOWN),
    "soft": (Seen.FAILED, FailureType.SOFT, FailureReason.MAILBOX_FULL),
    "delayed": (Seen.DELAYED, FailureType.SOFT, FailureReason.MAILBOX_FULL),
    "ignored": (Seen.IGNORED, FailureType.IGNORED, FailureReason.ERROR_IGNORED),
}
_examples = itertools.count()

who = st.integers(0, RECIPIENTS - 1)
steps = st.one_of(
    st.tuples(st.just("send")),
    st.tuples(st.just("later"), st.sampled_from([1, 5, 24, 90])),  # hours, then send and tick
    st.tuples(st.just("mta"), who, st.sampled_from(sorted(REFUSALS))),
    st.tuples(st.just("report"), who, st.sampled_from(sorted(REPORTS))),
    st.tuples(st.just("open"), who, st.booleans()),
    st.tuples(st.just("click"), who, st.booleans()),
    st.tuples(st.just("unsubscribe"), who),
)


@dataclass
class Run:
    """One example: its delivery, its recipients, and what the sandbox MTA says to each."""

    ctx: Context
    clock: ManualClock
    delivery_id: int
    addresses: list[str]
    refusals: dict[str, Reply | None] = field(default_factory=dict)
    reports: int = 0

    def message(self, i: int) -> dict:
        return log_by_address(self.ctx, self.delivery_id)[self.addresses[i]]

    def play(self, step: tuple) -> None:
        kind, *args = step
        getattr(self, f"_{kind}")(*args)

    def _send(self) -> None:
        send_until_idle(self.ctx)

    def _later(self, hours: int) -> None:
        self.clock.advance(dt.timedelta(hours=hours))
        send_until_idle(self.ctx)
        run_due_jobs(self.ctx)  # the end of validity, the rates refresh

    def _mta(self, i: int, refusal: str) -> None:
        self.refusals[self.addresses[i]] = REFUSALS[refusal]

    def _report(self, i: int, report: str) -> None:
        line, self.reports = self.message(i), self.reports + 1
        seen, failure_type, reason = REPORTS[report]
        ref = MessageRef(message_id_header=line["message_id_header"] or "", address=line["address"])
        key = f"property:{self.delivery_id}:{self.reports}"
        obs = Observation(ref, seen, self.clock.now(), "dsn", key, failure_type, reason)
        apply_observations(self.ctx, [obs])

    def _open(self, i: int, machine: bool) -> None:
        self._hit(TokenKind.OPEN, i, machine)

    def _click(self, i: int, machine: bool) -> None:
        self._hit(TokenKind.CLICK, i, machine)

    def _hit(self, kind: TokenKind, i: int, machine: bool) -> None:
        line = self.message(i)
        if line["relayed_at"] is not None:  # only a message that left can be opened
            hit(self.ctx, kind, line["id"], machine=machine)

    def _unsubscribe(self, i: int) -> None:
        unsubscribe(self.ctx, self.message(i)["id"], self.clock.now(), "one-click")


@pytest.mark.parametrize("mode", [FeedbackMode.LEGACY, FeedbackMode.EFS], ids=["legacy", "efs"])
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    first_refusals=st.lists(st.sampled_from(sorted(REFUSALS)), min_size=RECIPIENTS, max_size=4),
    played=st.lists(steps, max_size=14),
    exclude_machine=st.booleans(),
)
def test_live_counters_equal_the_recount_after_any_sequence(
    ctx: Context,
    scenario: Scenario,
    mta: SandboxMTA,
    clock: ManualClock,
    mode: FeedbackMode,
    first_refusals: list[str],
    played: list[tuple],
    exclude_machine: bool,
) -> None:
    ctx.settings.tracking.exclude_machine_events = exclude_machine
    run = _new_run(ctx, scenario, clock, mode)
    run.refusals.update(zip(run.addresses, (REFUSALS[r] for r in first_refusals), strict=True))
    mta.handler.rules = lambda address: run.refusals.get(address)

    for step in [("send",), *played]:
        run.play(step)
        drift = check_counters(ctx, run.delivery_id).drift
        assert drift == [], f"after {step}"


def _new_run(ctx: Context, scenario: Scenario, clock: ManualClock, mode: FeedbackMode) -> Run:
    n = next(_examples)
    addresses = [f"r{n}-{i}@example.com" for i in range(RECIPIENTS)]
    scenario.audience(addresses, list_name=f"list{n}")
    delivery_id = scenario.sending(list_name=f"list{n}", feedback_mode=mode)
    return Run(ctx, clock, delivery_id, addresses)
