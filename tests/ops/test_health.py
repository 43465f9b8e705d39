"""/healthz for load balancers: 200 while the database answers, 503 with a reason when not."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from mailcast.config import Settings
from mailcast.context import Context
from mailcast.store.db import Database
from mailcast.web.app import create_app


def test_healthz_says_the_database_answers(ctx: Context) -> None:
    with TestClient(create_app(ctx)) as client:
        ready = client.get("/healthz")
        alive = client.get("/health")

    assert ready.status_code == 200
    assert ready.json() == {"status": "ok", "database": "ok"}
    assert alive.json() == {"status": "ok"}


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:////nonexistent-mailcast-dir/mailcast.db",
        # Nothing listens on port 1: the connection is refused at once.
        "postgresql://postgres@127.0.0.1:1/mailcast",
    ],
    ids=["sqlite", "postgresql"],
)
def test_healthz_answers_503_with_what_failed_when_the_database_does_not_answer(
    url: str,
) -> None:
    settings = Settings(database_url=url, secret_key="test-secret")
    database = Database(url)
    # No lifespan: the app's tracking writer would need the database this test takes away.
    client = TestClient(create_app(Context(settings, database)))
    try:
        down = client.get("/healthz")
        alive = client.get("/health")
    finally:
        database.dispose()

    assert down.status_code == 503
    assert down.headers["content-type"] == "application/problem+json"
    problem = down.json()
    assert (problem["status"], problem["database"]) == (503, "error")
    assert "database does not answer" in problem["detail"]
    assert "postgres@" not in down.text  # the URL stays in the log
    assert alive.status_code == 200  # liveness does not depend on the database
