"""CSV exports of a delivery's logs and reports, streamed a page at a time (role `read_logs`).

Each page is read in its own short transaction, so that a long export never holds one open.
Cells are escaped against spreadsheet formulas (csv_value), as the API's sending-log CSV is.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from sqlalchemy import Connection, RowMapping

from mailcast.context import Context
from mailcast.domain import Action, EventKind, MessageStatus
from mailcast.store import deliveries as delivery_store
from mailcast.store import logs as log_store
from mailcast.store import reports as store
from mailcast.store.deliveries import NotFound
from mailcast.users.service import User, authorize

PAGE = 1000
# A spreadsheet runs a cell that starts with one of these as a formula (OWASP CSV injection):
# addresses, URLs and SMTP replies come from outside, so such a cell is written after a quote.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

_READER_COLUMNS = (
    "id",
    "address",
    "opens",
    "machine_opens",
    "first_opened_at",
    "last_opened_at",
    "clicks",
    "machine_clicks",
    "first_clicked_at",
    "last_clicked_at",
)
_EVENT_COLUMNS = ("id", "at", "kind", "message_id", "address", "machine", "repeats", "url")
_TRACKING = (EventKind.OPENED, EventKind.CLICKED, EventKind.UNSUBSCRIBED, EventKind.COMPLAINED)
_OPT_OUTS = (EventKind.UNSUBSCRIBED, EventKind.COMPLAINED)

# A page of rows after an id: (connection, delivery, after id, people only) -> rows.
Pager = Callable[[Connection, int, int, bool], list[RowMapping]]


def _events(kinds: Sequence[str], machine: bool | None = None) -> Pager:
    def pager(conn: Connection, delivery_id: int, after: int, _people: bool) -> list[RowMapping]:
        return store.event_log_page(
            conn, delivery_id, kinds, machine=machine, after=after, limit=PAGE
        )

    return pager


def _readers(kind: EventKind) -> Pager:
    def pager(conn: Connection, delivery_id: int, after: int, people: bool) -> list[RowMapping]:
        return store.readers_page(
            conn, delivery_id, kind, people_only=people, after=after, limit=PAGE
        )

    return pager


def _link_clickers(url: str) -> Pager:
    def pager(conn: Connection, delivery_id: int, after: int, people: bool) -> list[RowMapping]:
        return store.link_clickers_page(
            conn, delivery_id, url, people_only=people, after=after, limit=PAGE
        )

    return pager


def _sending(statuses: Sequence[str]) -> Pager:
    def pager(conn: Connection, delivery_id: int, after: int, _people: bool) -> list[RowMapping]:
        return log_store.sending_log_page(
            conn, delivery_id, statuses=statuses, after=after, limit=PAGE
        )

    return pager


def _exclusions(conn: Connection, delivery_id: int, after: int, _people: bool) -> list[RowMapping]:
    return log_store.exclusion_page(conn, delivery_id, after=after, limit=PAGE)


# Every export by name: its columns and how its pages are read.
EXPORTS: dict[str, tuple[Sequence[str], Pager]] = {
    "sending": (log_store.SENDING_LOG_COLUMNS, _sending(())),
    "exclusions": (("id", "address", "reason", "detail", "created_at"), _exclusions),
    "tracking": (_EVENT_COLUMNS, _events(_TRACKING)),
    "tracking-people": (_EVENT_COLUMNS, _events(_TRACKING, machine=False)),
    "tracking-machines": (_EVENT_COLUMNS, _events(_TRACKING, machine=True)),
    "clicked": (_READER_COLUMNS, _readers(EventKind.CLICKED)),
    "opened": (_READER_COLUMNS, _readers(EventKind.OPENED)),
    "bounces": (log_store.SENDING_LOG_COLUMNS, _sending((MessageStatus.FAILED,))),
    "opt-outs": (_EVENT_COLUMNS, _events(_OPT_OUTS)),
}


class UnknownExport(NotFound):
    def __init__(self, name: str) -> None:
        super().__init__(f"no export named {name!r}; there are: {', '.join(EXPORTS)}")


def export_csv(
    ctx: Context, user: User, delivery_id: int, name: str, link: str | None = None
) -> Iterator[str]:
    """The export's CSV text, header first; refused (PermissionDenied, NotFound) before any.

    `link` narrows "clicked" to who clicked that link (with its own clicks, `link_clicks`).
    """
    authorize(user, Action.READ_LOGS)
    if name not in EXPORTS:
        raise UnknownExport(name)
    with ctx.db.read() as conn:
        delivery_store.get_delivery(conn, delivery_id)  # NotFound before the first line
    columns, pager = EXPORTS[name]
    if name == "clicked" and link is not None:
        columns, pager = (*columns, "link_clicks"), _link_clickers(link)
    people = ctx.settings.tracking.exclude_machine_events
    return _lines(ctx, delivery_id, columns, pager, people)


def _lines(
    ctx: Context, delivery_id: int, columns: Sequence[str], pager: Pager, people: bool
) -> Iterator[str]:
    yield csv_chunk([columns])
    after = 0
    while True:
        with ctx.db.read() as conn:
            rows = pager(conn, delivery_id, after, people)
        if rows:
            yield csv_chunk([[_cell(row, name) for name in columns] for row in rows])
            after = int(rows[-1]["id"])
        if len(rows) < PAGE:
            return


def _cell(row: RowMapping, name: str) -> Any:
    value = (row["detail"] or {}).get("url") if name == "url" else row[name]
    return "" if value is None else csv_value(value)


def csv_value(value: Any) -> Any:
    """A cell as written: times in ISO 8601, a formula-like text quoted as text."""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value  # shown as the text it is, never run as a formula
    return value


def csv_chunk(rows: Sequence[Sequence[Any]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue()


def links_csv(links: Sequence[Any]) -> str:
    """The clicks-per-link report (stats.reports.LinkRow) as CSV text."""
    rows = [[csv_value(x.url), x.unique_clicks, x.total_clicks, x.rate] for x in links]
    return csv_chunk([("url", "unique_clicks", "total_clicks", "rate_pct"), *rows])
