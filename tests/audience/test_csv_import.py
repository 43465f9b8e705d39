"""CSV import: streamed batches, bad rows reported by line, duplicates merged, lists filled."""

from __future__ import annotations

import gc
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import RowMapping, select

from mailcast.audience.csv_import import (
    MAX_ERROR_DETAILS,
    ImportFailed,
    RowError,
    add_profile,
    import_profiles,
    normalise_email,
)
from mailcast.clock import ManualClock
from mailcast.store import profiles as store
from mailcast.store.db import Database
from mailcast.store.tables import profiles


def _csv(tmp_path: Path, text: str, name: str = "people.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def _profile(db: Database, email: str) -> RowMapping:
    with db.read() as conn:
        row = store.get_profile_by_email(conn, email)
    assert row is not None, f"no profile {email}"
    return row


def _emails(db: Database) -> list[str]:
    with db.read() as conn:
        return list(conn.execute(select(profiles.c.email).order_by(profiles.c.id)).scalars())


def _members(db: Database, list_name: str) -> set[str]:
    with db.read() as conn:
        list_id = store.list_ids(conn, [list_name])[list_name]
        ids = store.member_ids(conn, list_id)
        query = select(profiles.c.email).where(profiles.c.id.in_(ids))
        return set(conn.execute(query).scalars())


# --- Columns and values ---------------------------------------------------------------------


def test_import_stores_names_attributes_and_list_membership(
    db: Database, clock: ManualClock, tmp_path: Path
) -> None:
    path = _csv(
        tmp_path,
        "Email,First Name,LAST_NAME,City,Plan\n"
        "ann@example.com,Ann,Lee,Paris,gold\n"
        "  bob@example.org , Bob ,,,silver\n",
    )
    report = import_profiles(db, path, "newsletter", clock)

    assert (report.rows_read, report.imported, report.updated, report.error_count) == (2, 2, 0, 0)
    ann = _profile(db, "ann@example.com")
    assert (ann["first_name"], ann["last_name"]) == ("Ann", "Lee")
    assert ann["attributes"] == {"city": "Paris", "plan": "gold"}
    assert ann["email_subscribed"] is True
    assert ann["created_at"] == clock.now()
    bob = _profile(db, "bob@example.org")
    # Cells are trimmed; empty cells are no value at all.
    assert (bob["first_name"], bob["last_name"]) == ("Bob", None)
    assert bob["attributes"] == {"plan": "silver"}
    assert _members(db, "newsletter") == {"ann@example.com", "bob@example.org"}


def test_address_keeps_the_local_part_and_lowers_the_domain(
    db: Database, clock: ManualClock, tmp_path: Path
) -> None:
    path = _csv(
        tmp_path,
        "email\nJohn.Doe@Example.COM\njohn.doe@example.com\nÜser@Bücher.DE\n",
    )
    report = import_profiles(db, path, "l", clock)

    # Different local-part case: two profiles (preparation dedupes them by email_key).
    assert report.imported == 3
    assert _emails(db) == ["John.Doe@example.com", "john.doe@example.com", "Üser@xn--bcher-kva.de"]
    assert _profile(db, "John.Doe@example.com")["email_key"] == "john.doe@example.com"
    assert _profile(db, "Üser@xn--bcher-kva.de")["email_key"] == "üser@xn--bcher-kva.de"
    assert normalise_email("a@BÜCHER.de") == ("a@xn--bcher-kva.de", "a@xn--bcher-kva.de")


def test_semicolon_files_with_a_byte_order_mark_are_read(
    db: Database, clock: ManualClock, tmp_path: Path
) -> None:
    path = _csv(tmp_path, "\ufeffE-mail;first_name;score\r\nann@example.com;Ann;12,5\r\n")
    report = import_profiles(db, path, "l", clock)

    assert report.error_count == 0
    assert _profile(db, "ann@example.com")["attributes"] == {"score": "12,5"}


def test_blank_lines_are_skipped_and_unnamed_columns_ignored(
    db: Database, clock: ManualClock, tmp_path: Path
) -> None:
    path = _csv(tmp_path, "email,,city\n\nann@example.com,x,Oslo\n\n")
    report = import_profiles(db, path, "l", clock)

    assert (report.rows_read, report.imported, report.error_count) == (1, 1, 0)
    assert _profile(db, "ann@example.com")["attributes"] == {"city": "Oslo"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the file is empty"),
        ("\n\n", "the file is empty"),
        ("name,city\nAnn,Paris\n", "line 1: the header row has no 'email' column"),
        ("email,Email\na@example.com,b@example.com\n", "line 1: column 'Email' appears twice"),
    ],
)
def test_a_file_without_a_usable_header_is_refused(
    db: Database, clock: ManualClock, tmp_path: Path, text: str, message: str
) -> None:
    with pytest.raises(ImportFailed, match=message):
        import_profiles(db, _csv(tmp_path, text), "l", clock)
    assert _emails(db) == []


