"""The webhook endpoints: check the sender, read the payload, apply what it says.

A request is authenticated on its exact bytes before anything is read from it; a refused or
malformed request applies nothing. Applying the same report twice changes nothing (each
observation carries the provider's own event key), so providers' retries are harmless.
Requests that arrive together are applied in one transaction (group_commit.py), each
answered with its own share once it is committed: SES posts one event per request.
"""

from __future__ import annotations

import asyncio
import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from mailcast.config import WebhookSettings
from mailcast.context import Context
from mailcast.feedback.apply import ApplyResult, apply_observations
from mailcast.feedback.observation import Observation
from mailcast.feedback.webhooks import generic, postmark, sendgrid, ses, sns
from mailcast.feedback.webhooks.common import load_json
from mailcast.group_commit import GroupCommit
from mailcast.web.requests import context_of

log = logging.getLogger("mailcast.web.webhooks")

router = APIRouter(prefix="/webhooks", tags=["webhooks"])
RETRY_AFTER_SECONDS = 60


@router.post("/generic", summary="mailcast's JSON events, signed with HMAC-SHA256")
async def generic_events(request: Request) -> JSONResponse:
    ctx, body = await _received(request)
    hooks = _hooks(ctx)
    generic.verify(body, request.headers.get(generic.SIGNATURE_HEADER), hooks.generic_secret)
    return await _apply(request, generic.observations(load_json(body), ctx.clock.now()))


@router.post("/ses", summary="Amazon SES notifications delivered by SNS (signature checked)")
async def ses_notifications(request: Request) -> JSONResponse:
    ctx, body = await _received(request)
    hooks = _hooks(ctx)
    certificates = sns.trusted_certificates(hooks.ses_certificates)
    envelope = sns.verify(load_json(body), certificates, ctx.clock.now(), hooks.ses_topic_arns)
    if envelope.type != sns.NOTIFICATION:
        # Confirming would mean fetching a URL; an operator does it by hand, once.
        log.warning(
            "SNS %s for topic %s: confirm it from the SubscribeURL in this message: %s",
            envelope.type,
            envelope.topic_arn,
            envelope.message,
        )
        return JSONResponse({"status": "logged", "type": envelope.type})
    payload = ses.notification(envelope.message)
    return await _apply(request, ses.observations(payload, ctx.clock.now()))


@router.post("/sendgrid", summary="SendGrid's signed Event Webhook (ECDSA P-256)")
async def sendgrid_events(request: Request) -> JSONResponse:
    ctx, body = await _received(request)
    sendgrid.verify(
        body,
        request.headers.get(sendgrid.SIGNATURE_HEADER),
        request.headers.get(sendgrid.TIMESTAMP_HEADER),
        _hooks(ctx).sendgrid_public_key,
    )
    return await _apply(request, sendgrid.observations(load_json(body), ctx.clock.now()))


@router.post("/postmark", summary="Postmark's Bounce, Delivery and SpamComplaint webhooks")
async def postmark_records(request: Request) -> JSONResponse:
    ctx, body = await _received(request)
    hooks = _hooks(ctx)
    postmark.verify(
        request.headers.get("authorization"),
        request.headers.get(postmark.SECRET_HEADER),
        hooks.postmark_username,
        hooks.postmark_password,
        hooks.postmark_secret,
    )
    return await _apply(request, postmark.observations(load_json(body), ctx.clock.now()))


async def _received(request: Request) -> tuple[Context, bytes]:
    ctx = context_of(request)
    return ctx, await request.body()  # within web.max_webhook_bytes (web/limits.py)


def _hooks(ctx: Context) -> WebhookSettings:
    return ctx.settings.web.webhooks


def _applier(request: Request) -> GroupCommit[list[Observation], ApplyResult]:
    """The app's one group of webhook applications (made on the first webhook)."""
    state = request.app.state
    if getattr(state, "webhook_applier", None) is None:
        ctx = context_of(request)

        async def apply(requests: list[list[Observation]]) -> list[ApplyResult]:
            return await asyncio.to_thread(_apply_together, ctx, requests)

        state.webhook_applier = GroupCommit(apply, _any)
    applier: GroupCommit[list[Observation], ApplyResult] = state.webhook_applier
    return applier


def _apply_together(ctx: Context, requests: list[list[Observation]]) -> list[ApplyResult]:
    result = apply_observations(ctx, [obs for observations in requests for obs in observations])
    return [result.share(observations) for observations in requests]


def _any(_count: int) -> None:
    """Nothing waits for applied webhooks."""


async def _apply(request: Request, observations: list[Observation]) -> JSONResponse:
    result = ApplyResult()
    if observations:
        result = await _applier(request).submit(observations)
    counts = {
        "received": len(observations),
        "applied": result.applied,
        "duplicates": result.duplicates,
        "unmatched": result.unmatched,
        "deferred": result.deferred,
    }
    if result.unmatched:
        log.info(
            "webhook: %d of %d observations name no message of ours",
            result.unmatched,
            len(observations),
        )
    if result.deferred:
        # A message was on the wire: the provider's retry brings the rest back (what was
        # applied now is then a duplicate, so nothing is applied twice).
        return JSONResponse(
            {**counts, "error": "some messages are being sent right now; retry later"},
            status_code=503,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    return JSONResponse(counts)
