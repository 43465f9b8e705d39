"""The API's docs (/docs, /redoc) with Swagger UI and ReDoc served by mailcast, never a CDN."""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

# Vendored from the npm registry (static/README.md says which versions): an install behind a
# firewall, or with no network at all, still shows its API's docs.
STATIC_DIR = Path(__file__).with_name("static")
ASSETS = "/docs/assets"
TITLE = "mailcast API"
# Besides its inline script (allowed by hash), the page loads from mailcast only: the CSP is what
# keeps ReDoc's footer from fetching its logo from Redocly's CDN. ReDoc styles with <style>
# elements and runs its search in a blob: worker.
_POLICY = (
    "default-src 'none'",
    "script-src 'self' blob: {scripts}",
    "worker-src 'self' blob:",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
)
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.S)
# The validator badge would send the OpenAPI document's URL to validator.swagger.io.
SWAGGER_PARAMETERS = {"validatorUrl": None}


def install(app: FastAPI) -> None:
    """Serve /docs, its OAuth2 redirect page, /redoc and their assets (app made with no docs)."""
    openapi_url = app.openapi_url or "/openapi.json"
    redirect = "/docs/oauth2-redirect"

    def swagger_ui() -> HTMLResponse:
        return _offline(
            get_swagger_ui_html(
                openapi_url=openapi_url,
                title=f"{TITLE} — Swagger UI",
                swagger_js_url=f"{ASSETS}/swagger/swagger-ui-bundle.js",
                swagger_css_url=f"{ASSETS}/swagger/swagger-ui.css",
                swagger_favicon_url=f"{ASSETS}/swagger/favicon-32x32.png",
                oauth2_redirect_url=redirect,
                swagger_ui_parameters=SWAGGER_PARAMETERS,
            )
        )

    def oauth2_redirect() -> HTMLResponse:
        return _offline(get_swagger_ui_oauth2_redirect_html())

    def redoc() -> HTMLResponse:
        return _offline(
            get_redoc_html(
                openapi_url=openapi_url,
                title=f"{TITLE} — ReDoc",
                redoc_js_url=f"{ASSETS}/redoc/redoc.standalone.js",
                redoc_favicon_url=f"{ASSETS}/swagger/favicon-32x32.png",
                with_google_fonts=False,
            )
        )

    app.add_api_route("/docs", swagger_ui, include_in_schema=False)
    app.add_api_route(redirect, oauth2_redirect, include_in_schema=False)
    app.add_api_route("/redoc", redoc, include_in_schema=False)
    app.mount(ASSETS, StaticFiles(directory=str(STATIC_DIR)), name="api-docs-assets")


def _offline(response: HTMLResponse) -> HTMLResponse:
    """The page with a CSP that lets it load from mailcast only, its inline scripts by hash."""
    scripts = _INLINE_SCRIPT.findall(bytes(response.body).decode())
    hashes = " ".join(_sha256(script) for script in scripts if script.strip())
    response.headers["Content-Security-Policy"] = "; ".join(_POLICY).format(scripts=hashes)
    return response


def _sha256(script: str) -> str:
    digest = hashlib.sha256(script.encode()).digest()
    return f"'sha256-{base64.b64encode(digest).decode()}'"