# --- Bad rows -------------------------------------------------------------------------------


def test_bad_rows_are_reported_by_line_and_good_rows_kept(
    db: Database, clock: ManualClock, tmp_path: Path
) -> None:
    path = _csv(
        tmp_path,
        "email,first_name,note\n"  # line 1
        "ann@example.com,Ann,ok\n"  # 2
        'bob@example.com,Bob,"two\n'  # 3: a quoted cell over three lines
        "more\n"  # 4
        'lines"\n'  # 5
        "foo@,Foo,x\n"  # 6
        ",Nobody,x\n"  # 7
        "cat@example.com,Cat\n"  # 8
        "dan@example.com,Dan,x,extra\n"  # 9
        "\n"  # 10
        "not an address,X,y\n"  # 11
        f"eve@example.com,{'E' * 201},x\n"  # 12
        "fay@example.com,Fay,x\n",  # 13
    )
    report = import_profiles(db, path, "l", clock)

    assert [(e.line, e.reason.split(":")[0]) for e in report.errors] == [
        (6, "invalid email 'foo@'"),
        (7, "missing email"),
        (8, "expected 3 cells, found 2"),
        (9, "expected 3 cells, found 4"),
        (11, "invalid email 'not an address'"),
        (12, "first_name is longer than 200 characters"),
    ]
    assert str(report.errors[0]) == (
        "line 6: invalid email 'foo@': There must be something after the @-sign."
    )
    assert report.error_count == 6
    assert report.rows_read == 9
    assert report.imported == 3
    assert _emails(db) == ["ann@example.com", "bob@example.com", "fay@example.com"]
    assert _profile(db, "bob@example.com")["attributes"] == {"note": "two\nmore\nlines"}


def test_rows_that_are_not_utf8_are_reported(
    db: Database, clock: ManualClock, tmp_path: Path
) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes(b"email,city\nann@example.com,Z\xfcrich\nbob@example.com,Bern\n")
    report = import_profiles(db, path, "l", clock)

    assert report.errors == [RowError(2, "the row is not valid UTF-8 text")]
    assert _emails(db) == ["bob@example.com"]


def test_error_details_are_capped_but_all_counted(
    db: Database, clock: ManualClock, tmp_path: Path
) -> None:
    bad = MAX_ERROR_DETAILS + 5
    path = _csv(tmp_path, "email\n" + "nope\n" * bad + "ok@example.com\n")
    report = import_profiles(db, path, "l", clock)

    assert report.error_count == bad
    assert len(report.errors) == MAX_ERROR_DETAILS
    assert report.errors[-1].line == MAX_ERROR_DETAILS + 1
    assert report.imported == 1


# --- Duplicates and re-imports --------------------------------------------------------------


@pytest.mark.parametrize("batch_size", [1, 2, 5000])
def test_duplicates_in_the_file_end_in_one_merged_profile(
    db: Database, clock: ManualClock, tmp_path: Path, batch_size: int
) -> None:
    path = _csv(
        tmp_path,
        "email,first_name,last_name,city,plan\n"
        "ann@example.com,Ann,Lee,Paris,\n"
        "bob@example.com,Bob,,,\n"
        "ann@EXAMPLE.com,Anna,,,gold\n"
        "ann@example.com,,,Lyon,\n",
    )
    report = import_profiles(db, path, "l", clock, batch_size=batch_size)

    assert (report.imported, report.updated, report.duplicates_in_file) == (2, 0, 2)
    assert _emails(db) == ["ann@example.com", "bob@example.com"]
    ann = _profile(db, "ann@example.com")
    # Later rows win, empty cells keep what earlier rows gave.
    assert (ann["first_name"], ann["last_name"]) == ("Anna", "Lee")
    assert ann["attributes"] == {"city": "Lyon", "plan": "gold"}


