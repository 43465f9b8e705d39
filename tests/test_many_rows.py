"""A batch of rows written in one statement reads back as written, on both databases."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from mailcast.store.db import Database
from mailcast.store.many_rows import insert_rows, update_rows
from mailcast.store.tables import inbound_reports

AT = dt.datetime(2026, 12, 5, 10, 0, tzinfo=dt.UTC)


def _report(n: int, **given: object) -> dict[str, object]:
    return {
        "received_at": AT + dt.timedelta(seconds=n),
        "mail_from": f"mx{n}@example.net",
        "recipients": [f"b-{n}@bounces.example", 'it\'s "quoted" {and, braced}'],
        "peer": None if n % 2 else "127.0.0.1",
        "size": n,
        "raw": bytes([n % 256, 0, 255]) + b'\\{"}',
        "outcome": "received",
    } | given


def _stored(db: Database) -> list[dict[str, object]]:
    with db.read() as conn:
        rows = conn.execute(select(inbound_reports).order_by(inbound_reports.c.id)).mappings()
        return [dict(row) for row in rows]


def test_inserted_rows_come_back_as_given_in_the_batch_order(db: Database) -> None:
    batch = [_report(n) for n in range(1, 40)]
    with db.write() as conn:
        insert_rows(conn, inbound_reports, batch)
    stored = _stored(db)
    assert [row["mail_from"] for row in stored] == [row["mail_from"] for row in batch]
    for row, given in zip(stored, batch, strict=True):
        assert {name: row[name] for name in given} == given
        assert row["applied"] == 0  # the table's default for a column the batch leaves out


def test_rows_not_all_alike_are_inserted_too(db: Database) -> None:
    with db.write() as conn:
        insert_rows(conn, inbound_reports, [_report(1), _report(2, kind="dsn")])
    assert [row["kind"] for row in _stored(db)] == [None, "dsn"]


def test_each_row_gets_its_values_and_only_rows_meeting_the_condition_change(
    db: Database,
) -> None:
    with db.write() as conn:
        insert_rows(conn, inbound_reports, [_report(n) for n in range(1, 5)])
    first, second, third, fourth = (row["id"] for row in _stored(db))
    with db.write() as conn:
        update_rows(
            conn,
            inbound_reports,
            ["outcome"],
            [{"id": third, "outcome": "applied"}],
            same={"processed_at": AT},
        )
    changes = [
        {"id": first, "kind": "dsn", "error": None, "applied": 2},
        {"id": second, "kind": "arf", "error": 'it\'s "bad"', "applied": 0},
        {"id": third, "kind": "dsn", "error": None, "applied": 1},
    ]
    later = AT + dt.timedelta(hours=1)
    with db.write() as conn:
        update_rows(
            conn,
            inbound_reports,
            ["kind", "error", "applied"],
            changes,
            same={"processed_at": later, "claimed_until": None},
            only_where={"outcome": "received"},
        )
    stored = {row["id"]: row for row in _stored(db)}
    assert [stored[first][c] for c in ("kind", "error", "applied", "processed_at")] == [
        "dsn",
        None,
        2,
        later,
    ]
    assert [stored[second][c] for c in ("kind", "error", "applied")] == ["arf", 'it\'s "bad"', 0]
    # Already applied: the condition leaves it as it was; and a row not in the batch too.
    assert (stored[third]["kind"], stored[third]["processed_at"]) == (None, AT)
    assert stored[fourth]["processed_at"] is None


def test_a_row_given_twice_ends_with_its_last_values(db: Database) -> None:
    with db.write() as conn:
        insert_rows(conn, inbound_reports, [_report(n) for n in range(1, 301)])
    ids = [row["id"] for row in _stored(db)]
    twice = [{"id": i, "kind": "first"} for i in ids] + [{"id": i, "kind": "last"} for i in ids]
    with db.write() as conn:
        update_rows(conn, inbound_reports, ["kind"], twice, same={})
    assert {r["kind"] for r in _stored(db)} == {"last"}
