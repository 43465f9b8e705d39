"""/docs and /redoc in Debian's chromium with every request off loopback blocked: they work."""

from __future__ import annotations

from urllib.parse import urlsplit

from dashboard_helpers import OUTPUT, chromium, fresh_page, serving
from playwright.sync_api import Route, expect

from mailcast.context import Context


def test_the_api_docs_render_offline(ctx: Context) -> None:
    """What a machine without internet shows: each page's requests stay on mailcast's host."""
    OUTPUT.mkdir(exist_ok=True)
    with serving(ctx) as base, chromium() as browser, fresh_page(browser) as page:
        host = urlsplit(base).netloc
        elsewhere: list[str] = []

        def only_mailcast(route: Route) -> None:
            if urlsplit(route.request.url).netloc == host:
                route.continue_()
            else:
                elsewhere.append(route.request.url)
                route.abort()

        page.route("**/*", only_mailcast)
        console: list[str] = []
        page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
        page.goto(f"{base}/docs")
        expect(page.locator(".swagger-ui .info .title")).to_contain_text("mailcast")
        expect(page.locator(".opblock-summary-path").first).to_be_visible()
        page.locator(".opblock-summary").first.click()  # an operation unfolds (the bundle's JS)
        expect(page.locator(".opblock-body").first).to_be_visible()
        page.screenshot(path=str(OUTPUT / "api-docs-swagger.png"), full_page=True)

        page.goto(f"{base}/redoc")
        expect(page.locator("h1").first).to_contain_text("mailcast")
        expect(page.locator("[data-section-id]").first).to_be_attached()
        page.screenshot(path=str(OUTPUT / "api-docs-redoc.png"))
        assert elsewhere == [], elsewhere
        # The one refusal: ReDoc's footer logo, from Redocly's CDN, stopped by the page's CSP.
        errors = [line for line in console if line.startswith("error")]
        assert all("cdn.redoc.ly/redoc/logo-mini.svg" in line for line in errors), errors
