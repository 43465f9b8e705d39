"""The demo's timeline: Deployment KPIs as compressed time passes, and the checks at the end."""

from __future__ import annotations

import datetime as dt
import itertools
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import Connection, RowMapping

from mailcast.context import Context
from mailcast.domain import DeliveryState, FailureType, MessageStatus
from mailcast.sandbox.dsn import Notice
from mailcast.sandbox.player import SentNotice
from mailcast.stats.deployment import Deployment
from mailcast.store import counters as counter_store
from mailcast.store import messages as message_store

PAGE = 1000


@dataclass(frozen=True)
class Row:
    """The Deployment block at one moment, and the DSNs the sandbox had sent by then."""

    at: dt.timedelta  # since the hand-off ended
    state: DeliveryState
    to_deliver: int
    processed: int
    sent: int
    failed: int
    pending: int
    delivered_pct: float
    bounces_pct: float
    notices: Counter[Notice] = field(default_factory=Counter)


def row(d: Deployment, at: dt.timedelta, notices: Counter[Notice]) -> Row:
    c = d.counts
    return Row(
        at=at,
        state=d.state,
        to_deliver=c.to_deliver,
        processed=c.processed,
        sent=c.sent,
        failed=c.failed,
        pending=c.pending,
        delivered_pct=d.kpis.delivered_pct,
        bounces_pct=d.kpis.bounces_pct,
        notices=notices,
    )


def worth_showing(rows: list[Row], every: int = 4) -> bool:
    """The newest row differs from the one before, or `every` rows went by unchanged."""
    if len(rows) < 2:
        return True
    unchanged = 0
    for before, after in itertools.pairwise(reversed(rows)):
        if _figures(before) != _figures(after):
            break
        unchanged += 1
    return unchanged == 0 or unchanged % every == 0


def _figures(r: Row) -> tuple[object, ...]:
    return (r.state, r.processed, r.sent, r.failed, r.pending, dict(r.notices))


def header() -> str:
    return (
        "   time  state      processed   delivered   bounces + errors   awaiting"
        "   DSNs: delivered · delayed · failed"
    )


def line(r: Row) -> str:
    hours, rest = divmod(int(r.at.total_seconds()) // 60, 60)
    n = r.notices
    return (
        f"{f'+{hours}h{rest:02d}':>7}  {r.state.value:<9} {r.processed:>6,}/{r.to_deliver:<6,}"
        f"{r.delivered_pct:>8.2f} %{r.bounces_pct:>15.2f} %{r.pending:>11,}"
        f"   {n[Notice.DELIVERED]:>9,} · {n[Notice.DELAYED]:>7,} · {n[Notice.FAILED]:>6,}"
    )


@dataclass(frozen=True)
class Check:
    label: str
    ok: bool


def checks(
    ctx: Context, delivery_id: int, final: Deployment, notices: list[SentNotice], efs: bool
) -> list[Check]:
    """Do the numbers add up: counters against the log, the log against what the MTA said."""
    with ctx.db.read() as conn:
        recount = counter_store.recount_statuses(conn, delivery_id)
        log = _whole_log(conn, delivery_id)
    c = final.counts
    live = {
        MessageStatus.QUEUED: c.queued,
        MessageStatus.PENDING: c.pending,
        MessageStatus.SENT: c.sent,
        MessageStatus.FAILED: c.failed,
        MessageStatus.NOT_SENT: c.not_sent,
    }
    hard_in_log = {_key(r) for r in log if _hard_failure(r)}
    bounced = {s.recipient.casefold() for s in notices if _final_failure(s)}
    found = [
        Check(
            f"live counters = the sending log recounted ({c.sent:,} sent, {c.failed:,} failed, "
            f"{c.pending:,} awaiting)",
            live == recount,
        ),
        Check(
            f"processed {c.processed:,} = sent {c.sent:,} + failed {c.failed:,} + awaiting "
            f"{c.pending:,}; to deliver {c.to_deliver:,} = processed + {c.queued + c.not_sent:,} "
            "never sent",
            c.processed == c.sent + c.failed + c.pending
            and c.to_deliver == c.processed + c.queued + c.not_sent,
        ),
        Check(
            f"hard bounces in the log ({len(hard_in_log):,}) = recipients the MTA bounced "
            f"for good ({len(bounced):,})",
            hard_in_log == bounced,
        ),
    ]
    if efs:
        sent_in_log = {_key(r) for r in log if r["status"] == MessageStatus.SENT}
        delivered = {s.recipient.casefold() for s in notices if _success(s)}
        found.append(
            Check(
                f"sent in the log ({len(sent_in_log):,}) = recipients with a success DSN "
                f"({len(delivered):,})",
                sent_in_log == delivered,
            )
        )
    return found


def _whole_log(conn: Connection, delivery_id: int) -> list[RowMapping]:
    rows: list[RowMapping] = []
    while True:
        after = rows[-1]["id"] if rows else 0
        page = message_store.sending_log(conn, delivery_id, after_id=after, limit=PAGE)
        rows += page
        if len(page) < PAGE:
            return rows


def _key(r: RowMapping) -> str:
    return str(r["address"]).casefold()


def _hard_failure(r: RowMapping) -> bool:
    return r["status"] == MessageStatus.FAILED and r["failure_type"] == FailureType.HARD


def _final_failure(s: SentNotice) -> bool:
    return s.notice is Notice.FAILED and s.status.startswith("5") and s.code < 300


def _success(s: SentNotice) -> bool:
    return s.notice is Notice.DELIVERED and s.code < 300
