"""`mailcast demo`: a delivery's whole lifecycle on embedded defaults, in compressed time.

Everything runs for real, on loopback: the bounce receiver, the sandbox MTA playing outcomes
back as DSNs, the HTTP app (tracking), a send worker and the scheduler, on one SQLite
database. Time stands still while the hand-off runs, so its KPIs show alone; then each tick
moves the clock on by `speed` x the tick, the sandbox sends the DSNs that came due, readers
open, click and unsubscribe over HTTP, and retries and the end of the validity period
follow, until the delivery is finished. Compute stats then refreshes the shown rates.
Unless told to exit, the demo then keeps everything running at the normal pace of time, the
dashboard open to each demo user, until SIGINT or SIGTERM.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import signal
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx2
from rich.console import Console

from mailcast import console as render
from mailcast.clock import ManualClock, utcnow
from mailcast.config import (
    BounceSettings,
    RelaySettings,
    SandboxSettings,
    SendSettings,
    Settings,
    WebSettings,
)
from mailcast.context import Context
from mailcast.demo import readers, sample, timeline
from mailcast.demo.readers import Readers, Tally
from mailcast.demo.sample import Login
from mailcast.demo.timeline import Check, Row
from mailcast.domain import DeliveryState, FeedbackMode
from mailcast.feedback.receiver import BounceReceiver
from mailcast.sandbox.dsn import Notice
from mailcast.sandbox.mta import SandboxMTA
from mailcast.schedule import run_due_jobs
from mailcast.send.engine import SendEngine
from mailcast.stats.compute import compute_stats
from mailcast.stats.deployment import Deployment, deployment
from mailcast.web.in_thread import WebServer

DEFAULT_SPEED = 3000.0  # simulated seconds per real second: 5 minutes every tick
DEMO_VALIDITY_HOURS = 8.0  # (ACS default: 84 h) long enough for every retry to play out
TICK = 0.1  # real seconds
REPORT_EVERY = dt.timedelta(minutes=30)
SERVICE_TICK = 0.05  # how often the worker and the scheduler look for due work (real s)
PLAY_TIMEOUT = 600.0  # a big audience's DSNs of one tick take the receiver a while
SERVE_TICK = 0.5  # real seconds between rounds of DSNs once the story is told

# The sandbox's delays in the demo (simulated seconds): spread out, so KPIs move gradually.
DEMO_SANDBOX = {
    "async_bounces": True,  # mailcast hands off everything; bounces come back as DSNs
    "unknown_prefixes": [sample.UNKNOWN_PREFIX],
    "full_prefixes": [sample.FULL_PREFIX],
    "slow_domains": [sample.SLOW_DOMAIN],
    "success_after_seconds": 20 * 60,
    "bounce_after_seconds": 45 * 60,
    "delay_after_seconds": 30 * 60,
    "slow_delivery_seconds": 2 * 3600,
    "full_for_seconds": 100 * 60,
    "spread": 2.0,
}


@dataclass(frozen=True)
class DemoResult:
    mode: FeedbackMode
    delivery_id: int
    hand_off: Deployment
    timeline: list[Row]
    final: Deployment
    checks: list[Check]
    read: Tally

    @property
    def ok(self) -> bool:
        return self.final.state is DeliveryState.FINISHED and all(c.ok for c in self.checks)


def run_demo(
    console: Console,
    *,
    exit_when_finished: bool,
    mode: FeedbackMode = FeedbackMode.LEGACY,
    profiles: int = 1000,
    speed: float = DEFAULT_SPEED,
    validity_hours: float = DEMO_VALIDITY_HOURS,
    workdir: Path | None = None,
) -> DemoResult:
    """Tell the story; then, unless `exit_when_finished`, serve its data until SIGINT/SIGTERM.

    The data stays in `workdir` (default: a new temporary folder), which is never deleted.
    """
    workdir = (workdir or Path(tempfile.mkdtemp(prefix="mailcast-demo-"))).resolve()
    clock = ManualClock(utcnow())
    ctx = _context(workdir, mode, validity_hours, clock, speed)
    console.rule(f"mailcast demo — {mode.value} mode")
    with _services(ctx) as running:
        mta = running.mta
        console.print(
            f"sandbox MTA on 127.0.0.1:{mta.port}, tracking on {running.web.base_url}; "
            f"data in {workdir}"
        )
        logins = sample.users(ctx, console)
        delivery_id = _prepared_and_confirmed(ctx, console, workdir, profiles, logins)
        hand_off = render.watch(console, lambda: deployment(ctx, delivery_id))
        console.print(render.deployment_table(hand_off))
        console.print(f"the sandbox MTA received {mta.count:,} messages")
        _explain(console, mode, validity_hours, speed)
        rows = _let_time_pass(console, ctx, clock, running, delivery_id, speed)
        final = _after_compute_stats(console, ctx, running, delivery_id)
        console.print(render.deployment_table(final))
        efs = mode is FeedbackMode.EFS
        found = timeline.checks(ctx, delivery_id, final, mta.notices(), efs, running.readers.did)
        _print_checks(console, found)
        if not exit_when_finished:
            _keep_serving(console, ctx, clock, running, logins, workdir)
    return DemoResult(mode, delivery_id, hand_off, rows, final, found, running.readers.did)


def _context(
    workdir: Path, mode: FeedbackMode, validity_hours: float, clock: ManualClock, speed: float
) -> Context:
    settings = Settings(
        database_url=f"sqlite:///{workdir / 'mailcast.db'}",
        feedback_mode=mode,
        validity_hours=validity_hours,
        relay=RelaySettings(host="127.0.0.1", port=0),
        # Leases are counted on the demo's fast clock: keep them a real minute long.
        send=SendSettings(poll_seconds=SERVICE_TICK, lease_seconds=max(60.0, 60 * speed)),
        web=WebSettings(tick_seconds=SERVICE_TICK),
        sandbox=SandboxSettings.model_validate(DEMO_SANDBOX),
        # Reports are applied on a thread that reads the demo's fast clock, as they come.
        bounces=BounceSettings(consumer_processes=0, gather_seconds=0),
    )
    ctx = Context.from_settings(settings, clock)
    ctx.db.upgrade()
    return ctx


@dataclass(frozen=True)
class _Running:
    mta: SandboxMTA
    web: WebServer
    readers: Readers
    receiver: BounceReceiver


@contextmanager
def _services(ctx: Context) -> Iterator[_Running]:
    """Bounce receiver, HTTP app, sandbox MTA (DSNs to the receiver, messages to the readers),
    a send worker, the scheduler."""
    with BounceReceiver(ctx, port=0) as receiver, WebServer(ctx) as web:
        ctx.settings.sandbox.dsn_port = receiver.port
        # Messages are composed with tracking URLs that reach this very process.
        ctx.settings.tracking.base_url = web.base_url
        # People read within the first half of the validity period, while it is all shown.
        people = Readers(ctx.settings.sandbox, ctx.clock, ctx.settings.validity_period / 2)
        with SandboxMTA.playing(
            ctx.settings,
            ctx.clock,
            port=0,
            keep_bodies=False,
            keep_records=True,
            autoplay=False,
            on_message=people.receive,
        ) as mta:
            ctx.settings.relay.port = mta.port
            with _in_background(ctx):
                yield _Running(mta, web, people, receiver)


@contextmanager
def _in_background(ctx: Context) -> Iterator[None]:
    stop = threading.Event()
    loop = asyncio.new_event_loop()
    stop_engine = asyncio.Event()
    engine = SendEngine(ctx)
    threads = [
        threading.Thread(
            target=lambda: loop.run_until_complete(engine.run(stop=stop_engine)),
            name="demo-worker",
            daemon=True,
        ),
        threading.Thread(target=_schedule, args=(ctx, stop), name="demo-scheduler", daemon=True),
    ]
    for thread in threads:
        thread.start()
    try:
        yield
    finally:
        stop.set()
        loop.call_soon_threadsafe(stop_engine.set)
        for thread in threads:
            thread.join(timeout=30)


def _schedule(ctx: Context, stop: threading.Event) -> None:
    """The scheduler's tick, at the pace the settings say now (it slows once the story ends)."""
    while not stop.is_set():
        run_due_jobs(ctx)
        stop.wait(ctx.settings.web.tick_seconds)


