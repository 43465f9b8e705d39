"""How the bounce receiver keeps messages from its event loop: one commit per group.

A hop to a thread and back for every group cost the receiver more than the commit itself.
On SQLite the commit runs on the loop (it takes tens of microseconds; a write lock held by
another thread of this process sends it to a thread instead). On PostgreSQL the receiver
has an asyncio connection of its own, so the loop waits for the server without blocking,
and a group is one statement that commits by itself.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

import psycopg

from mailcast.context import Context
from mailcast.feedback import inbound
from mailcast.store import inbound as store
from mailcast.store.db import WriterBusy

log = logging.getLogger(__name__)


class Keeper(Protocol):
    async def keep(self, messages: list[store.Arrived]) -> list[int]:
        """Keep messages durably, in one commit (done when this returns); their report ids."""
        ...

    async def close(self) -> None: ...


def keeper_for(ctx: Context) -> Keeper:
    return SqliteKeeper(ctx) if ctx.db.is_sqlite else PostgresKeeper(ctx)


class SqliteKeeper:
    """On the loop, unless another thread of this process is writing (then on a thread)."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def keep(self, messages: list[store.Arrived]) -> list[int]:
        db = self.ctx.db
        try:
            with db.sqlite_write(wait=False) as cursor:
                return store.insert_reports_sqlite(cursor, db.engine.dialect, messages)
        except WriterBusy:
            return await asyncio.to_thread(inbound.keep_reports, self.ctx, messages)

    async def close(self) -> None:
        pass


class PostgresKeeper:
    """One connection, opened at the first message and again after it breaks."""

    def __init__(self, ctx: Context) -> None:
        url = ctx.db.engine.url.set(drivername="postgresql")
        self.conninfo = url.render_as_string(hide_password=False)
        self._conn: psycopg.AsyncConnection | None = None

    async def keep(self, messages: list[store.Arrived]) -> list[int]:
        try:
            return await self._keep(messages)
        except psycopg.OperationalError:
            if self._conn is None or not self._conn.broken:
                raise
            # A connection the server dropped (a restart, an idle timeout): one more try on
            # a new one. Had the commit gone through, the message is kept twice, and a
            # report is applied once however often it is kept.
            log.warning("the receiver's database connection broke; connecting again")
            await self.close()
            return await self._keep(messages)

    async def _keep(self, messages: list[store.Arrived]) -> list[int]:
        if self._conn is None or self._conn.closed:
            self._conn = await psycopg.AsyncConnection.connect(
                self.conninfo, autocommit=True, application_name="mailcast bounce receiver"
            )
        return await store.insert_reports_async(self._conn, messages)

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            await conn.close()
