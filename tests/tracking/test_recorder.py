"""Recording opens and clicks in batches: exact counters, machine hits apart, nothing lost."""

from __future__ import annotations

import asyncio
import datetime as dt
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient
from tracked import BROWSER, A, B, C, Tracked, send

from conftest import Scenario
from mailcast.clock import ManualClock
from mailcast.context import Context
from mailcast.domain import EventKind
from mailcast.sandbox.mta import SandboxMTA
from mailcast.store.tracking import record_hits
from mailcast.tracking.recorder import Hit, Recorder, record
from mailcast.tracking.tokens import TokenKind, TrackingToken
from mailcast.web.app import create_app

PROXY = "Mozilla/5.0"  # Apple Mail Privacy Protection


@pytest.fixture
def sent(ctx: Context, clock: ManualClock, scenario: Scenario, mta: SandboxMTA) -> Tracked:
    return send(ctx, clock, scenario, [A, B, C])


def _hit(
    sent: Tracked,
    address: str,
    at: dt.datetime,
    kind: TokenKind = TokenKind.OPEN,
    agent: str = BROWSER,
    machine: bool = False,
) -> Hit:
    url = "https://example.com/x" if kind is TokenKind.CLICK else ""
    token = TrackingToken(kind, sent.ids[address], at, 1 if url else 0, url)
    return Hit(token, at, machine, agent, "192.0.2.7")


def _write(ctx: Context, hits: list[Hit], exclude_machine: bool = True) -> None:
    with ctx.db.write() as conn:
        record_hits(conn, hits, ctx.clock.now(), exclude_machine=exclude_machine)


def test_a_batch_moves_counts_times_and_unique_counters(ctx: Context, sent: Tracked) -> None:
    t = ctx.clock.now()
    later = t + dt.timedelta(hours=2)
    _write(ctx, [_hit(sent, A, later), _hit(sent, A, t), _hit(sent, B, t)])

    a = sent.message(A)
    assert (a["opens"], a["first_opened_at"], a["last_opened_at"]) == (2, t, later)
    assert sent.message(B)["opens"] == 1 and sent.message(C)["opens"] == 0
    counters = sent.counters()
    assert (counters["unique_opens"], counters["total_opens"]) == (2, 3)
    logged = sent.events()
    assert [e["kind"] for e in logged] == [EventKind.OPENED] * 3
    assert logged[0]["detail"] == {"user_agent": BROWSER, "ip": "192.0.2.7"}
    assert not any(e["machine"] for e in logged)


def test_unique_counts_a_message_once_across_batches(ctx: Context, sent: Tracked) -> None:
    t = ctx.clock.now()
    for minutes in range(3):
        _write(ctx, [_hit(sent, A, t + dt.timedelta(minutes=minutes), TokenKind.CLICK)])
    _write(ctx, [_hit(sent, B, t, TokenKind.CLICK)])

    counters = sent.counters()
    assert (counters["unique_clicks"], counters["total_clicks"]) == (2, 4)
    a = sent.message(A)
    assert (a["clicks"], a["last_clicked_at"]) == (3, t + dt.timedelta(minutes=2))
    assert sent.events()[0]["detail"]["url"] == "https://example.com/x"
    assert counters["unique_opens"] == 0  # a click is not counted as an open


def test_a_late_batch_with_an_earlier_hit_moves_the_first_time_back(
    ctx: Context, sent: Tracked
) -> None:
    t = ctx.clock.now()
    _write(ctx, [_hit(sent, A, t + dt.timedelta(hours=1))])
    _write(ctx, [_hit(sent, A, t)])
    a = sent.message(A)
    assert (a["first_opened_at"], a["last_opened_at"]) == (t, t + dt.timedelta(hours=1))
    assert sent.counters()["unique_opens"] == 1


def test_machine_hits_are_logged_and_counted_apart(ctx: Context, sent: Tracked) -> None:
    t = ctx.clock.now()
    _write(ctx, [_hit(sent, A, t, machine=True), _hit(sent, A, t, TokenKind.CLICK, machine=True)])

    a = sent.message(A)
    assert (a["machine_opens"], a["machine_clicks"], a["opens"], a["clicks"]) == (1, 1, 0, 0)
    assert a["first_opened_at"] is None
    counters = sent.counters()
    assert counters["unique_opens"] == counters["total_opens"] == counters["unique_clicks"] == 0
    assert [e["machine"] for e in sent.events()] == [True, True]