def _prepared_and_confirmed(
    ctx: Context, console: Console, workdir: Path, profiles: int, logins: dict[str, Login]
) -> int:
    marie, sam = logins["marie"].user, logins["sam"].user
    sample.audience(ctx, console, workdir, profiles)
    delivery_id = sample.delivery(ctx, marie)
    sample.prepare(ctx, console, marie, delivery_id)
    sample.confirm(ctx, console, marie, sam, delivery_id)
    return delivery_id


def _explain(console: Console, mode: FeedbackMode, validity_hours: float, speed: float) -> None:
    if mode is FeedbackMode.LEGACY:
        what = (
            "Legacy mode: a message the MTA accepted counts as delivered; a hard bounce moves "
            "it to Bounces + errors, a soft bounce or a delay changes nothing, a retry the "
            "MTA accepts is a success, and what is still failing when the validity ends fails."
        )
    else:
        what = (
            "EFS mode: a message counts as delivered only once the MTA reports it (success "
            "DSN); hard and soft bounces and delays count in Bounces + errors until a retry "
            "or a late delivery is reported."
        )
    console.print(what)
    console.print(
        f"Time now runs {speed:,.0f} times faster until the validity period ({validity_hours:g} h)"
        " ends; a row every half hour when something changed."
    )


def _let_time_pass(
    console: Console,
    ctx: Context,
    clock: ManualClock,
    running: _Running,
    delivery_id: int,
    speed: float,
) -> list[Row]:
    """Tick until the delivery is finished; a row every REPORT_EVERY of simulated time."""
    with readers.browser() as browser:
        return _ticks(console, ctx, clock, running, delivery_id, speed, browser)


