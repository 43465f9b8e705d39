"""Preparation's control rules, its one render per recipient, and re-preparation after edits."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from conftest import Scenario
from mailcast.audience.csv_import import add_profile
from mailcast.compose.composer import Composer, Recipient
from mailcast.compose.templates import Deadline, RenderedContent
from mailcast.context import Context
from mailcast.deliveries.service import DeliveryError, confirm_send, edit_delivery
from mailcast.domain import DeliveryState, ExclusionReason
from mailcast.prepare.preparation import PreparationResult, prepare_delivery
from mailcast.stats.deployment import deployment
from mailcast.store import deliveries as delivery_store
from mailcast.store import messages as message_store
from mailcast.store import profiles as profile_store
from mailcast.users.service import User

UNSUBSCRIBE = '<a href="https://example.com/unsubscribe">unsubscribe</a>'


def _prepare(scenario: Scenario, **fields: Any) -> PreparationResult:
    return prepare_delivery(scenario.ctx, scenario.author, scenario.delivery(**fields))


def _findings(result: PreparationResult) -> set[tuple[str, str]]:
    return {(f.level, f.rule) for f in result.findings}


def _messages(ctx: Context, delivery_id: int) -> list[str]:
    with ctx.db.read() as conn:
        return [r["address"] for r in message_store.sending_log(conn, delivery_id, limit=1000)]


def _exclusions(ctx: Context, delivery_id: int) -> dict[str | None, tuple[str, str | None]]:
    with ctx.db.read() as conn:
        rows = delivery_store.exclusion_log(conn, delivery_id)
    return {r["address"]: (r["reason"], r["detail"]) for r in rows}


def _assert_blocked(ctx: Context, result: PreparationResult, rule: str, words: str) -> None:
    """A blocking error: the delivery stays in draft, nothing is queued, it cannot be sent."""
    assert result.blocked
    errors = [f for f in result.findings if f.level == "error"]
    assert any(f.rule == rule and words in f.message for f in errors), result.findings
    assert result.state is DeliveryState.DRAFT
    shown = deployment(ctx, result.delivery_id)
    assert shown.state is DeliveryState.DRAFT
    assert (shown.counts.to_deliver, shown.excluded) == (0, 0)
    assert _messages(ctx, result.delivery_id) == []


@pytest.mark.parametrize("subject", ["", "   "])
def test_an_empty_subject_blocks_the_delivery(
    ctx: Context, scenario: Scenario, sam: User, subject: str
) -> None:
    scenario.audience(["a@example.com"])

    result = _prepare(scenario, subject=subject)

    _assert_blocked(ctx, result, "subject", "the subject is empty")
    with pytest.raises(DeliveryError, match="prepared"):
        confirm_send(ctx, sam, result.delivery_id)


def test_empty_content_blocks_the_delivery(ctx: Context, scenario: Scenario) -> None:
    scenario.audience(["a@example.com"])

    result = _prepare(scenario, html="  \n", text="")

    _assert_blocked(ctx, result, "content", "neither an HTML nor a text body")


def test_an_invalid_from_address_blocks_the_delivery(ctx: Context, scenario: Scenario) -> None:
    scenario.audience(["a@example.com"])

    result = _prepare(scenario, from_addr="News <news@>")

    _assert_blocked(ctx, result, "from", "the From address")


@pytest.mark.parametrize(
    "link",
    [
        '<a href="http://exa mple.com/x">x</a>',
        '<a href="https:///no-host">x</a>',
        '<a href="htps//example.com">x</a>',
        '<img src="http://[::1/broken.png">',
    ],
)
def test_a_malformed_url_blocks_the_delivery_and_is_named(
    ctx: Context, scenario: Scenario, link: str
) -> None:
    scenario.audience(["a@example.com"])
    url = link.split('"')[1]

    result = _prepare(scenario, html=f"<p>{link} {UNSUBSCRIBE}</p>")

    _assert_blocked(ctx, result, "urls", f"malformed URL: {url!r}")


def test_a_url_broken_by_one_recipients_data_blocks_the_delivery(
    ctx: Context, scenario: Scenario
) -> None:
    for n, site in enumerate(["good.example.com", "bad host.example.com", "also.example.com"]):
        add_profile(ctx.db, ctx.clock, f"u{n}@example.com", attributes={"site": site}, lists=("n",))

    html = f'<a href="https://{{{{ attributes.site }}}}/">site</a> {UNSUBSCRIBE}'
    result = _prepare(scenario, list_name="n", html=html)

    _assert_blocked(ctx, result, "urls", "https://bad host.example.com/")


def test_well_formed_links_raise_no_finding(ctx: Context, scenario: Scenario) -> None:
    scenario.audience(["a@example.com"])
    html = (
        '<a href="https://example.com/a?b=c#d">a</a> <a href="#top">top</a> '
        '<a href="mailto:help@example.com">help</a> <a href="tel:+33123">call</a> ' + UNSUBSCRIBE
    )
    text = "Read https://example.com/a, unsubscribe: https://example.com/u"

    result = _prepare(scenario, html=html, text=text)

    assert result.findings == []
    assert result.state is DeliveryState.READY


def test_with_the_rule_relaxed_a_missing_unsubscribe_link_is_a_warning_per_part(
    ctx: Context, scenario: Scenario, sam: User
) -> None:
    ctx.settings.typology.unsubscribe_link_required = False
    scenario.audience(["a@example.com"])

    result = _prepare(scenario, html="<p>Hi {{ first_name }}</p>", text="Hi {{ first_name }}")

    assert _findings(result) == {("warning", "unsubscribe")}
    assert sorted(f.message for f in result.findings) == [
        "the HTML body has no unsubscribe link (use {{ unsubscribe_url }})",
        "the text body has no unsubscribe link (use {{ unsubscribe_url }})",
    ]
    assert not result.blocked
    assert result.state is DeliveryState.READY
    assert confirm_send(ctx, sam, result.delivery_id) is DeliveryState.SENDING


def test_a_recipient_whose_data_breaks_the_template_is_left_out_with_the_reason(
    ctx: Context, scenario: Scenario
) -> None:
    add_profile(ctx.db, ctx.clock, "lyon@example.com", attributes={"city": "Lyon"}, lists=("n",))
    add_profile(ctx.db, ctx.clock, "none@example.com", lists=("n",))

    result = _prepare(scenario, list_name="n", subject="News from {{ attributes.city }}")

    assert _messages(ctx, result.delivery_id) == ["lyon@example.com"]
    reason, detail = _exclusions(ctx, result.delivery_id)["none@example.com"]
    assert reason == ExclusionReason.RENDER_ERROR
    assert detail is not None and "subject" in detail and "'city'" in detail
    assert _findings(result) == {("warning", "template")}
    assert result.state is DeliveryState.READY


def test_a_template_that_fails_for_every_recipient_blocks(ctx: Context, scenario: Scenario) -> None:
    scenario.audience(["a@example.com", "b@example.com"])

    result = _prepare(scenario, subject="Hi {{ nickname }}")

    _assert_blocked(ctx, result, "template", "'nickname' is undefined")


@pytest.mark.parametrize("subject", ["Hello {{ first_name }}", "Hello"])
def test_a_name_with_a_line_break_is_left_out_at_preparation_not_at_send(
    ctx: Context, scenario: Scenario, subject: str
) -> None:
    add_profile(ctx.db, ctx.clock, "ann@example.com", first_name="Ann", lists=("n",))
    add_profile(ctx.db, ctx.clock, "eve@example.com", first_name="Eve\r\nBcc: x@evil", lists=("n",))

    result = _prepare(scenario, list_name="n", subject=subject)

    assert _messages(ctx, result.delivery_id) == ["ann@example.com"]
    reason, detail = _exclusions(ctx, result.delivery_id)["eve@example.com"]
    assert reason == ExclusionReason.RENDER_ERROR
    assert detail is not None and "may not contain a line break" in detail


def test_every_recipient_is_rendered_exactly_once_and_the_excluded_never(
    ctx: Context, scenario: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    addresses = [f"u{n}@example.com" for n in range(7)] + ["U0@example.com", None]
    scenario.audience(addresses)
    with ctx.db.write() as conn:
        gone = profile_store.get_profile_by_email(conn, "u6@example.com")
        assert gone is not None
        profile_store.set_email_subscribed(conn, gone["id"], False, ctx.clock.now())
    rendered: Counter[str] = Counter()
    real_render = Composer.render

    def counting_render(
        self: Composer, recipient: Recipient, until: Deadline | None = None
    ) -> RenderedContent:
        rendered[recipient.address] += 1
        return real_render(self, recipient, until)

    monkeypatch.setattr(Composer, "render", counting_render)

    result = _prepare(scenario)

    assert rendered == Counter({f"u{n}@example.com": 1 for n in range(6)})
    assert result.to_deliver == 6


def test_a_delivery_edited_after_preparation_must_be_prepared_again_before_confirm(
    ctx: Context, scenario: Scenario, marie: User, sam: User
) -> None:
    scenario.audience(["a@example.com", "b@example.com", None])
    delivery_id = scenario.prepared()
    assert deployment(ctx, delivery_id).state is DeliveryState.READY

    edit_delivery(ctx, marie, delivery_id, subject="Changed, {{ first_name }}")

    edited = deployment(ctx, delivery_id)
    assert edited.state is DeliveryState.DRAFT
    assert _messages(ctx, delivery_id) == []
    assert (edited.counts.to_deliver, edited.counts.queued, edited.excluded) == (0, 0, 0)
    with pytest.raises(DeliveryError, match="prepared again"):
        confirm_send(ctx, sam, delivery_id)
    assert deployment(ctx, delivery_id).state is DeliveryState.DRAFT

    result = prepare_delivery(ctx, marie, delivery_id)

    assert result.state is DeliveryState.READY
    assert sorted(_messages(ctx, delivery_id)) == ["a@example.com", "b@example.com"]
    assert confirm_send(ctx, sam, delivery_id) is DeliveryState.SENDING


def test_a_re_preparation_that_is_blocked_leaves_no_figures_of_the_earlier_one(
    ctx: Context, scenario: Scenario, marie: User
) -> None:
    scenario.audience(["a@example.com", "b@example.com", None])
    delivery_id = scenario.prepared()
    assert deployment(ctx, delivery_id).counts.to_deliver == 2

    edit_delivery(ctx, marie, delivery_id, subject=" ")
    result = prepare_delivery(ctx, marie, delivery_id)

    _assert_blocked(ctx, result, "subject", "empty")
    assert _exclusions(ctx, delivery_id) == {}
