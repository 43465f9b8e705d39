"""The public tracking endpoints: open pixel, click redirect, mirror page, unsubscribe.

Every URL carries a signed token (tracking/tokens.py); a forged or altered one gets 404 and
writes nothing, and a click can only go where mailcast wrote the link. Opens and clicks are
answered at once and written a moment later in batches (tracking/recorder.py). Past the
resource validity period a link shows a substitute page instead (HTTP 410), except the
unsubscribe POST, which keeps working as RFC 8058 and the law expect.
"""

from __future__ import annotations

import base64
import datetime as dt
import email
import email.policy
import html
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from email.message import EmailMessage

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from mailcast.compose.composer import Composer, DeliveryContent, Recipient
from mailcast.compose.templates import RenderError
from mailcast.context import Context
from mailcast.store import tracking_links as link_store
from mailcast.tracking.links import LinkTracker
from mailcast.tracking.machine import is_machine_agent
from mailcast.tracking.recorder import Hit, Recorder, record
from mailcast.tracking.tokens import TokenKind, TrackingToken
from mailcast.tracking.unsubscribe import unsubscribe
from mailcast.web.requests import context_of
from mailcast.web.security import MIRROR_CSP

router = APIRouter(prefix="/t", tags=["tracking"])

# The smallest transparent GIF (1x1, 43 bytes).
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==")
NO_STORE = {"Cache-Control": "no-store, no-cache, must-revalidate, max-age=0", "Pragma": "no-cache"}
ONE_CLICK_BODY = b"List-Unsubscribe=One-Click"


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Run the app's tracking writer; stopping the app flushes every hit it answered."""
    recorder = Recorder(app.state.ctx, in_subprocess=app.state.hits_in_subprocess)
    app.state.recorder = recorder
    recorder.start()
    try:
        yield
    finally:
        await recorder.stop()


async def open_pixel(request: Request) -> Response:
    """Open pixel: always a transparent GIF (a plain Starlette route: the hot path)."""
    ctx = context_of(request)
    found = _verified(ctx, request.path_params["token"], TokenKind.OPEN)
    if found is None:
        return _not_found()
    if not _expired(ctx, found):
        await _hit(request, found)
    return Response(PIXEL, media_type="image/gif", headers=NO_STORE)


async def click(request: Request) -> Response:
    """Click: redirect to the link mailcast signed (a plain Starlette route: the hot path)."""
    ctx = context_of(request)
    found = _verified(ctx, request.path_params["token"], TokenKind.CLICK)
    if found is None or not found.url.lower().startswith(("http://", "https://")):
        return _not_found()
    if _expired(ctx, found):
        return _expired_page()
    await _hit(request, found)
    return RedirectResponse(found.url, status_code=302, headers=NO_STORE)


# Opens and clicks skip FastAPI's parameter handling: they are most of the traffic. (A
# plain route takes no router prefix: the full path is written.)
router.add_route("/t/o/{token}.gif", open_pixel, methods=["GET"], include_in_schema=False)
router.add_route("/t/c/{token}", click, methods=["GET"], include_in_schema=False)


@router.get("/m/{token}", summary="Mirror page: the message as a web page")
async def mirror(token: str, request: Request) -> Response:
    ctx = context_of(request)
    found = _verified(ctx, token, TokenKind.MIRROR)
    if found is None:
        return _not_found()
    if _expired(ctx, found):
        return _expired_page()
    page = await run_in_threadpool(_mirror_html, ctx, found.message_id)
    if page is None:
        return _not_found()
    return HTMLResponse(page, headers={**NO_STORE, "Content-Security-Policy": MIRROR_CSP})


@router.get("/u/{token}", summary="Unsubscribe page: asks to confirm, changes nothing")
async def unsubscribe_page(token: str, request: Request) -> Response:
    ctx = context_of(request)
    found = _verified(ctx, token, TokenKind.UNSUBSCRIBE)
    if found is None or not await run_in_threadpool(_exists, ctx, found.message_id):
        return _not_found()
    if _expired(ctx, found):
        return _expired_page()
    return HTMLResponse(
        _page(
            "Unsubscribe",
            "<p>Do you want to stop receiving these emails?</p>"
            '<form method="post"><button type="submit" name="confirm" value="yes">'
            "Unsubscribe</button></form>",
        ),
        headers=NO_STORE,
    )


@router.post("/u/{token}", summary="Unsubscribe: RFC 8058 one-click, or the page's button")
async def unsubscribe_post(token: str, request: Request) -> Response:
    ctx = context_of(request)
    found = _verified(ctx, token, TokenKind.UNSUBSCRIBE)
    if found is None or not await run_in_threadpool(_exists, ctx, found.message_id):
        return _not_found()
    body = await request.body()  # within web.max_body_bytes (web/limits.py)
    source = "one-click" if ONE_CLICK_BODY in body else "page"
    await run_in_threadpool(unsubscribe, ctx, found.message_id, ctx.clock.now(), source)
    return HTMLResponse(
        _page("Unsubscribed", "<p>You will not receive these emails any more.</p>"),
        headers=NO_STORE,
    )


def _verified(ctx: Context, text: str, kind: TokenKind) -> TrackingToken | None:
    token = ctx.token_signer.verify(text)
    return token if token is not None and token.kind is kind else None


def _expired(ctx: Context, token: TrackingToken) -> bool:
    validity = dt.timedelta(days=ctx.settings.tracking.resource_validity_days)
    return ctx.clock.now() - token.issued_at > validity


async def _hit(request: Request, token: TrackingToken) -> None:
    ctx = context_of(request)
    agent = request.headers.get("user-agent", "")
    ip = request.client.host if request.client else ""
    hit = Hit(token, ctx.clock.now(), is_machine_agent(agent), agent, ip)
    recorder: Recorder | None = getattr(request.app.state, "recorder", None)
    if recorder is None:  # an app run without its lifespan: write at once
        await run_in_threadpool(record, ctx, [hit])
    else:
        recorder.add(hit)


def _exists(ctx: Context, message_id: int) -> bool:
    with ctx.db.read() as conn:
        return link_store.message_exists(conn, message_id)


def _mirror_html(ctx: Context, message_id: int) -> str | None:
    """The message's body exactly as it is sent to its recipient (tracked links included)."""
    with ctx.db.read() as conn:
        row = link_store.mirror_source(conn, message_id)
    if row is None:
        return None
    content = DeliveryContent.of_delivery(row, row["delivery_id"])
    recipient = Recipient(
        message_id, row["address"], row["first_name"], row["last_name"], row["attributes"] or {}
    )
    try:
        composer = Composer(
            content, ctx.signer, LinkTracker.from_context(ctx), ctx.settings.templates
        )
        composed = composer.compose(recipient, ctx.clock.now())
    except (RenderError, ValueError):  # the profile changed since: nothing good to show
        return None
    message = email.message_from_bytes(composed.data, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    body = message.get_body(("html", "plain"))
    if body is None:
        return None
    text = str(body.get_content())
    if body.get_content_type() == "text/html":
        return text
    return _page(str(message["subject"]), f"<pre>{html.escape(text)}</pre>")


def _not_found() -> Response:
    return HTMLResponse(_page("Not found", "<p>This link is not valid.</p>"), status_code=404)


def _expired_page() -> Response:
    body = "<p>This link has expired: the message it belongs to is no longer available.</p>"
    return HTMLResponse(_page("Link expired", body), status_code=410, headers=NO_STORE)


def _page(title: str, body: str) -> str:
    return (
        '<!doctype html><html><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title></head>"
        f"<body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )
