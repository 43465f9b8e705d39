"""`mailcast serve`: the HTTP app, the bounce receiver, a send worker and the tick in one
process, on real sockets; and the command itself, stopped by a signal."""

from __future__ import annotations

import asyncio
import os
import signal
import smtplib
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx2
import pytest
from webapp import Sent

from conftest import Scenario
from mailcast.clock import ManualClock, utcnow
from mailcast.context import Context
from mailcast.domain import DeliveryState, FeedbackMode, MessageStatus
from mailcast.feedback.webhooks import generic
from mailcast.sandbox.mta import SandboxMTA
from mailcast.stats.deployment import deployment
from mailcast.web.serve import Parts, Service
from processes import Mailcast, answers, free_port, mailcast_env

SECRET = "serve-test-secret"
WAIT = 30.0  # the most any step may take before the test gives up (not a timing assertion)


def _eventually(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting: {what}")
        time.sleep(0.05)


class Running:
    """A Service on its own thread and event loop, as `mailcast serve` runs it."""

    def __init__(self, ctx: Context, parts: Parts | None = None) -> None:
        self.service = Service(ctx, parts)
        self.error: BaseException | None = None
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        async def main() -> None:
            started = asyncio.Event()
            waiter = asyncio.create_task(started.wait())
            runner = asyncio.create_task(self.service.run(started=started))
            await asyncio.wait([waiter, runner], return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()
            if runner.done():
                await runner  # it failed to start: its error is kept before `started` is set
            self._started.set()
            await runner

        try:
            asyncio.run(main())
        except BaseException as error:
            self.error = error
        finally:
            self._started.set()

    def __enter__(self) -> Service:
        self._thread.start()
        assert self._started.wait(WAIT), "mailcast serve did not start"
        if self.error is not None:
            raise self.error
        return self.service

    def __exit__(self, *_: object) -> None:
        self.service.stop()
        self._thread.join(WAIT)
        assert not self._thread.is_alive(), "mailcast serve did not stop"


@pytest.fixture
def served(ctx: Context, mta: SandboxMTA) -> Iterator[Service]:
    ctx.settings.web.port = 0
    ctx.settings.bounces.port = 0
    ctx.settings.web.tick_seconds = 0.2
    ctx.settings.send.poll_seconds = 0.05
    ctx.settings.web.webhooks.generic_secret = SECRET
    with Running(ctx) as service:
        yield service


def _post_generic(port: int, payload: dict[str, object]) -> httpx2.Response:
    body = httpx2.Request("POST", "http://x", json=payload).read()
    headers = {
        generic.SIGNATURE_HEADER: generic.sign(body, SECRET),
        "content-type": "application/json",
    }
    return httpx2.post(f"http://127.0.0.1:{port}/webhooks/generic", content=body, headers=headers)


def test_one_process_sends_receives_webhooks_and_bounces(
    ctx: Context, scenario: Scenario, mta: SandboxMTA, served: Service
) -> None:
    assert served.web_port and served.bounce_port
    scenario.audience(["a@example.com", "b@example.com"])
    delivery_id = scenario.sending(feedback_mode=FeedbackMode.EFS)
    sent = Sent(ctx, delivery_id)

    # The worker inside `serve` relays the delivery to the MTA.
    _eventually(lambda: mta.count == 2, "the worker relays both messages")
    _eventually(
        lambda: set(_statuses(sent).values()) == {MessageStatus.PENDING}, "both are pending"
    )
    assert deployment(ctx, delivery_id).state is DeliveryState.SENT

    # The HTTP app answers on a real socket, and a webhook moves the sending log.
    assert httpx2.get(f"http://127.0.0.1:{served.web_port}/health").json() == {"status": "ok"}
    event = {"verp": sent.verp("a@example.com"), "recipient": "a@example.com", "event": "delivered"}
    response = _post_generic(served.web_port, {"events": [event]})
    assert response.json()["applied"] == 1, response.text
    assert sent.status("a@example.com") == MessageStatus.SENT
    assert deployment(ctx, delivery_id).kpis.delivered_pct == 50.0

    # The bounce receiver answers SMTP, for our signed return paths only.
    with smtplib.SMTP("127.0.0.1", served.bounce_port, timeout=WAIT) as smtp:
        smtp.ehlo()
        smtp.mail("")
        assert smtp.rcpt(sent.verp("b@example.com"))[0] == 250
        assert smtp.rcpt("someone@example.com")[0] == 550


def _statuses(sent: Sent) -> dict[str, str]:
    return {address: row["status"] for address, row in sent.log().items()}


def test_parts_can_be_left_out(ctx: Context) -> None:
    ctx.settings.web.port = 0
    with Running(ctx, Parts(bounces=False, worker=False, scheduler=False)) as service:
        assert service.web_port and service.bounce_port is None
        assert httpx2.get(f"http://127.0.0.1:{service.web_port}/health").status_code == 200


def test_a_port_in_use_is_a_clear_error(ctx: Context) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        ctx.settings.web.port = taken.getsockname()[1]
        running = Running(ctx, Parts(bounces=False, worker=False, scheduler=False))
        with pytest.raises(RuntimeError, match="could not listen"), running:
            pass


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_serve_command_runs_until_sigterm_and_stops_cleanly(
    ctx: Context, mta: SandboxMTA, db_url: str
) -> None:
    web_port, bounce_port = _free_port(), _free_port()
    env = {
        **os.environ,
        "MAILCAST_DATABASE_URL": db_url,
        "MAILCAST_SECRET_KEY": "test-secret",
        "MAILCAST_RELAY__PORT": str(mta.port),
        "MAILCAST_BOUNCES__PORT": str(bounce_port),
        "MAILCAST_CONFIG": "/nonexistent/mailcast.toml",
    }
    command = [sys.executable, "-m", "mailcast", "serve", "--port", str(web_port)]
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        _eventually(lambda: _answers(web_port) or process.poll() is not None, "serve answers")
        assert process.poll() is None, process.stdout.read() if process.stdout else ""
        with smtplib.SMTP("127.0.0.1", bounce_port, timeout=WAIT) as smtp:
            assert smtp.ehlo()[0] == 250
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=WAIT)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, output
    assert not _answers(web_port)


def _answers(port: int) -> bool:
    try:
        return httpx2.get(f"http://127.0.0.1:{port}/health", timeout=1.0).status_code == 200
    except httpx2.HTTPError:
        return False


def test_serve_with_the_sandbox_relays_a_delivery_and_plays_its_dsns_back(
    ctx: Context, clock: ManualClock, scenario: Scenario, db_url: str, tmp_path: Path
) -> None:
    web_port = free_port()
    env = mailcast_env(
        MAILCAST_DATABASE_URL=db_url,
        MAILCAST_SECRET_KEY=ctx.settings.secret_key or "",
        MAILCAST_RELAY__PORT=str(free_port()),
        MAILCAST_BOUNCES__PORT=str(free_port()),
        MAILCAST_SANDBOX__TIME_SCALE="600",  # the success DSN 0.1 s after the hand-off
    )
    with Mailcast("serve", "--sandbox", "--port", str(web_port), cwd=tmp_path, env=env) as serve:
        serve.wait_until(lambda: answers(f"http://127.0.0.1:{web_port}/health"), "serve answers")
        clock.set(utcnow())  # the process runs on real time: the delivery's validity too
        scenario.audience(["ann@example.com", "unknown.bo@example.com"])
        sent = Sent(ctx, scenario.sending(feedback_mode=FeedbackMode.EFS))

        # EFS: only the sandbox's success DSN, through the bounce receiver, makes it `sent`.
        serve.wait_until(lambda: sent.status("ann@example.com") == "sent", "the success DSN")
        assert sent.status("unknown.bo@example.com") == MessageStatus.FAILED  # refused at RCPT
        assert deployment(ctx, sent.delivery_id).kpis.delivered_pct == 50.0
        code = serve.signal(signal.SIGTERM)

    assert code == 0, serve.stderr
    assert "sandbox MTA on 127.0.0.1:" in serve.stderr
