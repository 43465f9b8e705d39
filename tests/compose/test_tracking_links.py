"""Compose-time tracking: rewritten links, the open pixel, template URLs, List-Unsubscribe."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import html
import re
from email.message import EmailMessage
from typing import Any, Literal

import pytest

from conftest import Scenario
from mailcast.compose.composer import Composer, DeliveryContent, Recipient
from mailcast.compose.templates import RenderError
from mailcast.compose.verp import EnvelopeSigner
from mailcast.context import Context
from mailcast.domain import DeliveryState
from mailcast.prepare.preparation import prepare_delivery
from mailcast.sandbox.mta import SandboxMTA
from mailcast.send.engine import send_until_idle
from mailcast.store import messages as message_store
from mailcast.tracking.links import LinkTracker
from mailcast.tracking.tokens import TokenKind, TokenSigner, TrackingToken
from mailcast.users.service import User

BASE = "https://t.example.net"
NOW = dt.datetime(2024, 3, 1, 12, 0, tzinfo=dt.UTC)
TOKENS = TokenSigner([("k1", "compose test key")])
ENVELOPE = EnvelopeSigner("secret", "bounces.example.com", "example.com")
ANN = Recipient(77, "ann@example.com", "Ann", "Lee", {"city": "Lyon & Co", "ref": "a/b"})

_HREF = re.compile(r"""\shref\s*=\s*(["'])(.*?)\1""", re.IGNORECASE)
_TRACKED = re.compile(re.escape(BASE) + r"/t/(?P<kind>[a-z])/(?P<token>[A-Za-z0-9_.-]+)")


def _composer(
    html_body: str, text: str = "Hi", position: Literal["top", "bottom"] = "bottom"
) -> Composer:
    content = DeliveryContent(
        9, "Hello {{ first_name }}", "news@example.com", None, html_body, text
    )
    return Composer(content, ENVELOPE, LinkTracker(TOKENS, BASE + "/", position))


def _parts(data: bytes) -> tuple[EmailMessage, str, str]:
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    html_part = message.get_body(("html",))
    text_part = message.get_body(("plain",))
    html_body = html_part.get_content() if html_part else ""
    text_body = text_part.get_content() if text_part else ""
    return message, html_body, text_body


def _compose_html(html_body: str, **kwargs: Any) -> str:
    return _parts(_composer(html_body, **kwargs).compose(ANN, NOW).data)[1]


def _list_unsubscribe(message: EmailMessage) -> list[str]:
    """The URLs of the List-Unsubscribe header, in order (RFC 2369: `<url>, <url>`)."""
    header = str(message["List-Unsubscribe"])
    urls = re.findall(r"<([^<>]*)>", header)
    assert ", ".join(f"<{url}>" for url in urls) == header
    return urls


def _verified(url: str, kind: TokenKind) -> TrackingToken:
    match = _TRACKED.fullmatch(url)
    assert match is not None, url
    assert match["kind"] == kind.value
    token = TOKENS.verify(match["token"].removesuffix(".gif"))
    assert token is not None and token.kind is kind
    return token


def test_every_web_link_becomes_a_signed_click_url_to_the_rendered_target() -> None:
    body = (
        '<a href="https://shop.example.com/a?x=1&amp;y=2">fixed</a>\n'
        "<a class='c' href='http://example.com/{{ attributes.city }}/{{ first_name }}'>mine</a>\n"
        '<A HREF = "HTTPS://Example.com/UPPER">upper</A>\n'
        "{% for n in [1, 2] %}"
        '<a href="https://example.com/item/{{ n }}?r={{ attributes.ref|urlencode }}">{{ n }}</a>'
        "{% endfor %}\n"
        '<a title="{{ "a > b" }}" href="{{ "https://example.com/" ~ last_name }}">expr</a>'
    )

    hrefs = [h for _, h in _HREF.findall(_compose_html(body))]

    tokens = [_verified(html.unescape(h), TokenKind.CLICK) for h in hrefs]
    assert [(t.message_id, t.link, t.url) for t in tokens] == [
        (77, 1, "https://shop.example.com/a?x=1&y=2"),
        (77, 2, "http://example.com/Lyon & Co/Ann"),
        (77, 3, "HTTPS://Example.com/UPPER"),
        (77, 4, "https://example.com/item/1?r=a/b"),
        (77, 4, "https://example.com/item/2?r=a/b"),
        (77, 5, "https://example.com/Lee"),
    ]
    assert {t.issued_at for t in tokens} == {NOW}


def test_links_that_are_not_web_links_or_are_marked_are_left_exactly_as_written() -> None:
    kept = [
        '<a href="mailto:help@example.com?subject=Hi">mail</a>',
        '<a href="tel:+33123456789">call</a>',
        '<a href="#top">top</a>',
        '<a href="/relative/page">relative</a>',
        '<a data-mailcast-notrack href="https://example.com/private">private</a>',
        '<a href="https://example.com/kept" data-mailcast-notrack="1">kept</a>',
        '<a name="anchor">no href</a>',
        '<link href="https://example.com/style.css" rel="stylesheet">',
        '<img src="https://example.com/logo.png" alt="">',
    ]
    body = "\n".join([*kept, "{# <a href='https://example.com/commented'> #}"])
    body += "{% raw %}<a href='https://example.com/raw'>{{ x }}</a>{% endraw %}"

    out = _compose_html(body)

    for fragment in kept:
        assert fragment in out
    assert "<a href='https://example.com/raw'>{{ x }}</a>" in out
    assert BASE + "/t/c/" not in out
    assert "commented" not in out


def test_a_dynamic_link_that_renders_to_a_mailto_is_not_tracked() -> None:
    body = '<a href="{{ attributes.kind }}:{{ email }}">write</a>'
    composer = _composer(body)
    recipient = Recipient(5, "bob@example.com", "Bob", None, {"kind": "mailto"})

    out = _parts(composer.compose(recipient, NOW).data)[1]

    assert '<a href="mailto:bob@example.com">write</a>' in out


@pytest.mark.parametrize(
    ("position", "pattern"),
    [
        ("top", r'^<html><body class="x">(<img [^>]+>)<p>first</p>'),
        ("bottom", r"<p>last</p>(<img [^>]+>)</body></html>$"),
    ],
)
def test_the_open_pixel_goes_after_body_or_before_its_end(
    position: Literal["top", "bottom"], pattern: str
) -> None:
    body = '<html><body class="x"><p>first</p><p>last</p></body></html>'

    out = _compose_html(body, position=position).strip()

    match = re.search(pattern, out)
    assert match is not None, out
    pixel = re.fullmatch(r'<img src="([^"]+)\.gif" width="1" height="1" alt="">', match[1])
    assert pixel is not None
    token = _verified(pixel[1], TokenKind.OPEN)
    assert (token.message_id, token.issued_at) == (77, NOW)
    assert out.count("<img") == 1


@pytest.mark.parametrize(
    ("position", "pattern"),
    [
        ("top", r"(<img [^>]+>)<p>just a fragment</p>"),
        ("bottom", r"<p>just a fragment</p>(<img [^>]+>)"),
    ],
)
def test_without_a_body_tag_the_pixel_opens_or_closes_the_html(
    position: Literal["top", "bottom"], pattern: str
) -> None:
    out = _compose_html("<p>just a fragment</p>", position=position).strip()

    match = re.fullmatch(pattern, out)
    assert match is not None, out
    assert match[1].startswith(f'<img src="{BASE}/t/o/')


def test_templates_get_mirror_and_unsubscribe_urls_for_their_own_message() -> None:
    body = (
        '<a href="{{ mirror_url }}">view online</a> <a href="{{ unsubscribe_url }}">unsubscribe</a>'
    )
    text = "Web: {{ mirror_url }}\nUnsubscribe: {{ unsubscribe_url }}"

    message, out, text_out = _parts(_composer(body, text).compose(ANN, NOW).data)

    hrefs = [h for _, h in _HREF.findall(out)]
    # Our own pages are linked directly, not through a click redirect.
    assert [
        _verified(h, k).message_id
        for h, k in zip(hrefs, [TokenKind.MIRROR, TokenKind.UNSUBSCRIBE], strict=True)
    ] == [77, 77]
    assert text_out.splitlines() == [f"Web: {hrefs[0]}", f"Unsubscribe: {hrefs[1]}"]
    assert _list_unsubscribe(message) == [hrefs[1], f"mailto:{ENVELOPE.unsubscribe_address(77)}"]


def test_every_message_carries_one_click_unsubscribe_headers_for_itself() -> None:
    composer = _composer("<p>Hi {{ first_name }}</p>", "Hi")
    for message_id in (1, 2, 30_000):
        recipient = Recipient(message_id, f"r{message_id}@example.com", "R", None, {})
        message = _parts(composer.compose(recipient, NOW).data)[0]

        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        https, mailto = _list_unsubscribe(message)
        token = _verified(https, TokenKind.UNSUBSCRIBE)
        assert token.message_id == message_id
        address = mailto.removeprefix("mailto:")
        assert ENVELOPE.message_from_unsubscribe_address(address) == message_id


@pytest.mark.parametrize("bounce_domain", ["bounces.mailcast.localhost", "localhost", ""])
def test_no_mailto_while_the_bounce_domain_cannot_receive_mail(bounce_domain: str) -> None:
    envelope = EnvelopeSigner("secret", bounce_domain, "example.com")
    content = DeliveryContent(9, "Hello", "news@example.com", None, "<p>Hi</p>", "Hi")
    composer = Composer(content, envelope, LinkTracker(TOKENS, BASE, "bottom"))

    message = _parts(composer.compose(ANN, NOW).data)[0]

    [https] = _list_unsubscribe(message)
    assert _verified(https, TokenKind.UNSUBSCRIBE).message_id == 77


def test_a_text_only_message_is_also_unsubscribable_and_has_no_pixel() -> None:
    message, html_body, text = _parts(
        _composer("", "Plain {{ first_name }}").compose(ANN, NOW).data
    )

    assert html_body == "" and text.strip() == "Plain Ann"
    assert _verified(_list_unsubscribe(message)[0], TokenKind.UNSUBSCRIBE).message_id == 77


def test_rendering_for_preparation_shows_the_links_as_written() -> None:
    body = (
        '<html><body><a href="https://example.com/a?x=1&amp;y=2">a</a>'
        '<a href="https://example.com/{{ attributes.city }}">b</a></body></html>'
    )

    rendered = _composer(body).render(ANN)

    assert rendered.html == (
        '<html><body><a href="https://example.com/a?x=1&amp;y=2">a</a>'
        '<a href="https://example.com/Lyon &amp; Co">b</a></body></html>'
    )


# --- through preparation and the real send path -------------------------------------------


def test_preparation_still_blocks_a_malformed_url_inside_a_tracked_link(
    ctx: Context, scenario: Scenario, marie: User
) -> None:
    scenario.audience(["a@example.com"])
    delivery_id = scenario.delivery(
        html='<p><a href="https://exa mple.com/{{ first_name }}">x</a> '
        '<a href="{{ unsubscribe_url }}">unsubscribe</a></p>'
    )

    result = prepare_delivery(ctx, marie, delivery_id)

    assert result.state is DeliveryState.DRAFT
    assert any("exa mple.com" in f.message for f in result.findings if f.level == "error")


def test_sent_messages_carry_their_own_tracking_urls_and_headers(
    ctx: Context, scenario: Scenario, mta: SandboxMTA
) -> None:
    addresses = [f"reader{n}@example.com" for n in range(6)]
    scenario.audience(addresses)
    ctx.settings.tracking.base_url = BASE
    ctx.settings.tracking.pixel_position = "top"
    delivery_id = scenario.sending(
        html=(
            "<html><body><p>Hi {{ first_name }}</p>"
            '<a href="https://example.com/p?who={{ first_name }}">offer</a>'
            '<a href="{{ unsubscribe_url }}">unsubscribe</a></body></html>'
        ),
        text="Unsubscribe: {{ unsubscribe_url }}",
    )

    send_until_idle(ctx)

    with ctx.db.read() as conn:
        ids = {r["address"]: r["id"] for r in message_store.sending_log(conn, delivery_id)}
    signer = ctx.token_signer
    received = mta.received()
    assert len(received) == len(addresses)
    for item in received:
        message_id = ids[item.recipients[0]]
        message, out, _ = _parts(item.data or b"")
        header = message["List-Unsubscribe"][1:-1]
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        hrefs = [h for _, h in _HREF.findall(out)]
        pixel = re.search(r'<body><img src="([^"]+)\.gif"', out)
        assert pixel is not None and len(hrefs) == 2
        named = {}
        for url in (pixel[1], html.unescape(hrefs[0]), hrefs[1], header):
            match = _TRACKED.fullmatch(url)
            assert match is not None, url
            token = signer.verify(match["token"])
            assert token is not None and token.message_id == message_id
            named[token.kind] = token
        assert set(named) == {TokenKind.OPEN, TokenKind.CLICK, TokenKind.UNSUBSCRIBE}
        first_name = message["To"].split(" ")[0]
        assert named[TokenKind.CLICK].url == f"https://example.com/p?who={first_name}"
        assert hrefs[1] == header


def test_a_broken_template_is_reported_as_the_author_wrote_it() -> None:
    with pytest.raises(RenderError, match=r"HTML body: .*\(line 2\)"):
        _composer('<p>ok</p>\n<a href="https://example.com/{{ first_name ">x</a>')


@pytest.mark.parametrize(
    "base_url", ["t.example.net", "ftp://t.example.net", "https://", "https://t/?a=1"]
)
def test_a_tracking_base_url_that_is_no_web_address_is_refused(
    ctx: Context, scenario: Scenario, marie: User, base_url: str
) -> None:
    scenario.audience(["a@example.com"])
    ctx.settings.tracking.base_url = base_url
    delivery_id = scenario.delivery()

    result = prepare_delivery(ctx, marie, delivery_id)

    assert result.state is DeliveryState.DRAFT
    assert [f.message for f in result.findings if f.level == "error"] == [
        f"the tracking base URL must be an http(s) address, not {base_url!r}"
    ]


# --- a delivery's tracking options --------------------------------------------------------


def _untracked(html_body: str, *, opens: bool, clicks: bool) -> Composer:
    content = DeliveryContent(
        9,
        "Hello",
        "news@example.com",
        None,
        html_body,
        "Hi",
        track_opens=opens,
        track_clicks=clicks,
    )
    return Composer(content, ENVELOPE, LinkTracker(TOKENS, BASE + "/", "bottom"))


def test_without_click_tracking_links_stay_as_written_and_the_pixel_is_still_there() -> None:
    body = '<html><body><a href="https://example.com/a">a</a></body></html>'

    message, html_body, _ = _parts(
        _untracked(body, opens=True, clicks=False).compose(ANN, NOW).data
    )

    assert [m.group(2) for m in _HREF.finditer(html_body)] == ["https://example.com/a"]
    [pixel] = [m.group(0) for m in _TRACKED.finditer(html_body)]
    assert _verified(pixel, TokenKind.OPEN).message_id == 77
    assert _verified(_list_unsubscribe(message)[0], TokenKind.UNSUBSCRIBE).message_id == 77


def test_without_open_tracking_no_pixel_is_added_and_links_are_still_tracked() -> None:
    body = '<html><body><a href="https://example.com/a">a</a></body></html>'

    html_body = _parts(_untracked(body, opens=False, clicks=True).compose(ANN, NOW).data)[1]

    kinds = [m["kind"] for m in _TRACKED.finditer(html_body)]
    assert kinds == [TokenKind.CLICK.value]
    assert "<img" not in html_body
