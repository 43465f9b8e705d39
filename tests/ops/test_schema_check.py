"""A database without mailcast's schema: the embedded default makes it, any other says what to run.

`mailcast serve` in an empty folder once ended in a long traceback (`no such table: secrets`);
now every command that uses the database checks its schema first (cli/_shared.context).
"""

from __future__ import annotations

import os
import signal
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from mailcast.cli import app
from mailcast.store.db import Database, Schema
from processes import Mailcast, answers, free_port, mailcast_env

UPGRADE = "run `mailcast db upgrade`"
OLDER_REVISION = "0010"  # any migration before the head


def _serve(folder: Path, **settings: str) -> Mailcast:
    return Mailcast(
        "serve",
        "--port",
        str(free_port()),
        cwd=folder,
        env=mailcast_env(MAILCAST_BOUNCES__PORT=str(free_port()), **settings),
    )


def _one_line_refusal(process: Mailcast) -> str:
    """The process ends non-zero with a single line on stderr, no traceback; that line."""
    code = process.wait()
    lines = process.stderr.strip().splitlines()
    assert code != 0 and len(lines) == 1, process.stderr
    assert "Traceback" not in process.stderr and "Traceback" not in process.stdout
    return lines[0]


def test_serve_in_an_empty_folder_makes_its_sqlite_schema_serves_and_stops_on_sigterm(
    tmp_path: Path,
) -> None:
    web_port = free_port()
    env = mailcast_env(MAILCAST_BOUNCES__PORT=str(free_port()))
    with Mailcast("serve", "--port", str(web_port), cwd=tmp_path, env=env) as serve:
        healthz = f"http://127.0.0.1:{web_port}/healthz"
        serve.wait_until(lambda: answers(healthz), "serve answers /healthz")
        code = serve.signal(signal.SIGTERM)

    assert code == 0, serve.stderr
    assert "created the database schema: sqlite:///mailcast.db" in serve.stderr
    assert "Traceback" not in serve.stderr
    database = Database(f"sqlite:///{tmp_path / 'mailcast.db'}")
    assert database.schema() is Schema.CURRENT
    database.dispose()


def test_serve_on_a_sqlite_file_without_the_schema_says_what_to_run(tmp_path: Path) -> None:
    path = tmp_path / "elsewhere.db"
    with _serve(tmp_path, MAILCAST_DATABASE_URL=f"sqlite:///{path}") as serve:
        line = _one_line_refusal(serve)

    assert line == f"error: the database sqlite:///{path} has no mailcast schema yet: {UPGRADE}"
    assert not path.exists()  # the check made no file


def test_an_older_schema_is_never_upgraded_behind_the_operators_back(tmp_path: Path) -> None:
    older = Database(f"sqlite:///{tmp_path / 'mailcast.db'}")
    older.upgrade(OLDER_REVISION)
    older.dispose()

    with _serve(tmp_path) as serve:  # the embedded default, in this folder
        line = _one_line_refusal(serve)

    assert (
        line == f"error: the database sqlite:///mailcast.db has an older mailcast schema: {UPGRADE}"
    )


@pytest.fixture
def empty_postgresql() -> Iterator[str]:
    """A new PostgreSQL database without any table, beside the suite's own; dropped after."""
    url = os.environ.get("MAILCAST_TEST_DATABASE_URL", "")
    if not url.startswith(("postgresql", "postgres:")):
        pytest.skip("the suite runs on SQLite (MAILCAST_TEST_DATABASE_URL names no PostgreSQL)")
    server = make_url(url).set(drivername="postgresql")
    name = f"mailcast_empty_{uuid.uuid4().hex[:8]}"
    admin = server.set(database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def test_serve_on_postgresql_without_the_schema_says_what_to_run(
    tmp_path: Path, empty_postgresql: str
) -> None:
    with _serve(tmp_path, MAILCAST_DATABASE_URL=empty_postgresql) as serve:
        line = _one_line_refusal(serve)

    assert line.startswith("error: the database postgresql")
    assert line.endswith(f"has no mailcast schema yet: {UPGRADE}")


# --- every command that uses the database, in-process ---------------------------------------


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> CliRunner:
    monkeypatch.chdir(tmp_path)
    for name in [n for n in os.environ if n.startswith("MAILCAST_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("MAILCAST_CONFIG", str(tmp_path / "none.toml"))
    return CliRunner()


@pytest.mark.parametrize(
    "command",
    [["worker", "--until-idle"], ["bounces", "--port", "0"], ["users", "list"]],
    ids=["worker", "bounces", "users"],
)
def test_each_command_refuses_a_database_without_the_schema_in_one_line(
    runner: CliRunner, tmp_path: Path, command: list[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'other.db'}"
    result = runner.invoke(app, command, env={"MAILCAST_DATABASE_URL": url})

    assert result.exit_code == 1
    assert (
        result.stderr.strip() == f"error: the database {url} has no mailcast schema yet: {UPGRADE}"
    )
    assert result.stdout == ""


def test_on_the_embedded_default_a_command_makes_the_schema_it_needs(
    runner: CliRunner, tmp_path: Path
) -> None:
    result = runner.invoke(app, ["users", "list"])

    assert result.exit_code == 0, result.output
    assert result.stderr.strip() == "created the database schema: sqlite:///mailcast.db"
    assert runner.invoke(app, ["users", "list"]).stderr == ""  # once


def test_a_database_that_cannot_be_reached_is_one_line_too(runner: CliRunner) -> None:
    # Nothing listens on port 1: the connection is refused at once.
    env = {"MAILCAST_DATABASE_URL": "postgresql://mailcast:secret@127.0.0.1:1/mailcast"}
    for command in (["users", "list"], ["db", "upgrade"]):
        result = runner.invoke(app, command, env=env)
        assert result.exit_code == 1
        line = result.stderr.strip()
        assert line.startswith("error: database postgresql+psycopg://mailcast:***@127.0.0.1:1/")
        assert "Connection refused" in line and "\n" not in line and "secret" not in line
