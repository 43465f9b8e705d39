"""An import never loses good rows: row faults are reported by line, header faults clearly.

The command line runs as operators run it (a process of its own), so a traceback would show.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from import_files import NUL_LINE, ROWS, big_file
from mailcast.audience.csv_import import import_profiles
from mailcast.clock import ManualClock
from mailcast.context import Context
from mailcast.store import profiles as store
from mailcast.store.db import Database


def mailcast(ctx: Context, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILCAST_")}
    env |= {
        "MAILCAST_DATABASE_URL": ctx.settings.database_url,
        "MAILCAST_SECRET_KEY": "test-secret",
        "COLUMNS": "200",
        "NO_COLOR": "1",
    }
    return subprocess.run(
        [sys.executable, "-m", "mailcast", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def emails(db: Database) -> set[str]:
    with db.read() as conn:
        return {row["email"] for row in store.profiles_page(conn, 0, 2 * ROWS)}


def test_a_nul_byte_on_one_line_of_12000_loses_no_other_row(ctx: Context, tmp_path: Path) -> None:
    path = big_file(tmp_path / "people.csv", {NUL_LINE: b"Per\x00son"})

    done = mailcast(ctx, tmp_path, "profiles", "import", str(path), "--list", "news")

    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == [f"line {NUL_LINE}: the row holds a NUL character"]
    assert "12,000 rows read: 11,999 profiles created" in done.stdout
    assert "1 rows rejected" in done.stdout
    kept = emails(ctx.db)
    assert len(kept) == ROWS - 1
    assert f"person{NUL_LINE}@example.com" not in kept
    assert {f"person{NUL_LINE - 1}@example.com", f"person{ROWS + 1}@example.com"} <= kept


def test_a_line_that_is_not_utf8_is_reported_and_the_others_kept(
    ctx: Context, tmp_path: Path
) -> None:
    path = tmp_path / "people.csv"
    path.write_bytes(
        b"email,first_name,city\n"
        b"ann@example.com,Ann,Paris\n"
        b"bob@example.com,Bob,Z\xfcrich\n"  # line 3: Latin-1
        b"cy@example.com,[bold]Cy,Nice\n"
        b"[/x]@,Dan,Oslo\n"  # line 5: markup in a reason is printed as it is
        b"eve@example.com,Eve,Lyon\n"
    )

    done = mailcast(ctx, tmp_path, "profiles", "import", str(path), "--list", "news")

    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines()[0] == "line 3: the row is not valid UTF-8 text"
    assert done.stderr.splitlines()[1].startswith("line 5: invalid email '[/x]@'")
    assert emails(ctx.db) == {"ann@example.com", "cy@example.com", "eve@example.com"}


@pytest.mark.parametrize(
    ("content", "fault"),
    [
        (b"", "the file is empty"),
        (b"name,city\nAnn,Paris\n", "line 1: the header row has no 'email' column"),
        (b"email,E-Mail\na@example.com,b@example.com\n", "column 'E-Mail' appears twice"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00", "the header row is not UTF-8 text"),
    ],
    ids=["empty", "no-email-column", "duplicate-columns", "not-a-csv"],
)
def test_a_file_that_cannot_be_imported_is_one_error_line_not_a_traceback(
    ctx: Context, tmp_path: Path, content: bytes, fault: str
) -> None:
    path = tmp_path / "people.csv"
    path.write_bytes(content)

    done = mailcast(ctx, tmp_path, "profiles", "import", str(path), "--list", "news")

    assert done.returncode == 1
    assert "Traceback" not in done.stdout + done.stderr
    [message] = done.stderr.splitlines()
    assert message.startswith("error: ") and fault in message, message
    assert message.endswith("nothing was imported")
    with ctx.db.read() as conn:
        assert store.count_profiles(conn) == 0
        assert store.list_names(conn) == []


# --- A value the database itself refuses ----------------------------------------------------

_SQLITE_TRIGGER = (
    "CREATE TRIGGER refuse_marked BEFORE INSERT ON profiles WHEN NEW.first_name = 'Refused'"
    " BEGIN SELECT RAISE(ABORT, 'refused by a test trigger'); END"
)
_PG_FUNCTION = """
CREATE FUNCTION refuse_marked() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.first_name = 'Refused' THEN
    RAISE EXCEPTION 'refused by a test trigger' USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END $$
"""
_PG_TRIGGER = (
    "CREATE TRIGGER refuse_marked BEFORE INSERT ON profiles"
    " FOR EACH ROW EXECUTE FUNCTION refuse_marked()"
)


@pytest.fixture
def refusing_db(db: Database) -> Iterator[Database]:
    """The database refuses a profile named 'Refused', as a constraint the import cannot know."""
    with db.write() as conn:
        if db.is_sqlite:
            conn.execute(text(_SQLITE_TRIGGER))
        else:
            conn.execute(text(_PG_FUNCTION))
            conn.execute(text(_PG_TRIGGER))
    yield db
    with db.write() as conn:
        conn.execute(text("DROP TRIGGER refuse_marked" + ("" if db.is_sqlite else " ON profiles")))
        if not db.is_sqlite:
            conn.execute(text("DROP FUNCTION refuse_marked()"))


def test_a_row_the_database_refuses_is_reported_and_the_rest_of_its_batch_kept(
    refusing_db: Database, clock: ManualClock, tmp_path: Path
) -> None:
    path = tmp_path / "people.csv"
    path.write_text(
        "email,first_name,city\n"
        "ann@example.com,Ann,Paris\n"  # 2
        "bob@example.com,Refused,Oslo\n"  # 3: refused by the database
        "cy@example.com,Cy,Nice\n"  # 4
        "ann@example.com,,Lyon\n"  # 5: merged into line 2's profile
        "dan@example.com,Dan,Rome\n"  # 6: the next batch
    )

    report = import_profiles(refusing_db, path, "news", clock, batch_size=4)

    assert [str(e) for e in report.errors] == [
        "line 3: the database refused the row: refused by a test trigger"
    ]
    assert (report.imported, report.duplicates_in_file, report.updated) == (3, 1, 0)
    assert emails(refusing_db) == {"ann@example.com", "cy@example.com", "dan@example.com"}
    with refusing_db.read() as conn:
        ann = store.get_profile_by_email(conn, "ann@example.com")
        assert ann is not None and ann["attributes"] == {"city": "Lyon"}
        assert ann["first_name"] == "Ann"
        news = store.list_ids(conn, ["news"])["news"]
        assert len(store.member_ids(conn, news)) == 3