def test_reimport_merges_into_existing_profiles_and_keeps_unsubscribes(
    db: Database, clock: ManualClock, tmp_path: Path
) -> None:
    first = _csv(tmp_path, "email,first_name,city,plan\nann@example.com,Ann,Paris,gold\n", "1.csv")
    import_profiles(db, first, "spring", clock)
    ann_id = _profile(db, "ann@example.com")["id"]
    with db.write() as conn:
        store.set_email_subscribed(conn, ann_id, False, clock.now())

    second = _csv(
        tmp_path,
        "email,last_name,city\nann@example.com,Lee,Lyon\nbob@example.com,Moe,Oslo\n",
        "2.csv",
    )
    report = import_profiles(db, second, "summer", clock, batch_size=1)

    assert (report.imported, report.updated, report.duplicates_in_file) == (1, 1, 0)
    ann = _profile(db, "ann@example.com")
    assert ann["id"] == ann_id
    assert (ann["first_name"], ann["last_name"]) == ("Ann", "Lee")
    assert ann["attributes"] == {"city": "Lyon", "plan": "gold"}
    assert ann["email_subscribed"] is False
    assert _members(db, "spring") == {"ann@example.com"}
    assert _members(db, "summer") == {"ann@example.com", "bob@example.com"}


def test_importing_the_same_file_twice_changes_nothing(
    db: Database, clock: ManualClock, tmp_path: Path
) -> None:
    path = _csv(tmp_path, "email,city\nann@example.com,Paris\nbob@example.com,Oslo\n")
    import_profiles(db, path, "l", clock)
    again = import_profiles(db, path, "l", clock)

    assert (again.imported, again.updated, again.duplicates_in_file) == (0, 2, 0)
    assert _emails(db) == ["ann@example.com", "bob@example.com"]
    assert _members(db, "l") == {"ann@example.com", "bob@example.com"}


def test_add_profile_merges_like_an_import(db: Database, clock: ManualClock) -> None:
    first = add_profile(db, clock, "ann@Example.com", first_name="Ann", lists=("a",))
    same = add_profile(db, clock, "ann@example.com", attributes={"City": "Oslo"}, lists=("b",))
    none = add_profile(db, clock, None, last_name="Nobody", lists=("a",))

    assert first == same
    ann = _profile(db, "ann@example.com")
    assert (ann["first_name"], ann["attributes"]) == ("Ann", {"city": "Oslo"})
    with db.read() as conn:
        nobody = store.get_profile(conn, none)
        assert nobody is not None and nobody["email"] is None and nobody["email_key"] is None
        assert store.list_names(conn) == ["a", "b"]
        assert store.list_sizes(conn) == {"a": 2, "b": 1}


# --- Bounded memory -------------------------------------------------------------------------


def _generate(path: Path, rows: int) -> Path:
    with path.open("w", encoding="utf-8") as file:
        file.write("email,first_name,last_name,city,plan\n")
        for n in range(rows):
            file.write(f"user{n:07d}@example{n % 97}.com,First{n},Last{n},City{n % 50},p{n % 3}\n")
    return path


def _peak_import_memory(db: Database, clock: ManualClock, path: Path, **kw: Any) -> int:
    gc.collect()
    tracemalloc.reset_peak()
    before, _ = tracemalloc.get_traced_memory()
    report = import_profiles(db, path, "big", clock, **kw)
    _, peak = tracemalloc.get_traced_memory()
    assert report.error_count == 0
    return peak - before


def test_memory_does_not_grow_with_the_file(
    db: Database, clock: ManualClock, tmp_path: Path
) -> None:
    # Five times the rows, the same batch size: the same peak (tracemalloc makes this slow).
    small = _generate(tmp_path / "small.csv", 3_000)
    big = _generate(tmp_path / "big.csv", 15_000)
    # Warm up first: caches of compiled statements and the validator fill once.
    import_profiles(db, _generate(tmp_path / "warm.csv", 1_000), "big", clock, batch_size=500)
    tracemalloc.start()
    try:
        small_peak = _peak_import_memory(db, clock, small, batch_size=500)
        big_peak = _peak_import_memory(db, clock, big, batch_size=500)
    finally:
        tracemalloc.stop()

    assert big_peak < 1.5 * small_peak, (small_peak, big_peak)
    with db.read() as conn:
        assert store.count_profiles(conn) == 15_000
