"""/docs and /redoc load Swagger UI and ReDoc from mailcast itself: no CDN, nothing fetched."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from fnmatch import fnmatch
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from mailcast.context import Context
from mailcast.web.api_docs import STATIC_DIR
from mailcast.web.app import create_app

ROOT = Path(__file__).resolve().parents[2]
# Every URL a page makes the browser load: src, href, and url: in its inline script.
_LOADED = re.compile(r"""(?:src|href|spec-url)\s*=\s*["']([^"']+)["']|url:\s*'([^']+)'""")


@pytest.fixture
def client(ctx: Context) -> Iterator[TestClient]:
    with TestClient(create_app(ctx), base_url="http://127.0.0.1") as test_client:
        yield test_client


def loaded_urls(html: str) -> list[str]:
    return [a or b for a, b in _LOADED.findall(html)]


@pytest.mark.parametrize(
    ("path", "kinds"),
    [
        ("/docs", {"/docs/assets/swagger/swagger-ui-bundle.js": "javascript",
                   "/docs/assets/swagger/swagger-ui.css": "text/css",
                   "/docs/assets/swagger/favicon-32x32.png": "image/png"}),
        ("/redoc", {"/docs/assets/redoc/redoc.standalone.js": "javascript",
                    "/docs/assets/swagger/favicon-32x32.png": "image/png"}),
    ],
)  # fmt: skip
def test_the_docs_pages_name_no_other_host_and_their_assets_are_served(
    client: TestClient, path: str, kinds: dict[str, str]
) -> None:
    page = client.get(path)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert not re.search(r"https?:|//[a-z]", page.text, re.I), "a URL of another host"
    urls = loaded_urls(page.text)
    assert set(kinds) <= set(urls) and "/openapi.json" in urls
    assert all(url.startswith("/") and not url.startswith("//") for url in urls), urls
    for url, kind in kinds.items():
        asset = client.get(url)
        assert asset.status_code == 200, url
        assert kind in asset.headers["content-type"] and len(asset.content) > 500, url
    assert client.get("/openapi.json").status_code == 200
    policy = page.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "img-src 'self' data:" in policy
    assert "connect-src 'self';" in policy and "http" not in policy


def test_the_oauth2_redirect_page_is_served(client: TestClient) -> None:
    page = client.get("/docs/oauth2-redirect")
    assert page.status_code == 200 and "oauth2" in page.text.lower()


def test_swagger_is_told_not_to_call_the_online_validator(client: TestClient) -> None:
    assert '"validatorUrl": null' in client.get("/docs").text


def test_the_vendored_files_are_package_data_with_their_licenses() -> None:
    """What a wheel (or an editable install) carries: pyproject's package-data globs."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    globs = config["tool"]["setuptools"]["package-data"]["mailcast"]
    package = STATIC_DIR.parents[1]
    vendored = [p for p in STATIC_DIR.rglob("*") if p.is_file()]
    for name in ("swagger/LICENSE", "swagger/NOTICE", "redoc/LICENSE", "README.md"):
        assert STATIC_DIR / name in vendored
    for file in vendored:
        relative = file.relative_to(package).as_posix()
        assert any(fnmatch(relative, glob) for glob in globs), f"{relative} is not package data"
