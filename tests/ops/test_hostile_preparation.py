"""A hostile template prepared through the API of a real `mailcast serve` process: /healthz
keeps answering within a second, the preparation ends blocked naming the limit, the delivery
is back in draft, and SIGTERM still stops the server."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import httpx2
import pytest

from conftest import Scenario
from mailcast.context import Context
from mailcast.domain import DeliveryState
from mailcast.sandbox.mta import SandboxMTA
from mailcast.stats.deployment import deployment
from mailcast.users.service import create_token

HEALTHY_WITHIN = 1.0  # seconds: what the issue asks of /healthz while a preparation runs
WAIT = 60.0  # the most a step may take before the test gives up (not a timing assertion)
UNSUBSCRIBE = '<a href="{{ unsubscribe_url }}">unsubscribe</a>'


@pytest.fixture
def server(ctx: Context, mta: SandboxMTA) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """`python -m mailcast serve` on the test database; its base URL and its process."""
    web_port, bounce_port = _free_port(), _free_port()
    env = os.environ | {
        "MAILCAST_DATABASE_URL": ctx.settings.database_url,
        "MAILCAST_SECRET_KEY": ctx.settings.secret_key or "",
        "MAILCAST_RELAY__PORT": str(mta.port),
        "MAILCAST_BOUNCES__PORT": str(bounce_port),
        "MAILCAST_CONFIG": "/nonexistent/mailcast.toml",
    }
    command = [sys.executable, "-m", "mailcast", "serve", "--port", str(web_port)]
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    base = f"http://127.0.0.1:{web_port}"
    try:
        _wait_until_it_answers(base, process)
        yield base, process
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate()


@pytest.mark.timeout(300)
@pytest.mark.parametrize(
    ("html", "setting"),
    [
        # Froze the whole server for ~85 s before: one C-level power, holding the GIL.
        ("{{ 9**(9**8) }}", "templates.max_number_bits"),
        # Prepared "ready" before, with a 100 MB body per recipient.
        ("{{ 'x' * 100000000 }}", "templates.max_value_length"),
        # 10^10 loop iterations: only the time budget per recipient stops it.
        (
            "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
            "templates.recipient_seconds",
        ),
    ],
)
def test_healthz_answers_while_a_hostile_preparation_runs_and_it_ends_blocked(
    ctx: Context,
    scenario: Scenario,
    server: tuple[str, subprocess.Popen[str]],
    html: str,
    setting: str,
) -> None:
    base, process = server
    scenario.audience(["a@example.com", "b@example.com"])
    delivery_id = scenario.delivery(html=f"<p>{html}</p>{UNSUBSCRIBE}")
    token = create_token(ctx.db, scenario.author, "test", ctx.clock)
    answers: list[httpx2.Response] = []

    def prepare() -> None:
        answers.append(
            httpx2.post(
                f"{base}/api/deliveries/{delivery_id}/prepare",
                headers={"Authorization": f"Bearer {token}"},
                timeout=WAIT,
            )
        )

    preparing = threading.Thread(target=prepare, daemon=True)
    preparing.start()
    health_times = _poll_health_while(preparing, base)

    assert max(health_times) < HEALTHY_WITHIN, health_times
    assert answers, "the preparation did not answer"
    result = answers[0].json()
    assert (result["state"], result["blocked"]) == ("draft", True)
    errors = [f for f in result["findings"] if f["level"] == "error"]
    assert [f["rule"] for f in errors] == ["template_limit"]
    assert errors[0]["message"].endswith(f"(limit: {setting})")
    assert deployment(ctx, delivery_id).state is DeliveryState.DRAFT
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=WAIT) == 0


def _poll_health_while(preparing: threading.Thread, base: str) -> list[float]:
    """/healthz again and again until the preparation answers: how long each answer took."""
    took = []
    deadline = time.monotonic() + WAIT
    while True:
        started = time.monotonic()
        try:
            answer = httpx2.get(f"{base}/healthz", timeout=HEALTHY_WITHIN)
        except httpx2.TimeoutException:
            raise AssertionError(f"/healthz did not answer within {HEALTHY_WITHIN} s") from None
        took.append(time.monotonic() - started)
        assert answer.status_code == 200, answer.text
        if not preparing.is_alive():
            return took
        assert time.monotonic() < deadline, "the preparation did not end"
        time.sleep(0.05)


def _wait_until_it_answers(base: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + WAIT
    while True:
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        try:
            if httpx2.get(f"{base}/healthz", timeout=1.0).status_code == 200:
                return
        except httpx2.HTTPError:
            pass
        assert time.monotonic() < deadline, "mailcast serve did not start"
        time.sleep(0.05)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
