"""The schema comes from the migrations and behaves the same on both databases."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import insert, inspect, select

from mailcast.store.db import Database, WriterBusy, normalise_url
from mailcast.store.tables import lists, metadata


def test_migrations_create_every_table(db: Database) -> None:
    with db.read() as conn:
        names = set(inspect(conn).get_table_names())
    assert {t.name for t in metadata.sorted_tables} <= names


def test_datetimes_come_back_aware_in_utc(db: Database) -> None:
    paris = dt.timezone(dt.timedelta(hours=1))
    moment = dt.datetime(2026, 3, 1, 10, 0, tzinfo=paris)
    with db.write() as conn:
        conn.execute(insert(lists).values(name="x", created_at=moment))
    with db.read() as conn:
        stored = conn.execute(select(lists.c.created_at)).scalar_one()
    assert stored == moment
    assert stored.tzinfo is not None and stored.utcoffset() == dt.timedelta(0)


def test_naive_datetimes_are_refused(db: Database) -> None:
    with pytest.raises(Exception, match="naive"), db.write() as conn:
        conn.execute(insert(lists).values(name="x", created_at=dt.datetime(2026, 1, 1)))


def test_plain_postgresql_urls_use_psycopg() -> None:
    assert normalise_url("postgresql://u@h/d") == "postgresql+psycopg://u@h/d"
    assert normalise_url("sqlite:///x.db") == "sqlite:///x.db"


def test_a_writer_that_will_not_wait_is_told_another_thread_is_writing(db: Database) -> None:
    """On SQLite the send loop's marks must not queue behind a thread's write (send/hand_offs)."""
    writing, done = threading.Event(), threading.Event()

    def long_write() -> None:
        with db.write():
            writing.set()
            done.wait(5)

    thread = threading.Thread(target=long_write)
    thread.start()
    try:
        assert writing.wait(5)
        if db.is_sqlite:
            with pytest.raises(WriterBusy), db.write(wait=False):
                pass
        else:  # a server takes writers side by side
            with db.write(wait=False) as conn:
                assert conn.execute(select(1)).scalar() == 1
    finally:
        done.set()
        thread.join()
    with db.write(wait=False) as conn:
        assert conn.execute(select(1)).scalar() == 1
