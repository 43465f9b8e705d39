"""End to end: a delivery relayed to a real SMTP server, then providers' webhooks reporting its
outcomes, and the Deployment KPIs moving exactly as SPEC §4's tables say, in both modes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from webapp import Sent, Webhooks, configure, send

from conftest import Scenario
from mailcast.context import Context
from mailcast.domain import FeedbackMode, MessageStatus
from mailcast.sandbox.mta import SandboxMTA
from mailcast.stats.deployment import deployment
from mailcast.web.app import create_app
from webhook_signing import (
    SendgridSigner,
    SnsSigner,
    corpus,
    sendgrid_signer,
    ses_delivery,
    sns_signer,
)

OK1, OK2, HARD, SOFT = "ok1@example.com", "ok2@example.com", "hard@example.com", "soft@x.org"


@pytest.fixture(scope="module")
def sns_key() -> SnsSigner:
    return sns_signer()


@pytest.fixture(scope="module")
def sendgrid_key() -> SendgridSigner:
    return sendgrid_signer()


@pytest.fixture
def hooks(
    ctx: Context, tmp_path: Path, sns_key: SnsSigner, sendgrid_key: SendgridSigner
) -> Iterator[Webhooks]:
    with TestClient(create_app(configure(ctx, tmp_path, sns_key, sendgrid_key))) as client:
        yield Webhooks(client, sns_key, sendgrid_key)


def _kpis(sent: Sent) -> tuple[int, float, float]:
    k = deployment(sent.ctx, sent.delivery_id).kpis
    return k.processed, k.delivered_pct, k.bounces_pct


def _ses_delivery(sent: Sent, address: str) -> dict[str, Any]:
    notification = ses_delivery()
    notification["mail"]["headers"] = [{"name": "Message-ID", "value": sent.message_id(address)}]
    notification["delivery"]["recipients"] = [address]
    return notification


def _sendgrid_bounce(sent: Sent, address: str) -> list[dict[str, Any]]:
    [event] = corpus("json-sendgrid-12.json")  # a mailbox-full "blocked" bounce: soft
    return [{**event, "email": address, "smtp-id": sent.message_id(address)}]


def _generic(sent: Sent, address: str, event: str, **extra: str) -> dict[str, Any]:
    return {"events": [{"verp": sent.verp(address), "recipient": address, "event": event, **extra}]}


def _postmark_hard(sent: Sent, address: str) -> dict[str, Any]:
    return {
        "RecordType": "Bounce",
        "ID": 42,
        "Type": "HardBounce",
        "Details": "smtp;550 5.1.1 user unknown",
        "Email": address,
        "Metadata": {"mailcast_envid": sent.envid(address)},
    }


def test_efs_kpis_follow_the_efs_table(
    ctx: Context, scenario: Scenario, mta: SandboxMTA, hooks: Webhooks
) -> None:
    sent = send(ctx, scenario, [OK1, OK2, HARD, SOFT], FeedbackMode.EFS)
    # relayed to the MTA: pending; Delivered % and Bounces + errors % start at 0.
    assert _kpis(sent) == (4, 0.0, 0.0)

    # delivery reported: pending → sent, Delivered % increases.
    assert hooks.ses(_ses_delivery(sent, OK1)).json()["applied"] == 1
    assert hooks.generic(_generic(sent, OK2, "delivered")).json()["applied"] == 1
    assert _kpis(sent) == (4, 50.0, 0.0)

    # hard bounce reported: pending → failed, Bounces + errors % increases.
    assert hooks.postmark(_postmark_hard(sent, HARD)).json()["applied"] == 1
    assert _kpis(sent) == (4, 50.0, 25.0)

    # soft bounce reported: pending → failed, Bounces + errors % increases.
    assert hooks.sendgrid(_sendgrid_bounce(sent, SOFT)).json()["applied"] == 1
    assert sent.status(SOFT) == MessageStatus.FAILED
    assert _kpis(sent) == (4, 50.0, 50.0)

    # a retry succeeds: failed → sent, Delivered % up, Bounces + errors % down.
    assert hooks.generic(_generic(sent, SOFT, "delivered", id="retry-1")).json()["applied"] == 1
    assert sent.status(SOFT) == MessageStatus.SENT
    assert _kpis(sent) == (4, 75.0, 25.0)


def test_legacy_kpis_follow_the_legacy_table(
    ctx: Context, scenario: Scenario, mta: SandboxMTA, hooks: Webhooks
) -> None:
    sent = send(ctx, scenario, [OK1, HARD, SOFT], FeedbackMode.LEGACY)
    # relayed to the MTA: sent; Delivered % starts at 100%.
    assert _kpis(sent) == (3, 100.0, 0.0)

    # a delivery report changes nothing in legacy mode.
    assert hooks.ses(_ses_delivery(sent, OK1)).json()["applied"] == 1
    assert _kpis(sent) == (3, 100.0, 0.0)

    # soft bounce reported: the log stays sent, nothing moves.
    assert hooks.sendgrid(_sendgrid_bounce(sent, SOFT)).json()["applied"] == 1
    assert sent.status(SOFT) == MessageStatus.SENT
    assert _kpis(sent) == (3, 100.0, 0.0)

    # hard bounce reported: sent → failed, Delivered % down, Bounces + errors % up.
    assert hooks.postmark(_postmark_hard(sent, HARD)).json()["applied"] == 1
    assert sent.status(HARD) == MessageStatus.FAILED
    assert _kpis(sent) == (3, 66.67, 33.33)
