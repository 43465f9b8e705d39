"""The public tracking endpoints through the real ASGI app and the real database.

A forged or altered token answers 404 with no redirect and no event; a good one answers at
once and its hit is written; past the resource validity period a substitute page is shown.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import re
from email.message import EmailMessage

import pytest
from fastapi.testclient import TestClient
from tracked import BROWSER, A, B, Tracked, send

from conftest import Scenario
from mailcast.clock import ManualClock
from mailcast.context import Context
from mailcast.domain import EventKind
from mailcast.sandbox.mta import SandboxMTA
from mailcast.tracking.tokens import TokenKind, TokenSigner, TrackingToken
from mailcast.web.app import create_app
from mailcast.web.tracking import PIXEL

TARGET = "https://shop.example.com/sale?from=news"


@pytest.fixture
def sent(ctx: Context, clock: ManualClock, scenario: Scenario, mta: SandboxMTA) -> Tracked:
    return send(ctx, clock, scenario, [A, B])


def _serve(ctx: Context) -> TestClient:
    """The app, run with its lifespan: leaving the `with` block flushes the hits."""
    return TestClient(create_app(ctx), headers={"User-Agent": BROWSER})


def _altered(token: str, at: int) -> str:
    swapped = "A" if token[at] != "A" else "B"
    return token[:at] + swapped + token[at + 1 :]


def test_the_pixel_is_a_transparent_gif_and_its_open_is_recorded(
    ctx: Context, sent: Tracked
) -> None:
    with _serve(ctx) as client:
        answer = client.get(sent.pixel(A))
    assert answer.status_code == 200 and answer.content == PIXEL and len(PIXEL) == 43
    assert answer.headers["content-type"] == "image/gif"
    assert "no-store" in answer.headers["cache-control"]
    assert [(e["kind"], e["message_id"]) for e in sent.events()] == [
        (EventKind.OPENED, sent.ids[A])
    ]
    assert sent.counters()["unique_opens"] == 1


def test_a_click_redirects_to_the_signed_link_and_is_recorded(ctx: Context, sent: Tracked) -> None:
    with _serve(ctx) as client:
        answer = client.get(sent.click(B, TARGET), follow_redirects=False)
    assert answer.status_code == 302 and answer.headers["location"] == TARGET
    (event,) = sent.events()
    assert (event["kind"], event["detail"]["url"], event["machine"]) == (
        EventKind.CLICKED,
        TARGET,
        False,
    )
    assert sent.counters()["unique_clicks"] == 1 and sent.message(B)["clicks"] == 1


def _forgeries(ctx: Context, sent: Tracked) -> dict[str, tuple[str, str]]:
    """Pixel and click URLs made every way but the right one."""
    good_open, good_click = sent.token(TokenKind.OPEN, A), sent.token(TokenKind.CLICK, A, TARGET)
    payload, key_id, _ = good_click.split(".")
    other_key = TokenSigner([(key_id, "not-our-secret")])
    evil = TrackingToken(TokenKind.CLICK, sent.ids[A], ctx.clock.now(), 1, "https://evil.test/")
    return {
        "altered signature": (_altered(good_open, -3), _altered(good_click, -3)),
        "altered payload": (_altered(good_open, 5), _altered(good_click, 5)),
        "signed by another key": (
            other_key.sign(TrackingToken(TokenKind.OPEN, sent.ids[A], ctx.clock.now())),
            other_key.sign(evil),
        ),
        "unknown key id": (good_open.replace(f".{key_id}.", ".zz9."), f"{payload}.zz9.x"),
        "a token of another kind": (sent.token(TokenKind.UNSUBSCRIBE, A), good_open),
        "garbage": ("nonsense", "..."),
    }


def test_forged_tokens_get_404_no_redirect_and_no_event(ctx: Context, sent: Tracked) -> None:
    with _serve(ctx) as client:
        for how, (pixel, click) in _forgeries(ctx, sent).items():
            opened = client.get(f"/t/o/{pixel}.gif")
            clicked = client.get(f"/t/c/{click}", follow_redirects=False)
            assert (opened.status_code, clicked.status_code) == (404, 404), how
            assert "location" not in clicked.headers, how
            assert opened.content != PIXEL, how
    assert sent.events() == []
    counters = sent.counters()
    assert counters["total_opens"] == counters["total_clicks"] == 0


def test_a_click_token_never_redirects_outside_the_web(ctx: Context, sent: Tracked) -> None:
    with _serve(ctx) as client:
        answer = client.get(sent.click(A, "javascript:alert(1)"), follow_redirects=False)
    assert answer.status_code == 404 and "location" not in answer.headers
    assert sent.events() == []


def test_the_mirror_page_is_the_message_rendered_for_its_recipient(
    ctx: Context, sent: Tracked
) -> None:
    with _serve(ctx) as client:
        for_a, for_b = client.get(sent.mirror(A)), client.get(sent.mirror(B))
        forged = client.get(_altered(sent.mirror(A), -2))
    assert for_a.status_code == 200 and "Hi P0" in for_a.text and "Hi P1" in for_b.text
    assert for_a.headers["content-type"].startswith("text/html")
    assert "/t/c/" in for_a.text  # its links are tracked, as in the message itself
    assert forged.status_code == 404


def test_the_links_of_the_message_as_sent_work(
    ctx: Context, sent: Tracked, mta: SandboxMTA
) -> None:
    received = {r.recipients[0]: r.data or b"" for r in mta.received()}
    message = email.message_from_bytes(received[A], policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    body = message.get_body(("html",))
    assert body is not None
    paths = re.findall(r'"https?://[^/"]+(/t/[ocm]/[^"]+)"', str(body.get_content()))
    unsubscribe_path = re.sub(r"^<https?://[^/]+|>$", "", str(message["List-Unsubscribe"]))
    with _serve(ctx) as client:
        answers = [client.get(path, follow_redirects=False) for path in paths]
        one_click = client.post(unsubscribe_path, content=b"List-Unsubscribe=One-Click")
    assert sorted(a.status_code for a in answers) == [200, 302]
    assert one_click.status_code == 200
    kinds = sorted(e["kind"] for e in sent.events())
    assert kinds == sorted([EventKind.OPENED, EventKind.CLICKED, EventKind.UNSUBSCRIBED])
    assert not sent.subscribed(A)


def test_expired_links_show_the_substitute_page_and_record_nothing(
    ctx: Context, clock: ManualClock, sent: Tracked
) -> None:
    issued = clock.now()
    validity = dt.timedelta(days=ctx.settings.tracking.resource_validity_days)
    urls = {
        "pixel": sent.pixel(A, issued_at=issued),
        "click": sent.click(A, TARGET, issued_at=issued),
        "mirror": sent.mirror(A, issued_at=issued),
        "unsubscribe page": sent.unsubscribe(A, issued_at=issued),
    }
    clock.advance(validity - dt.timedelta(seconds=1))
    with _serve(ctx) as client:
        assert client.get(urls["mirror"]).status_code == 200  # still valid, just
        clock.advance(dt.timedelta(seconds=2))
        answers = {name: client.get(url, follow_redirects=False) for name, url in urls.items()}
    assert answers["pixel"].status_code == 200 and answers["pixel"].content == PIXEL
    for name in ("click", "mirror", "unsubscribe page"):
        assert answers[name].status_code == 410, name
        assert "expired" in answers[name].text and "location" not in answers[name].headers
    assert sent.events() == []
    assert sent.subscribed(A)
