"""A CSV import over HTTP (uvicorn on loopback): row faults reported, nothing of them logged."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from api_helpers import assert_problem

from import_files import NUL_LINE, ROWS, big_file
from mailcast.context import Context
from mailcast.store import profiles as store
from mailcast.users.service import User, create_token
from mailcast.web.in_thread import WebServer

BAD_UTF8_LINE = 9_000


@pytest.fixture
def importer(ctx: Context, marie: User) -> Iterator[httpx2.Client]:
    """marie (prepare_deliveries) with her API token, talking to the real app on a port."""
    token = create_token(ctx.db, marie, "test", ctx.clock)
    with WebServer(ctx) as web:
        headers = {"Authorization": f"Bearer {token}"}
        with httpx2.Client(base_url=web.base_url, headers=headers, timeout=120) as client:
            yield client


def upload(client: httpx2.Client, content: bytes) -> httpx2.Response:
    files = {"file": ("people.csv", content, "text/csv")}
    return client.post("/api/profiles/import", params={"list": "news"}, files=files)


def test_a_nul_and_a_bad_line_are_reported_and_every_other_row_kept_and_not_logged(
    ctx: Context, importer: httpx2.Client, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    faults = {NUL_LINE: b"Per\x00son", BAD_UTF8_LINE: b"J\xfcrgen"}
    content = big_file(tmp_path / "people.csv", faults).read_bytes()

    response = upload(importer, content)

    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["rows_read"], report["imported"], report["error_count"]) == (ROWS, ROWS - 2, 2)
    assert report["errors"] == [
        {"line": NUL_LINE, "reason": "the row holds a NUL character"},
        {"line": BAD_UTF8_LINE, "reason": "the row is not valid UTF-8 text"},
    ]
    with ctx.db.read() as conn:
        assert store.count_profiles(conn) == ROWS - 2
    assert "example.com" not in caplog.text and "Person" not in caplog.text


@pytest.mark.parametrize(
    ("content", "fault"),
    [
        (b"", "the file is empty"),
        (b"name,city\nAnn,Paris\n", "the header row has no 'email' column"),
        (b"email,E-Mail\na@example.com,b@example.com\n", "column 'E-Mail' appears twice"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00", "the header row is not UTF-8 text"),
    ],
    ids=["empty", "no-email-column", "duplicate-columns", "not-a-csv"],
)
def test_a_file_that_cannot_be_imported_is_a_422_problem_naming_the_fault(
    ctx: Context, importer: httpx2.Client, content: bytes, fault: str
) -> None:
    body = assert_problem(upload(importer, content), 422)

    assert body["title"] == "The file cannot be imported"
    assert fault in body["detail"]
    with ctx.db.read() as conn:
        assert store.count_profiles(conn) == 0