def test_machine_hits_count_as_people_when_not_excluded(ctx: Context, sent: Tracked) -> None:
    _write(ctx, [_hit(sent, A, ctx.clock.now(), machine=True)], exclude_machine=False)
    a = sent.message(A)
    assert (a["machine_opens"], a["opens"]) == (1, 1)
    assert sent.counters()["unique_opens"] == 1
    assert sent.events()[0]["machine"] is True


def test_record_flags_hits_too_soon_after_relay_and_proxy_agents(
    ctx: Context, clock: ManualClock, sent: Tracked
) -> None:
    relayed = sent.message(A)["relayed_at"]
    record(ctx, [_hit(sent, A, relayed + dt.timedelta(seconds=1))])  # a proxy's pre-fetch
    record(ctx, [_hit(sent, B, clock.now(), agent=PROXY)])  # Apple's proxy, any time
    record(ctx, [_hit(sent, C, clock.now())])  # a person, a minute later

    assert [e["machine"] for e in sent.events()] == [True, True, False]
    assert sent.counters()["unique_opens"] == 1
    assert sent.message(C)["opens"] == 1


def test_hits_on_a_message_that_is_gone_are_dropped(ctx: Context, sent: Tracked) -> None:
    gone = Hit(
        TrackingToken(TokenKind.OPEN, 10**9, ctx.clock.now()), ctx.clock.now(), False, "", ""
    )
    _write(ctx, [gone, _hit(sent, A, ctx.clock.now())])
    assert len(sent.events()) == 1 and sent.counters()["total_opens"] == 1


def test_the_recorder_writes_later_and_loses_nothing_when_stopped(
    ctx: Context, sent: Tracked
) -> None:
    hits = [_hit(sent, address, ctx.clock.now()) for address in (A, B, C) for _ in range(50)]

    async def run() -> int:
        recorder = Recorder(ctx, flush_seconds=3600, flush_hits=10_000)
        recorder.start()
        for hit in hits:
            recorder.add(hit)
        await asyncio.sleep(0.05)
        queued = sent.logged()  # nothing written yet: the hits wait for the batch
        await recorder.stop()
        return queued

    assert asyncio.run(run()) == 0
    assert sent.logged() == 150
    assert sent.counters()["total_opens"] == 150 and sent.counters()["unique_opens"] == 3


def test_a_writer_process_writes_every_hit_and_a_failed_batch_is_kept(
    ctx: Context, sent: Tracked
) -> None:
    hits = [_hit(sent, address, ctx.clock.now()) for address in (A, B, C) for _ in range(40)]

    async def run() -> tuple[int, int]:
        recorder = Recorder(ctx, flush_seconds=3600, flush_hits=10_000, in_subprocess=True)
        recorder.start()
        for hit in hits[:60]:
            recorder.add(hit)
        assert await recorder.flush()
        written_by_child = sent.logged()
        assert recorder._writer is not None
        recorder._writer._process.kill()  # the writer dies: the next batch must not be lost
        recorder._writer._process.join()
        for hit in hits[60:]:
            recorder.add(hit)
        assert not await recorder.flush()
        kept = recorder.waiting
        recorder._writer = None  # write the rest from this process, as without a writer
        await recorder.stop()
        return written_by_child, kept

    assert asyncio.run(run()) == (60, 60)
    assert sent.logged() == 120
    assert sent.counters()["total_opens"] == 120 and sent.counters()["unique_opens"] == 3


def test_the_app_flushes_answered_pixels_on_shutdown(ctx: Context, sent: Tracked) -> None:
    app = create_app(ctx)
    with TestClient(app) as client:
        answers = [client.get(sent.pixel(address)) for address in (A, B, C, A)]
        assert all(r.status_code == 200 for r in answers)
    assert sent.logged() == 4
    assert sent.counters()["unique_opens"] == 3


def test_concurrent_writers_keep_unique_counts_exact(ctx: Context, sent: Tracked) -> None:
    """Several processes flushing at once (threads here, each its own connection)."""
    t = ctx.clock.now()

    def writer(n: int) -> None:
        for minute in range(10):
            at = t + dt.timedelta(minutes=minute, seconds=n)
            _write(ctx, [_hit(sent, address, at) for address in (A, B, C)])

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(writer, range(4)))

    counters = sent.counters()
    assert (counters["unique_opens"], counters["total_opens"]) == (3, 120)
    a = sent.message(A)
    assert (a["opens"], a["first_opened_at"]) == (40, t)
    assert a["last_opened_at"] == t + dt.timedelta(minutes=9, seconds=3)
