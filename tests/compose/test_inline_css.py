"""CSS inlining per delivery: style attributes from <style> rules, Jinja and tracking intact."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import html
import re
from email.message import EmailMessage

import pytest
from fastapi.testclient import TestClient

from conftest import Scenario
from mailcast.compose.composer import Composer, DeliveryContent, Recipient
from mailcast.compose.verp import EnvelopeSigner
from mailcast.context import Context
from mailcast.sandbox.mta import SandboxMTA
from mailcast.send.engine import send_until_idle
from mailcast.store import messages as message_store
from mailcast.tracking.links import LinkTracker
from mailcast.tracking.tokens import TokenKind, TokenSigner, TrackingToken
from mailcast.web.app import create_app

BASE = "https://t.example.net"
NOW = dt.datetime(2024, 3, 1, 12, 0, tzinfo=dt.UTC)
TOKENS = TokenSigner([("k1", "inline test key")])
ENVELOPE = EnvelopeSigner("secret", "bounces.example.com", "example.com")
ANN = Recipient(77, "ann@example.com", "Ann", "Lee", {"vip": True, "items": ["tea", "jam"]})
BOB = Recipient(78, "bob@example.com", "Bob", None, {"vip": False, "items": ["a", "b", "c"]})

STYLE = (
    "<style>p { color: #c00 } td.item { padding: 4px } a { color: #06c }"
    " .wrap p { font-weight: bold }</style>"
)
ZEBRA = "<style>tr:nth-child(even) td { background: #eee }</style>"
# A template a naive inliner breaks: a comparison in an expression, a loop between table
# rows, a tracked link with per-recipient parts, an expression in <title>.
TEMPLATE = (
    "<html><head><title>{{ first_name }}'s news</title>" + STYLE + "</head><body>"
    "<p>Hi {{ first_name }}, {{ 'many' if attributes['items']|length > 2 else 'few' }}</p>"
    "<table>{% for item in attributes['items'] %}"
    '<tr><td class="item">{{ item }}</td></tr>{% endfor %}</table>'
    '<a href="https://shop.example.com/?who={{ first_name }}&amp;k=1">shop</a>'
    '<a href="{{ unsubscribe_url }}">unsubscribe</a></body></html>'
)


def _composer(body: str, inline_css: bool = True, tracked: bool = True) -> Composer:
    content = DeliveryContent(9, "Hello", "news@example.com", None, body, "Hi", inline_css)
    tracker = LinkTracker(TOKENS, BASE, "bottom") if tracked else None
    return Composer(content, ENVELOPE, tracker)


def _html(data: bytes) -> str:
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    part = message.get_body(("html",))
    assert part is not None
    return str(part.get_content())


def _styles(out: str, tag: str) -> list[str]:
    """The style attribute of each `tag` element, in order ('' for none)."""
    found = re.findall(rf"<{tag}\b([^>]*)>", out)
    return [html.unescape(m[1]) if (m := re.search(r'style="([^"]*)"', a)) else "" for a in found]


def test_rules_become_style_attributes_and_the_jinja_still_renders_per_recipient() -> None:
    composer = _composer(TEMPLATE)
    assert not composer.styled.each_message  # inlined once, for every message

    ann, bob = (_html(composer.compose(r, NOW).data) for r in (ANN, BOB))

    assert "<title>Ann's news</title>" in ann and "<style>" not in ann
    assert re.search(r'<p style="color: #c00;">Hi Ann, few</p>', ann)
    assert re.search(r'<p style="color: #c00;">Hi Bob, many</p>', bob)
    assert re.findall(r'<td class="item" style="padding: 4px;">(\w+)</td>', ann) == ["tea", "jam"]
    assert re.findall(r'<td class="item" style="padding: 4px;">(\w+)</td>', bob) == ["a", "b", "c"]


def test_links_in_an_inlined_message_are_tracked_with_their_rendered_targets() -> None:
    out = _html(_composer(TEMPLATE).compose(ANN, NOW).data)

    links = re.findall(r'<a href="([^"]+)" style="color: #06c;">', out)
    assert len(links) == 2
    click = re.fullmatch(re.escape(BASE) + r"/t/c/(\S+)", links[0])
    assert click is not None
    token = TOKENS.verify(click[1])
    assert token is not None and token.message_id == 77
    assert token.url == "https://shop.example.com/?who=Ann&k=1"
    unsubscribe = TOKENS.verify(links[1].rsplit("/", 1)[1])
    assert unsubscribe is not None and unsubscribe.kind is TokenKind.UNSUBSCRIBE
    assert re.search(rf'<img src="{re.escape(BASE)}/t/o/[^"]+\.gif"', out)  # the pixel


def test_with_the_option_off_the_html_is_sent_as_written() -> None:
    body = STYLE + "<p>Hi {{ first_name }}</p>"
    for tracked in (True, False):
        out = _html(_composer(body, inline_css=False, tracked=tracked).compose(ANN, NOW).data)
        assert out.startswith(STYLE + "<p>Hi Ann</p>") and "style=" not in out


def test_a_template_without_style_rules_is_left_as_written() -> None:
    body = '<p class="x">Hi {{ first_name }}</p>'
    out = _html(_composer(body, tracked=False).compose(ANN, NOW).data)
    assert out == '<p class="x">Hi Ann</p>'


@pytest.mark.parametrize(
    "body",
    [
        # An element opened in one branch and closed in another.
        STYLE + '{% if attributes.vip %}<div class="wrap">{% endif %}<p>x</p>'
        "{% if attributes.vip %}</div>{% endif %}",
        # Its class written by Jinja.
        STYLE + '<div class="{{ "wrap" if attributes.vip else "plain" }}"><p>x</p></div>',
    ],
)
def test_markup_that_changes_per_recipient_is_styled_as_each_recipient_gets_it(body: str) -> None:
    composer = _composer(body, tracked=False)
    assert composer.styled.each_message

    ann, bob = (_html(composer.compose(r, NOW).data) for r in (ANN, BOB))

    assert _styles(ann, "p") == ["color: #c00;font-weight: bold;"]
    assert _styles(bob, "p") == ["color: #c00;"]


def test_positional_selectors_see_the_rows_each_recipient_gets() -> None:
    body = ZEBRA + (
        '<table>{% for item in attributes["items"] %}<tr><td>{{ item }}</td></tr>{% endfor %}'
        "</table>"
    )
    out = _html(_composer(body, tracked=False).compose(BOB, NOW).data)

    assert _styles(out, "td") == ["", "background: #eee;", ""]


def test_a_kept_style_block_stays_and_remote_stylesheets_are_not_fetched() -> None:
    body = (
        '<style data-css-inline="keep">@media (max-width: 600px) { p { color: #0c0 } }'
        " p { color: #c00 }</style>"
        '<link rel="stylesheet" href="http://127.0.0.1:9/never-fetched.css">'
        "<p>Hi {{ first_name }}</p>"
    )
    out = _html(_composer(body, tracked=False).compose(ANN, NOW).data)

    assert "@media (max-width: 600px)" in out and 'href="http://127.0.0.1:9/' in out
    assert _styles(out, "p") == ["color: #c00;"]


# --- through the engine, the sandbox MTA and the mirror page ------------------------------


def test_sent_messages_and_their_mirror_pages_show_the_inlined_html(
    ctx: Context, scenario: Scenario, mta: SandboxMTA
) -> None:
    scenario.audience(["a@example.com", "bb@example.com"])
    ctx.settings.tracking.base_url = BASE
    delivery_id = scenario.sending(
        inline_css=True,
        html=STYLE + "<p>Hi {{ first_name }}</p>"
        '<table>{% for n in [1, 2] %}<tr><td class="item">{{ n }}. {{ email }}</td></tr>'
        '{% endfor %}</table><a href="https://example.com/?to={{ email|urlencode }}">go</a>'
        '<a href="{{ unsubscribe_url }}">unsubscribe</a>',
    )

    send_until_idle(ctx)

    with ctx.db.read() as conn:
        ids = {r["address"]: r["id"] for r in message_store.sending_log(conn, delivery_id)}
    received = {item.recipients[0]: _html(item.data or b"") for item in mta.received()}
    assert set(received) == set(ids)
    client = TestClient(create_app(ctx))
    for n, (address, out) in enumerate(sorted(received.items())):
        assert re.search(rf'<p style="color: #c00;">Hi P{n}</p>', out)
        cells = re.findall(r'<td class="item" style="padding: 4px;">([^<]+)</td>', out)
        assert cells == [f"1. {address}", f"2. {address}"]
        click = re.search(r'<a href="[^"]+/t/c/([^"]+)" style="color: #06c;">go</a>', out)
        assert click is not None
        token = ctx.token_signer.verify(click[1])
        assert token is not None and token.message_id == ids[address]
        assert token.url == f"https://example.com/?to={address.replace('@', '%40')}"

        mirror = TrackingToken(TokenKind.MIRROR, ids[address], ctx.clock.now())
        page = client.get(f"/t/m/{ctx.token_signer.sign(mirror)}")
        assert page.status_code == 200
        assert re.search(rf'<p style="color: #c00;">Hi P{n}</p>', page.text)


def test_rules_written_with_jinja_are_inlined_with_each_recipients_values() -> None:
    body = "<style>p { color: {{ '#0a0' if attributes.vip else '#555' }} }</style><p>x</p>"
    composer = _composer(body, tracked=False)

    ann, bob = (_html(composer.compose(r, NOW).data) for r in (ANN, BOB))

    assert (_styles(ann, "p"), _styles(bob, "p")) == (["color: #0a0;"], ["color: #555;"])