def _ticks(
    console: Console,
    ctx: Context,
    clock: ManualClock,
    running: _Running,
    delivery_id: int,
    speed: float,
    browser: httpx2.Client,
) -> list[Row]:
    start = clock.now()
    give_up = start + 2 * ctx.settings.validity_period + dt.timedelta(hours=1)
    step = dt.timedelta(seconds=speed * TICK)
    rows: list[Row] = []
    next_report = start
    console.print(timeline.header())
    while True:
        current = deployment(ctx, delivery_id)
        now = clock.now()
        ended = current.state is not DeliveryState.SENT or now > give_up
        if now >= next_report or ended:
            tracked = timeline.tracked(ctx, delivery_id)
            rows.append(timeline.row(current, now - start, _played(running.mta), tracked))
            if ended or timeline.worth_showing(rows):
                console.print(timeline.line(rows[-1]), highlight=False)
                if timeline.people_moved(rows):
                    console.print(timeline.people(rows[-1]), highlight=False)
            next_report += REPORT_EVERY
        if ended:
            return rows
        time.sleep(TICK)
        clock.advance(step)
        _play_due(running, clock, browser)


def _play_due(running: _Running, clock: ManualClock, browser: httpx2.Client) -> None:
    """The sandbox sends the DSNs now due, and readers make the visits now due."""
    running.readers.delivered(running.mta.play_due(timeout=PLAY_TIMEOUT))
    running.receiver.wait_applied(timeout=PLAY_TIMEOUT)
    running.readers.act(browser, clock.now())


def _after_compute_stats(
    console: Console, ctx: Context, running: _Running, delivery_id: int
) -> Deployment:
    """Stop the HTTP app (it writes every hit it answered), then recount and refresh the rates."""
    running.web.stop()
    check = compute_stats(ctx, delivery_id)
    drift = ", ".join(f"{d.counter} {d.live:,}→{d.recounted:,}" for d in check.drift) or "none"
    console.print(f"compute stats: counters recounted (drift: {drift}), rates refreshed")
    return deployment(ctx, delivery_id)


def _played(mta: SandboxMTA) -> Counter[Notice]:
    return mta.player.counts() if mta.player is not None else Counter()


def _print_checks(console: Console, found: list[Check]) -> None:
    for check in found:
        mark = "[green]✓[/green]" if check.ok else "[red]✗[/red]"
        console.print(f"{mark} {check.label}", highlight=False)
    verdict = "the numbers add up" if all(c.ok for c in found) else "[red]MISMATCH[/red]"
    console.print(verdict)


def _keep_serving(
    console: Console,
    ctx: Context,
    clock: ManualClock,
    running: _Running,
    logins: dict[str, Login],
    workdir: Path,
) -> None:
    """Serve the demo's data (dashboard, API, tracking, and all that sends) until a signal.

    Time now runs at its normal pace, as under `mailcast serve`: a dashboard session lasts
    its hours, and a delivery sent from the dashboard is relayed and played back in real time.
    """
    running.web.start()  # stopped for compute stats; on the same port as before
    ctx.settings.send.poll_seconds = SendSettings().poll_seconds
    ctx.settings.web.tick_seconds = WebSettings().tick_seconds
    _print_how_to_browse(console, running, logins, workdir)
    with _stop_on_signals() as stop, readers.browser() as browser:
        last = time.monotonic()
        while not stop.wait(SERVE_TICK):
            now = time.monotonic()
            clock.advance(dt.timedelta(seconds=now - last))
            last = now
            _play_due(running, clock, browser)
    console.print("stopped; the data stays in " + str(workdir), highlight=False)


def _print_how_to_browse(
    console: Console, running: _Running, logins: dict[str, Login], workdir: Path
) -> None:
    base = running.web.base_url
    database = workdir / "mailcast.db"
    console.rule("mailcast keeps running")
    lines = [f"dashboard  {base}/dashboard/"]
    width = max(len(name) for name in logins)
    lines += [
        f"  log in as {name:<{width}}  password {login.password}  ({login.role})"
        for name, login in logins.items()
    ]
    lines += [
        f"API        {base}/api, described at {base}/docs (the dashboard's session, or a token)",
        f"also       tracking on {base}/t/, the sandbox MTA on 127.0.0.1:{running.mta.port}, "
        f"the bounce receiver on 127.0.0.1:{running.receiver.port}, a send worker, the scheduler",
        f"database   {database}, kept after the demo: "
        f"MAILCAST_DATABASE_URL=sqlite:///{database} mailcast deliveries list",
        "Time now passes at its normal pace. Ctrl-C stops (mailcast demo --exit ends before this).",
    ]
    for line in lines:
        console.print(line, highlight=False, soft_wrap=True, markup=False)


@contextmanager
def _stop_on_signals() -> Iterator[threading.Event]:
    """An event that SIGINT and SIGTERM set, instead of ending the process, while held."""
    stop = threading.Event()
    previous = {
        sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
