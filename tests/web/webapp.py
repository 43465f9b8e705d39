"""Helpers of the HTTP tests: an app configured as an operator would, providers' signed posts.

Test modules build their fixtures from these (a tests/web/conftest.py would be a second
module named `conftest` for mypy).
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx2
from fastapi.testclient import TestClient

from mailcast.context import Context
from mailcast.domain import FeedbackMode
from mailcast.feedback.webhooks import generic
from mailcast.send.engine import send_until_idle
from mailcast.store import messages as message_store
from webhook_signing import SendgridSigner, SnsSigner

if TYPE_CHECKING:
    from conftest import Scenario

GENERIC_SECRET = "generic-test-secret"
POSTMARK_USER, POSTMARK_PASSWORD = "postmark", "pm-test-password"


class Webhooks:
    """Posts to the app the way each provider does, signed unless told otherwise."""

    def __init__(self, client: TestClient, sns: SnsSigner, sendgrid: SendgridSigner) -> None:
        self.client, self.sns, self.sendgrid_key = client, sns, sendgrid

    def generic(self, payload: Any, secret: str = GENERIC_SECRET) -> httpx2.Response:
        return self.generic_raw(json.dumps(payload).encode(), secret)

    def generic_raw(self, body: bytes, secret: str = GENERIC_SECRET) -> httpx2.Response:
        headers = {generic.SIGNATURE_HEADER: generic.sign(body, secret)}
        return self.client.post("/webhooks/generic", content=body, headers=headers)

    def ses(self, notification: dict[str, Any], signer: SnsSigner | None = None) -> httpx2.Response:
        envelope = (signer or self.sns).envelope(notification)
        return self.sns_post(envelope)

    def sns_post(self, envelope: dict[str, Any]) -> httpx2.Response:
        headers = {"x-amz-sns-message-type": str(envelope.get("Type", ""))}
        return self.client.post("/webhooks/ses", content=json.dumps(envelope), headers=headers)

    def sendgrid(self, events: list[dict[str, Any]]) -> httpx2.Response:
        body = json.dumps(events).encode()
        return self.client.post(
            "/webhooks/sendgrid", content=body, headers=self.sendgrid_key.headers(body)
        )

    def postmark(
        self, record: dict[str, Any], password: str = POSTMARK_PASSWORD
    ) -> httpx2.Response:
        token = base64.b64encode(f"{POSTMARK_USER}:{password}".encode()).decode()
        return self.client.post(
            "/webhooks/postmark", json=record, headers={"Authorization": f"Basic {token}"}
        )


def configure(
    ctx: Context, tmp_path: Path, sns_key: SnsSigner, sendgrid_key: SendgridSigner
) -> Context:
    """The context with every provider's credentials set, as an operator would."""
    pem = tmp_path / "sns-signing.pem"
    pem.write_bytes(sns_key.pem())
    hooks = ctx.settings.web.webhooks
    hooks.generic_secret = GENERIC_SECRET
    hooks.ses_certificates = pem
    hooks.sendgrid_public_key = sendgrid_key.public_key_base64()
    hooks.postmark_username, hooks.postmark_password = POSTMARK_USER, POSTMARK_PASSWORD
    return ctx


class Sent:
    """A delivery handed to the sandbox MTA, and what names each of its messages."""

    def __init__(self, ctx: Context, delivery_id: int) -> None:
        self.ctx, self.delivery_id = ctx, delivery_id

    def log(self) -> dict[str, dict[str, Any]]:
        with self.ctx.db.read() as conn:
            rows = message_store.sending_log(conn, self.delivery_id, limit=10_000)
        return {row["address"]: dict(row) for row in rows}

    def status(self, address: str) -> str:
        return str(self.log()[address]["status"])

    def verp(self, address: str) -> str:
        return self.ctx.signer.return_path(self.log()[address]["id"])

    def message_id(self, address: str) -> str:
        return str(self.log()[address]["message_id_header"])

    def envid(self, address: str) -> str:
        return self.verp(address).partition("@")[0]


def send(
    ctx: Context, scenario: Scenario, addresses: list[str], mode: FeedbackMode = FeedbackMode.EFS
) -> Sent:
    """A delivery to these addresses, handed to the MTA the context's relay points at."""
    scenario.audience(addresses)
    delivery_id = scenario.sending(feedback_mode=mode)
    send_until_idle(ctx)
    return Sent(ctx, delivery_id)
