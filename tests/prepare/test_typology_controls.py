"""Typology control rules: an unsubscribe link in each body, at most 100 proof addresses, and
a preparation log that lists every blocking finding."""

from __future__ import annotations

import pytest

from conftest import Scenario
from mailcast.context import Context
from mailcast.deliveries.proofs import set_proof_addresses
from mailcast.deliveries.service import DeliveryError, confirm_send
from mailcast.domain import DeliveryState
from mailcast.prepare.preparation import prepare_delivery
from mailcast.prepare.rules import check_unsubscribe_link
from mailcast.stats.deployment import deployment
from mailcast.store import deliveries as delivery_store
from mailcast.users.service import User

LINKED_HTML = '<p>Hi {{ first_name }} <a href="{{ unsubscribe_url }}">Unsubscribe</a></p>'
LINKED_TEXT = "Hi {{ first_name }}\nUnsubscribe: {{ unsubscribe_url }}"


@pytest.mark.parametrize(
    "html",
    [
        '<a href="{{ unsubscribe_url }}">leave</a>',
        '<a href="{{unsubscribe_url}}">leave</a>',
        "<p>To leave: {{ unsubscribe_url }}</p>",
        '<a href="https://example.com/Unsubscribe?id={{ email }}">leave</a>',
        "<a class=small href='https://example.com/u'>\n  Unsubscribe\n</a>",
        '<a href="mailto:unsubscribe@example.com">write to us</a>',
    ],
)
def test_an_html_body_with_an_unsubscribe_link_passes(html: str) -> None:
    assert check_unsubscribe_link(html, "", required=True) == []


@pytest.mark.parametrize(
    "text",
    [
        "Unsubscribe: {{ unsubscribe_url }}",
        "Leave at {{unsubscribe_url}}",
        "Leave: https://example.com/unsubscribe",
        "Hi!\n\nUNSUBSCRIBE: https://example.com/u\n",
        "To unsubscribe write to mailto:news@example.com",
    ],
)
def test_a_text_body_with_an_unsubscribe_link_passes(text: str) -> None:
    assert check_unsubscribe_link("", text, required=True) == []


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("<p>Hi, unsubscribe any time.</p>", "Hi, reply 'unsubscribe' to leave."),
        ('<a name="unsubscribe">anchor</a>', "unsubscribe:\nhttps://example.com/u"),
        ('<a href="https://example.com/x">x</a> unsubscribe', "https://example.com/x unsub"),
        ("<p>{{ unsubscribe_urls }}</p>", "{{ unsubscribe_url_old }}"),
    ],
)
def test_the_word_alone_or_a_link_elsewhere_is_not_an_unsubscribe_link(
    html: str, text: str
) -> None:
    findings = check_unsubscribe_link(html, text, required=True)

    assert [(f.level, f.rule) for f in findings] == [("error", "unsubscribe")] * 2


@pytest.mark.parametrize(
    ("html", "text", "part"),
    [
        ("<p>Hi {{ first_name }}</p>", LINKED_TEXT, "HTML"),
        (LINKED_HTML, "Hi {{ first_name }}, see https://example.com/news", "text"),
    ],
)
def test_a_body_without_an_unsubscribe_link_blocks_the_delivery(
    ctx: Context, scenario: Scenario, sam: User, html: str, text: str, part: str
) -> None:
    scenario.audience(["a@example.com"])

    result = prepare_delivery(ctx, scenario.author, scenario.delivery(html=html, text=text))

    assert result.blocked
    assert [(f.level, f.message) for f in result.findings] == [
        ("error", f"the {part} body has no unsubscribe link (use {{{{ unsubscribe_url }}}})")
    ]
    assert deployment(ctx, result.delivery_id).state is DeliveryState.DRAFT
    with pytest.raises(DeliveryError, match="prepared"):
        confirm_send(ctx, sam, result.delivery_id)


def test_a_message_with_only_one_body_needs_the_link_in_that_one(
    ctx: Context, scenario: Scenario
) -> None:
    scenario.audience(["a@example.com"])

    html_only = prepare_delivery(ctx, scenario.author, scenario.delivery(html=LINKED_HTML, text=""))
    text_only = prepare_delivery(ctx, scenario.author, scenario.delivery(html="", text=LINKED_TEXT))

    assert (html_only.findings, html_only.state) == ([], DeliveryState.READY)
    assert (text_only.findings, text_only.state) == ([], DeliveryState.READY)


def test_more_proof_addresses_than_allowed_block_the_delivery(
    ctx: Context, scenario: Scenario, marie: User
) -> None:
    scenario.audience(["a@example.com"])
    delivery_id = scenario.delivery(html=LINKED_HTML, text=LINKED_TEXT)
    set_proof_addresses(ctx, marie, delivery_id, [f"p{n}@example.com" for n in range(3)])
    ctx.settings.max_proof_addresses = 3
    assert prepare_delivery(ctx, marie, delivery_id).state is DeliveryState.READY

    # The limit was lowered after the proof target was set: preparation refuses it.
    ctx.settings.max_proof_addresses = 2
    with ctx.db.write() as conn:
        delivery_store.move_delivery(conn, delivery_id, DeliveryState.DRAFT, ctx.clock.now())
    result = prepare_delivery(ctx, marie, delivery_id)

    assert result.blocked
    assert [(f.rule, f.message) for f in result.findings] == [
        ("proofs", "the proof target has 3 addresses; at most 2 are allowed")
    ]
    assert result.state is DeliveryState.DRAFT


def test_the_preparation_log_lists_every_blocking_finding_and_stays_with_the_draft(
    ctx: Context, scenario: Scenario, marie: User
) -> None:
    scenario.audience(["a@example.com"])
    delivery_id = scenario.delivery(
        subject=" ", from_addr="News <news@>", html="<p>Hi</p>", text="Hi"
    )
    set_proof_addresses(ctx, marie, delivery_id, ["p1@example.com", "p2@example.com"])
    ctx.settings.max_proof_addresses = 1

    result = prepare_delivery(ctx, marie, delivery_id)

    expected = [
        ("error", "subject", "the subject is empty"),
        ("error", "from", "the From address"),
        ("error", "unsubscribe", "the HTML body has no unsubscribe link"),
        ("error", "unsubscribe", "the text body has no unsubscribe link"),
        ("error", "proofs", "the proof target has 2 addresses; at most 1 are allowed"),
    ]
    with ctx.db.read() as conn:
        stored = delivery_store.get_delivery(conn, delivery_id)
    assert stored["state"] == DeliveryState.DRAFT
    log = stored["preparation_log"]
    assert log == [f.to_json() for f in result.findings]
    assert len(log) == len(expected)
    for line, (level, rule, words) in zip(log, expected, strict=True):
        assert (line["level"], line["rule"]) == (level, rule)
        assert line["message"].startswith(words), line
