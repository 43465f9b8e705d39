"""Author HTML never runs with a reader's rights: the mirror page in a real browser (chromium),
opened by a dashboard user, against the real app under uvicorn."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterator

import pytest
from dashboard_helpers import chromium, delivery_state, fresh_page, log_in, serving, with_password
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from conftest import Scenario
from mailcast.context import Context
from mailcast.store import messages as message_store
from mailcast.store.tables import profiles
from mailcast.tracking.tokens import TokenKind, TrackingToken
from mailcast.users.sessions import SESSION_COOKIE

# What a prepare_deliveries user wrote into a delivery's body: once a start_deliveries user
# opens the mirror page, it finds a delivery, reads the dashboard's CSRF field and confirms.
ATTACK = """<p>Hi {{ first_name }} <a href="{{ unsubscribe_url }}">Unsubscribe</a></p>
<script>
document.body.dataset.ran = "yes";
(async () => {
  const list = await (await fetch("/dashboard/")).text();
  const link = "/dashboard/deliveries/" + list.match(/deliveries\\/(\\d+)/)[1];
  const page = await (await fetch(link)).text();
  const csrf = page.match(/name="csrf" value="([^"]+)"/)[1];
  const sent = {method: "POST", body: new URLSearchParams({csrf})};
  await (await fetch(link + "/confirm", sent)).text();
})();
</script>"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    with fresh_page(browser) as opened:
        yield opened


@pytest.fixture
def app_url(ctx: Context) -> Iterator[str]:
    with serving(ctx) as url:
        ctx.settings.tracking.base_url = url  # the mirror page on the dashboard's origin
        yield url


def _url(
    ctx: Context, base: str, delivery_id: int, kind: TokenKind, age: dt.timedelta = dt.timedelta()
) -> str:
    """The signed URL of `kind` for the delivery's first message, issued `age` ago."""
    with ctx.db.read() as conn:
        message_id = int(message_store.sending_log(conn, delivery_id, limit=1)[0]["id"])
    issued = ctx.clock.now() - age
    token = ctx.token_signer.sign(TrackingToken(kind, message_id, issued, 0, ""))
    return f"{base}/t/{kind.value}/{token}"


def test_a_script_in_the_mirror_page_cannot_confirm_the_send(
    ctx: Context, scenario: Scenario, app_url: str, page: Page
) -> None:
    scenario.audience(["ann@example.com", "bob@example.com"])
    delivery_id = scenario.prepared(html=ATTACK)  # by marie: prepare_deliveries only
    log_in(page, app_url, with_password(ctx, "sam"))  # start_deliveries
    expect(page.get_by_role("heading", name="Deliveries")).to_be_visible()

    mirror = page.goto(_url(ctx, app_url, delivery_id, TokenKind.MIRROR))
    assert mirror is not None and mirror.status == 200
    expect(page.locator("p")).to_contain_text("Hi P0")
    page.wait_for_load_state("networkidle")  # what the script would have fetched is done

    assert page.locator("body").get_attribute("data-ran") is None, "the author's script ran"
    assert delivery_state(ctx, delivery_id) == "ready"
    # The session cookie is scoped away from the tracking routes: not even sent there.
    assert "cookie" not in mirror.request.all_headers()
    assert _session_paths(page, f"{app_url}/dashboard/") == ["/dashboard"]
    assert _session_paths(page, mirror.url) == []


def test_the_session_still_reaches_the_dashboard_and_the_api(
    ctx: Context, scenario: Scenario, app_url: str, page: Page
) -> None:
    log_in(page, app_url, with_password(ctx, "sam"))
    expect(page.get_by_role("heading", name="Deliveries")).to_be_visible()
    me = page.goto(f"{app_url}/api/me")
    assert me is not None and me.status == 200
    assert me.json()["name"] == "sam"


def test_the_unsubscribe_page_still_unsubscribes_under_its_policy(
    ctx: Context, scenario: Scenario, app_url: str, page: Page
) -> None:
    scenario.audience(["ann@example.com"])
    delivery_id = scenario.prepared()
    shown = page.goto(_url(ctx, app_url, delivery_id, TokenKind.UNSUBSCRIBE))
    assert shown is not None
    assert "sandbox" in shown.headers["content-security-policy"]
    page.get_by_role("button", name="Unsubscribe").click()
    expect(page.get_by_role("heading", name="Unsubscribed")).to_be_visible()
    with ctx.db.read() as conn:
        row = message_store.sending_log(conn, delivery_id, limit=1)[0]
    assert _subscribed(ctx, row["address"]) is False


def test_every_page_of_author_content_or_tracking_runs_no_script(
    ctx: Context, scenario: Scenario, app_url: str, page: Page
) -> None:
    scenario.audience(["ann@example.com"])
    delivery_id = scenario.prepared(html=ATTACK)
    log_in(page, app_url, with_password(ctx, "sam"))
    expect(page.get_by_role("heading", name="Deliveries")).to_be_visible()
    url = functools.partial(_url, ctx, app_url, delivery_id)
    expired = dt.timedelta(days=ctx.settings.tracking.resource_validity_days + 1)
    answers = {
        "mirror": page.request.get(url(TokenKind.MIRROR)),
        "expired mirror": page.request.get(url(TokenKind.MIRROR, expired)),
        "forged mirror": page.request.get(url(TokenKind.MIRROR)[:-3] + "xyz"),
        "unsubscribe page": page.request.get(url(TokenKind.UNSUBSCRIBE)),
        "unsubscribed page": page.request.post(url(TokenKind.UNSUBSCRIBE), form={"confirm": "yes"}),
        "dashboard preview": page.request.get(
            f"{app_url}/dashboard/deliveries/{delivery_id}/preview"
        ),
        "API preview": page.request.get(f"{app_url}/api/deliveries/{delivery_id}/preview"),
    }
    statuses = {name: answer.status for name, answer in answers.items()}
    assert statuses == {
        "mirror": 200,
        "expired mirror": 410,
        "forged mirror": 404,
        "unsubscribe page": 200,
        "unsubscribed page": 200,
        "dashboard preview": 200,
        "API preview": 200,
    }
    for name, answer in answers.items():
        policy = answer.headers["content-security-policy"].split("; ")
        assert policy[0].split()[0] == "sandbox" and "allow-scripts" not in policy[0], name
        assert "script-src 'none'" in policy, name
        assert answer.headers["x-content-type-options"] == "nosniff", name


def _session_paths(page: Page, url: str) -> list[str]:
    """The paths of the session cookies the browser would send to `url`."""
    return [c["path"] for c in page.context.cookies(url) if c["name"] == SESSION_COOKIE]


def _subscribed(ctx: Context, address: str) -> bool:
    with ctx.db.read() as conn:
        query = select(profiles.c.email_subscribed).where(profiles.c.email == address)
        return bool(conn.execute(query).scalar_one())
