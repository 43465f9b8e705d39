"""Engine creation, transactions and schema upgrades, the same on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, Table, create_engine, event, inspect
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.pool import NullPool

_READ_ONLY = "mailcast_read_only"


def normalise_url(url: str) -> str:
    """Accept plain postgresql:// URLs and use the psycopg 3 driver for them."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Take transaction control from pysqlite so that BEGIN IMMEDIATE is ours to emit.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Writers lock at BEGIN, so two writers never deadlock upgrading a read lock.
        read_only = conn.get_execution_options().get(_READ_ONLY, False)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


class WriterBusy(Exception):
    """Another thread of this process holds SQLite's write lock (`Database.write(wait=False)`)."""


class Schema(StrEnum):
    """Where a database stands against this version's migrations."""

    CURRENT = "current"
    EMPTY = "empty"  # no table at all (or no SQLite file yet): a new database
    FOREIGN = "foreign"  # tables, but no mailcast migration recorded
    BEHIND = "behind"  # an older migration: `mailcast db upgrade` brings it up to date
    AHEAD = "ahead"  # a migration this version does not know: a newer mailcast made it


class Database:
    """One engine per process; `write()` and `read()` open a transaction."""

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = normalise_url(url)
        # A database error's message leaves out the statement's parameters: they are profile
        # data (a CSV import's whole batch), and such messages end in server logs.
        if self.url.startswith("sqlite"):
            self.engine = create_engine(
                self.url,
                connect_args={"check_same_thread": False, "timeout": 30},
                hide_parameters=True,
            )
            _configure_sqlite(self.engine)
        else:
            self.engine = create_engine(
                self.url,
                pool_size=pool_size,
                max_overflow=pool_size,
                pool_pre_ping=True,
                hide_parameters=True,
            )
        self._read_engine = self.engine.execution_options(**{_READ_ONLY: True})
        # SQLite lets one writer in at a time, and one that finds the lock taken sleeps in
        # steps of up to 100 ms before it looks again: the threads of one process (the send
        # loop's marks, its records) queue here instead, and the next goes in at once.
        self._writers = threading.RLock() if self.is_sqlite else None

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def write(self, *, wait: bool = True) -> Iterator[Connection]:
        """A write transaction; with `wait=False`, WriterBusy at once rather than queueing
        behind another thread of this process (SQLite)."""
        if self._writers is not None and not self._writers.acquire(blocking=wait):
            raise WriterBusy
        try:
            with self.engine.begin() as conn:
                yield conn
        finally:
            if self._writers is not None:
                self._writers.release()

    @contextmanager
    def sqlite_write(self, *, wait: bool = True) -> Iterator[Any]:
        """`write()` on SQLite's own connection (a DBAPI cursor), without SQLAlchemy's
        Connection and transaction objects: the bounce receiver's commit for each group."""
        assert self._writers is not None, "SQLite only"
        if not self._writers.acquire(blocking=wait):
            raise WriterBusy
        try:
            connection = self.engine.raw_connection()
            try:
                cursor = connection.cursor()
                cursor.execute("BEGIN IMMEDIATE")
                try:
                    yield cursor
                except BaseException:
                    connection.rollback()
                    raise
                connection.commit()
            finally:
                connection.close()  # back to the pool
        finally:
            self._writers.release()

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self._read_engine.begin() as conn:
            yield conn

    def upgrade(self, revision: str = "head") -> None:
        command.upgrade(alembic_config(self.url), revision)

    def schema(self) -> Schema:
        """Where the schema stands; raises SQLAlchemyError when the database cannot be read."""
        if self._sqlite_file_missing():
            return Schema.EMPTY  # connecting would create the file: leave that to the upgrade
        with self.read() as conn:
            revision = MigrationContext.configure(conn).get_current_revision()
            if revision is None:
                return Schema.FOREIGN if inspect(conn).get_table_names() else Schema.EMPTY
        migrations = _migrations()
        if revision == migrations.get_current_head():
            return Schema.CURRENT
        known = {script.revision for script in migrations.walk_revisions()}
        return Schema.BEHIND if revision in known else Schema.AHEAD

    def _sqlite_file_missing(self) -> bool:
        path = self.engine.url.database
        if not self.is_sqlite or not path or path == ":memory:" or path.startswith("file:"):
            return False  # a server, or SQLite in memory or by URI: nothing to look for
        return not Path(path).exists()

    def dispose(self) -> None:
        self.engine.dispose()


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(resources.files("mailcast.store") / "migrations"))
    config.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    return config


@cache
def _migrations() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config("sqlite://"))


def migration_engine(url: str) -> Engine:
    """A short-lived engine for Alembic, with the same SQLite set-up as the app's."""
    engine = create_engine(normalise_url(url), poolclass=NullPool)
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)
    return engine


def insert_on_conflict(conn: Connection, table: Table) -> Any:
    """The dialect's INSERT, which knows ON CONFLICT on both databases."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)
