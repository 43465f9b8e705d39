"""The receiver's promise when the database fails: a 451 for what it could not keep, never a 250."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import aiosmtplib
import pytest
from sqlalchemy import insert, select, text

from bounce_mail import hand_over
from mailcast.context import Context
from mailcast.feedback.keeping import keeper_for
from mailcast.feedback.receiver import BounceReceiver
from mailcast.store.inbound import Arrived, arrived_values
from mailcast.store.tables import inbound_reports

_SQLITE_REFUSES = """CREATE TRIGGER refuse_reports BEFORE INSERT ON inbound_reports
BEGIN SELECT RAISE(ABORT, 'no space left for reports'); END"""
_POSTGRES_REFUSES = [
    """CREATE FUNCTION refuse_reports() RETURNS trigger LANGUAGE plpgsql AS
    $$ BEGIN RAISE EXCEPTION 'no space left for reports'; END $$""",
    """CREATE TRIGGER refuse_reports BEFORE INSERT ON inbound_reports
    FOR EACH ROW EXECUTE FUNCTION refuse_reports()""",
]


@pytest.fixture
def refusing(ctx: Context) -> Iterator[None]:
    """The database refuses every new report until the block ends."""
    statements = [_SQLITE_REFUSES] if ctx.db.is_sqlite else _POSTGRES_REFUSES
    with ctx.db.write() as conn:
        for statement in statements:
            conn.execute(text(statement))
    try:
        yield
    finally:
        _accept_again(ctx)


def _accept_again(ctx: Context) -> None:
    with ctx.db.write() as conn:
        if ctx.db.is_sqlite:
            conn.execute(text("DROP TRIGGER IF EXISTS refuse_reports"))
        else:
            conn.execute(text("DROP TRIGGER IF EXISTS refuse_reports ON inbound_reports"))
            conn.execute(text("DROP FUNCTION IF EXISTS refuse_reports()"))


def _kept(ctx: Context) -> list[bytes]:
    with ctx.db.read() as conn:
        query = select(inbound_reports.c.raw).order_by(inbound_reports.c.id)
        return [bytes(raw) for raw in conn.execute(query).scalars()]


def _note(n: int) -> bytes:
    return f"Subject: note {n}\r\n\r\nhello\r\n".encode()


def test_a_message_the_database_refuses_gets_451_and_the_next_is_kept(
    ctx: Context, refusing: None
) -> None:
    postmaster = [f"postmaster@{ctx.settings.bounce_domain}"]
    with BounceReceiver(ctx, port=0) as receiver:
        with pytest.raises(aiosmtplib.SMTPResponseException) as refused:
            hand_over(receiver.port, _note(1), postmaster)
        assert refused.value.code == 451  # the sending MTA keeps it and tries again
        _accept_again(ctx)
        reply = hand_over(receiver, _note(2), postmaster)
    assert "kept as report" in reply
    assert _kept(ctx) == [_note(2)]


def test_the_receiver_connects_again_when_the_server_drops_its_connection(ctx: Context) -> None:
    if ctx.db.is_sqlite:
        pytest.skip("PostgreSQL only: SQLite has no server to drop a connection")
    postmaster = [f"postmaster@{ctx.settings.bounce_domain}"]
    with BounceReceiver(ctx, port=0) as receiver:
        hand_over(receiver, _note(1), postmaster)
        with ctx.db.write() as conn:
            dropped = conn.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                    " WHERE application_name = 'mailcast bounce receiver'"
                )
            ).scalar_one()
        assert dropped == 1
        hand_over(receiver, _note(2), postmaster)
    assert _kept(ctx) == [_note(1), _note(2)]


@pytest.mark.parametrize(
    "at",
    [
        dt.datetime(2026, 12, 5, 9, 0, tzinfo=dt.UTC),
        dt.datetime(2026, 12, 5, 11, 0, 0, 5, tzinfo=dt.timezone(dt.timedelta(hours=2))),
    ],
)
def test_the_receivers_own_statement_keeps_a_report_as_the_table_definition_does(
    ctx: Context, at: dt.datetime
) -> None:
    arrived = Arrived(
        raw=b"Subject: x\r\n\r\n\x00\xff",
        mail_from="",
        recipients=["ü@bücher.example"],
        peer="::1",
        received_at=at,
    )
    keeper = keeper_for(ctx)

    async def keep() -> list[int]:
        try:
            return await keeper.keep([arrived, arrived])
        finally:
            await keeper.close()

    kept = asyncio.run(keep())
    with ctx.db.write() as conn:
        core = (
            insert(inbound_reports).values(arrived_values(arrived)).returning(inbound_reports.c.id)
        )
        reference = conn.execute(core).scalar_one()
    with ctx.db.read() as conn:
        rows = conn.execute(select(inbound_reports).order_by(inbound_reports.c.id)).mappings()
        by_id = {row["id"]: {k: v for k, v in row.items() if k != "id"} for row in rows}
    assert len(kept) == 2 and kept[0] < kept[1] < reference
    assert by_id[kept[0]] == by_id[kept[1]] == by_id[reference]
    assert by_id[reference]["received_at"] == at
    # What the database holds, not only what SQLAlchemy reads back: the consumer's queries
    # compare these columns in SQL.
    with ctx.db.read() as conn:
        stored = text("SELECT received_at, recipients, outcome FROM inbound_reports ORDER BY id")
        texts = [tuple(str(v) for v in row) for row in conn.execute(stored)]
    assert texts[0] == texts[1] == texts[2]


def test_a_write_held_by_another_thread_delays_the_reply_but_not_the_receiver(
    ctx: Context,
) -> None:
    if not ctx.db.is_sqlite:
        pytest.skip("SQLite only: its writers queue in this process")
    postmaster = [f"postmaster@{ctx.settings.bounce_domain}"]
    with BounceReceiver(ctx, port=0) as receiver, ThreadPoolExecutor(1) as pool:
        with ctx.db.write():  # another thread of the process holds the write lock
            sending = pool.submit(hand_over, receiver.port, _note(1), postmaster)
            deadline = time.monotonic() + 30
            while receiver.keeping.pending == 0:
                assert time.monotonic() < deadline, "the message never reached the keeper"
                time.sleep(0.01)
            # The receiver still answers others while that message waits for the lock.
            assert _ehlo_code(receiver.port) == 250
            assert not sending.done()
        assert "kept as report" in sending.result(timeout=30)
    assert _kept(ctx) == [_note(1)]


def _ehlo_code(port: int) -> int:
    async def ehlo() -> int:
        async with aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=30) as smtp:
            return (await smtp.ehlo()).code

    return asyncio.run(ehlo())
