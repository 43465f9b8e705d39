"""The demo's timeline: Deployment KPIs as compressed time passes, and the checks at the end."""

from __future__ import annotations

import datetime as dt
import itertools
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import Connection, RowMapping

from mailcast.context import Context
from mailcast.demo.readers import Tally
from mailcast.domain import DeliveryState, FailureType, MessageStatus
from mailcast.sandbox.dsn import Notice
from mailcast.sandbox.player import SentNotice
from mailcast.stats.deployment import Deployment
from mailcast.store import counters as counter_store
from mailcast.store import messages as message_store
from mailcast.store import stats as stats_store

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
    # People's reactions so far, from the live counters (not the shown, refreshed, rates).
    opens: int = 0
    clicks: int = 0
    unsubscribed: int = 0


def row(d: Deployment, at: dt.timedelta, notices: Counter[Notice], tracked: dict[str, int]) -> Row:
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
        opens=tracked["unique_opens"],
        clicks=tracked["unique_clicks"],
        unsubscribed=tracked["unsubscribed"],
    )


def tracked(ctx: Context, delivery_id: int) -> dict[str, int]:
    """The delivery's live counters, opens, clicks and unsubscribes among them."""
    with ctx.db.read() as conn:
        return stats_store.live_counters(conn, delivery_id)


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
    return (r.state, r.processed, r.sent, r.failed, r.pending, dict(r.notices), _people(r))


def _people(r: Row) -> tuple[int, int, int]:
    return (r.opens, r.clicks, r.unsubscribed)


def people_moved(rows: list[Row]) -> bool:
    """The newest row has more opens, clicks or unsubscribes than the one before."""
    before = _people(rows[-2]) if len(rows) > 1 else (0, 0, 0)
    return _people(rows[-1]) != before


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


def people(r: Row) -> str:
    return (
        f"{'':>7}  people: {r.opens:,} opened · {r.clicks:,} clicked a link · "
        f"{r.unsubscribed:,} unsubscribed"
    )


@dataclass(frozen=True)
class Check:
    label: str
    ok: bool


def checks(
    ctx: Context,
    delivery_id: int,
    final: Deployment,
    notices: list[SentNotice],
    efs: bool,
    read: Tally,
) -> list[Check]:
    """Do the numbers add up: counters against the log, the log against what the MTA said,
    and against what the readers did."""
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
    return found + _reader_checks(ctx, delivery_id, final, read)


def _reader_checks(ctx: Context, delivery_id: int, final: Deployment, read: Tally) -> list[Check]:
    """The tracking counters against the readers' own tally; the shown rates refreshed."""
    counters = tracked(ctx, delivery_id)
    opened, clicked, gone = len(read.opened), len(read.clicked), len(read.unsubscribed)
    sent = final.counts.sent
    rates = (_pct(opened, sent), _pct(clicked, sent))
    return [
        Check(
            f"every reader's request was answered ({len(read.refused):,} refused)",
            not read.refused,
        ),
        Check(
            f"unique opens ({counters['unique_opens']:,}) = messages the readers opened "
            f"({opened:,}); unique clicks ({counters['unique_clicks']:,}) = messages they "
            f"clicked in ({clicked:,})",
            (counters["unique_opens"], counters["unique_clicks"]) == (opened, clicked),
        ),
        Check(
            f"unsubscribed ({counters['unsubscribed']:,}) = readers who unsubscribed "
            f"one-click ({gone:,})",
            counters["unsubscribed"] == gone,
        ),
        Check(
            f"open rate {final.kpis.open_rate:.2f} % and click-through rate "
            f"{final.kpis.click_rate:.2f} % shown = {opened:,} and {clicked:,} of {sent:,} "
            "delivered",
            (final.kpis.open_rate, final.kpis.click_rate) == rates,
        ),
    ]


def _pct(part: int, whole: int) -> float:
    return round(100.0 * part / whole, 2) if whole else 0.0


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
