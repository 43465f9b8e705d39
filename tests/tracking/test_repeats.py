"""One tracking URL fetched in a loop, over real HTTP: a row per window, every hit counted.

The app runs under uvicorn on a thread with its batching recorder; the hits cross several
batches, so a repeat finds its row in the database as well as in its own batch.
"""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor

import httpx2
import pytest
from tracked import BROWSER, A, B, Tracked, send

from conftest import Scenario
from mailcast.clock import ManualClock
from mailcast.context import Context
from mailcast.domain import EventKind
from mailcast.sandbox.mta import SandboxMTA
from mailcast.stats.compute import compute_stats
from mailcast.stats.report import delivery_report
from mailcast.tracking.recorder import Hit, record
from mailcast.tracking.tokens import TokenKind, TrackingToken
from mailcast.web.in_thread import WebServer

PROXY = "Mozilla/5.0"  # Apple Mail Privacy Protection: a machine open
SHOP, BLOG = "https://shop.example.com/sale", "https://blog.example.com/post"


@pytest.fixture
def sent(ctx: Context, clock: ManualClock, scenario: Scenario, mta: SandboxMTA) -> Tracked:
    return send(ctx, clock, scenario, [A, B])


def _fire(web: WebServer, path: str, times: int, agent: str = BROWSER) -> None:
    """`times` GETs of one URL from 8 threads at once; each must be answered as usual."""
    expected = 302 if path.startswith("/t/c/") else 200
    client = httpx2.Client(base_url=web.base_url, headers={"User-Agent": agent})
    with client, ThreadPoolExecutor(max_workers=8) as pool:
        codes = set(pool.map(lambda _: client.get(path).status_code, range(times)))
    assert codes == {expected}


def _rows(sent: Tracked, kind: EventKind) -> list[tuple[int, int, bool]]:
    return [
        (e["message_id"], e["repeats"], e["machine"]) for e in sent.events() if e["kind"] == kind
    ]


def _assert_recount_agrees(ctx: Context, sent: Tracked) -> None:
    check = compute_stats(ctx, sent.delivery_id)
    assert check.drift == []


def test_one_pixel_fetched_2000_times_is_one_row_and_2000_opens(
    ctx: Context, clock: ManualClock, sent: Tracked
) -> None:
    pixel = sent.pixel(A)
    with WebServer(ctx) as web:
        _fire(web, pixel, 2000)

    assert _rows(sent, EventKind.OPENED) == [(sent.ids[A], 1999, False)]
    counters = sent.counters()
    assert (counters["total_opens"], counters["unique_opens"]) == (2000, 1)
    assert sent.message(A)["opens"] == 2000
    _assert_recount_agrees(ctx, sent)
    assert delivery_report(ctx, sent.delivery_id).total_opens == 2000


def test_a_new_row_starts_once_the_window_has_passed(
    ctx: Context, clock: ManualClock, sent: Tracked
) -> None:
    window = dt.timedelta(seconds=ctx.settings.tracking.repeat_window_seconds)
    pixel = sent.pixel(A)
    with WebServer(ctx) as web:
        _fire(web, pixel, 600)
        clock.advance(window - dt.timedelta(seconds=1))
        _fire(web, pixel, 400)  # still within the window of the first row
        clock.advance(dt.timedelta(seconds=1))
        _fire(web, pixel, 500)  # a window after the first row: a row of its own
        _fire(web, sent.pixel(B), 3)

    a, b = sent.ids[A], sent.ids[B]
    assert sorted(_rows(sent, EventKind.OPENED)) == [
        (a, 499, False),
        (a, 999, False),
        (b, 2, False),
    ]
    counters = sent.counters()
    assert (counters["total_opens"], counters["unique_opens"]) == (1503, 2)
    _assert_recount_agrees(ctx, sent)


def test_clicks_on_one_link_are_one_row_per_link(
    ctx: Context, clock: ManualClock, sent: Tracked
) -> None:
    with WebServer(ctx) as web:
        _fire(web, sent.click(A, SHOP), 2000)
        _fire(web, sent.click(A, BLOG), 5)

    logged = sorted((e["detail"]["url"], e["repeats"]) for e in sent.events())
    assert logged == [(BLOG, 4), (SHOP, 1999)]
    counters = sent.counters()
    assert (counters["total_clicks"], counters["unique_clicks"]) == (2005, 1)
    assert sent.message(A)["clicks"] == 2005
    _assert_recount_agrees(ctx, sent)


def test_machine_repeats_stay_apart_from_a_persons(
    ctx: Context, clock: ManualClock, sent: Tracked
) -> None:
    pixel = sent.pixel(A)
    with WebServer(ctx) as web:
        _fire(web, pixel, 300, agent=PROXY)
        _fire(web, pixel, 7)

    assert sorted(_rows(sent, EventKind.OPENED)) == [
        (sent.ids[A], 6, False),
        (sent.ids[A], 299, True),
    ]
    counters = sent.counters()
    assert (counters["total_opens"], counters["unique_opens"]) == (7, 1)
    assert sent.message(A)["machine_opens"] == 300
    _assert_recount_agrees(ctx, sent)
    assert delivery_report(ctx, sent.delivery_id).machine_opens == 300


def _opens(ctx: Context, sent: Tracked, n: int) -> list[Hit]:
    token = TrackingToken(TokenKind.OPEN, sent.ids[A], ctx.clock.now())
    return [Hit(token, ctx.clock.now(), False, BROWSER, "192.0.2.7") for _ in range(n)]


def test_a_repeat_in_a_later_batch_adds_to_the_row_already_written(
    ctx: Context, clock: ManualClock, sent: Tracked
) -> None:
    record(ctx, _opens(ctx, sent, 3))
    clock.advance(dt.timedelta(seconds=30))
    record(ctx, _opens(ctx, sent, 4))

    assert _rows(sent, EventKind.OPENED) == [(sent.ids[A], 6, False)]
    assert sent.counters()["total_opens"] == 7
    _assert_recount_agrees(ctx, sent)


def test_writers_flushing_at_once_keep_one_row_and_every_hit(
    ctx: Context, clock: ManualClock, sent: Tracked
) -> None:
    """Several server processes flushing repeats of one message (threads, own connections)."""

    def writer(_: int) -> None:
        for _batch in range(10):
            record(ctx, _opens(ctx, sent, 5))

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(writer, range(4)))

    assert _rows(sent, EventKind.OPENED) == [(sent.ids[A], 199, False)]
    assert sent.counters()["total_opens"] == 200 and sent.message(A)["opens"] == 200
    _assert_recount_agrees(ctx, sent)
