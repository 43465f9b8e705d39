"""Security headers by path: the dashboard's strict CSP, and a sandbox for everything else.

Author HTML (the mirror page, the preview) is served in a unique origin (CSP `sandbox`) where
no script runs: it can neither read the dashboard nor post to it with a user's session. A
response that sets its own Content-Security-Policy keeps it; the other headers are added to
every response under the prefixes of POLICIES.
"""

from __future__ import annotations

from dataclasses import dataclass

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

# What emails are made of: inline and remote styles, remote images and fonts; never script,
# plugins, frames, forms or requests of its own.
_AUTHOR_CONTENT = (
    "default-src 'none'",
    "script-src 'none'",
    "style-src 'unsafe-inline' https: http:",
    "img-src https: http: data:",
    "font-src https: data:",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
)

# The preview of a message in the dashboard: a unique origin (sandbox) in which no script
# runs, whatever the iframe around it says.
PREVIEW_CSP = "; ".join(("sandbox", *_AUTHOR_CONTENT, "frame-ancestors 'self'"))

# The mirror page, opened by anyone who has the link (a dashboard user too). Its links may
# open a new tab, which is an ordinary page, not the sandbox.
MIRROR_CSP = "; ".join(
    (
        "sandbox allow-popups allow-popups-to-escape-sandbox",
        *_AUTHOR_CONTENT,
        "frame-ancestors 'none'",
    )
)

# mailcast's own pages under /t (unsubscribe, link expired, not found): no script either; the
# unsubscribe button posts to the page's own URL.
TRACKING_CSP = "; ".join(
    (
        "sandbox allow-forms",
        "default-src 'none'",
        "script-src 'none'",
        "form-action 'self'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    )
)

# The API answers JSON: opened in a browser, nothing in it may run or be framed.
API_CSP = "sandbox; default-src 'none'; script-src 'none'; frame-ancestors 'none'"


@dataclass(frozen=True)
class Policy:
    csp: str  # unless the response sets its own
    referrer: str


POLICIES: dict[str, Policy] = {
    "/dashboard": Policy(DASHBOARD_CSP, "same-origin"),
    # A tracking URL is a credential for its recipient's pages: never sent on as a referrer.
    "/t/": Policy(TRACKING_CSP, "no-referrer"),
    "/api/": Policy(API_CSP, "no-referrer"),
}


class SecurityHeaders:
    """ASGI middleware adding the headers of POLICIES to the responses of their paths."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        policy = policy_of(scope)
        if policy is None:
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                add_headers(MutableHeaders(scope=message), policy)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def policy_of(scope: Scope) -> Policy | None:
    if scope["type"] != "http":
        return None
    path = str(scope["path"])
    return next((p for prefix, p in POLICIES.items() if path.startswith(prefix)), None)


def add_headers(headers: MutableHeaders, policy: Policy) -> None:
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", policy.referrer)
    csp = headers.setdefault("Content-Security-Policy", policy.csp)
    framed = "frame-ancestors 'self'" in csp
    headers.setdefault("X-Frame-Options", "SAMEORIGIN" if framed else "DENY")
