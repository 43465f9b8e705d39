"""Security headers for the dashboard's pages: CSP without inline script, no framing, nosniff.

A response that sets its own Content-Security-Policy (the message preview) keeps it; the
other headers are added to every response under the prefix.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# No inline script or style anywhere: JavaScript and CSS are files served by the app.
DASHBOARD_CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "frame-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)

# The preview of a message: a unique origin (sandbox) in which no script runs, whatever the
# iframe around it says; inline styles and remote images are what emails are made of.
PREVIEW_CSP = "; ".join(
    (
        "sandbox",
        "default-src 'none'",
        "script-src 'none'",
        "style-src 'unsafe-inline'",
        "img-src https: http: data:",
        "font-src https: data:",
        "form-action 'none'",
        "frame-ancestors 'self'",
    )
)

_COMMON = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


class SecurityHeaders:
    """ASGI middleware adding the headers to the responses of paths under `prefix`."""

    def __init__(self, app: ASGIApp, prefix: str) -> None:
        self.app = app
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope["path"]).startswith(self.prefix):
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                add_headers(MutableHeaders(scope=message))
            await send(message)

        await self.app(scope, receive, send_with_headers)


def add_headers(headers: MutableHeaders) -> None:
    for name, value in _COMMON.items():
        headers.setdefault(name, value)
    if "content-security-policy" not in headers:
        headers["Content-Security-Policy"] = DASHBOARD_CSP
        headers["X-Frame-Options"] = "DENY"
    else:
        headers.setdefault("X-Frame-Options", "SAMEORIGIN")
