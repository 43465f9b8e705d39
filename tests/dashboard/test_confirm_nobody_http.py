"""A delivery with nobody to send to: the API and the dashboard refuse to confirm it, in the
service layer's words (tests/stats/test_progress.py has the service's own test)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from dashboard_helpers import log_in_client, with_password
from fastapi.testclient import TestClient

from conftest import Scenario
from mailcast.context import Context
from mailcast.domain import DeliveryState
from mailcast.stats.deployment import deployment
from mailcast.users.service import create_token
from mailcast.web.app import create_app

NOBODY = "the delivery has no recipient: 0 messages to deliver"


@pytest.fixture
def client(ctx: Context) -> Iterator[TestClient]:
    with TestClient(create_app(ctx), base_url="http://127.0.0.1") as test_client:
        yield test_client


def test_the_api_and_the_dashboard_refuse_it_with_the_same_words(
    ctx: Context, scenario: Scenario, client: TestClient
) -> None:
    scenario.audience([None])  # one profile, no address: left out at preparation
    delivery_id = scenario.prepared()
    token = create_token(ctx.db, scenario.starter, "test", ctx.clock)
    answer = client.post(
        f"/api/deliveries/{delivery_id}/confirm", headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status_code == 409 and NOBODY in answer.text

    csrf = log_in_client(client, with_password(ctx, scenario.starter.name))
    page = client.post(f"/dashboard/deliveries/{delivery_id}/confirm", data={"csrf": csrf})
    assert page.status_code == 409 and "The delivery has no recipient: 0 messages" in page.text
    assert deployment(ctx, delivery_id).state is DeliveryState.READY


def test_the_delivery_page_says_there_is_nobody_to_send_to(
    ctx: Context, scenario: Scenario, client: TestClient
) -> None:
    scenario.audience([None])
    delivery_id = scenario.prepared()
    log_in_client(client, with_password(ctx, scenario.starter.name))
    shown = client.get(f"/dashboard/deliveries/{delivery_id}").text
    assert 'id="nothing-to-send"' in shown and "has nobody to send to" in shown
    assert '<progress id="progress" max="100" value="0.0"' in shown
