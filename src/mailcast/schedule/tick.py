"""The scheduler's tick: every job that is due now, run once; and a loop that ticks.

`mailcast serve` ticks every `web.tick_seconds`; each job is safe to run from several
processes at once, and a job that fails is logged and does not stop the others.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from mailcast.context import Context
from mailcast.feedback import consumer, quarantine
from mailcast.recurring.occurrences import run_due_occurrences
from mailcast.schedule.starts import start_due_deliveries
from mailcast.schedule.validity import end_validity
from mailcast.stats.rates import refresh_due_rates

log = logging.getLogger(__name__)

Job = Callable[[Context], dict[str, int]]


def _retry_reports(ctx: Context) -> dict[str, int]:
    # Where a receiver's consumer runs this finds little: reports kept while none ran, and
    # those left waiting for a message that was on the wire.
    return {"reports_retried": consumer.drain(ctx)}


def _start_scheduled(ctx: Context) -> dict[str, int]:
    return {"deliveries_started": start_due_deliveries(ctx)}


def _end_validity(ctx: Context) -> dict[str, int]:
    ended = end_validity(ctx)
    return {
        "deliveries_finished": ended.finished,
        "retries_failed": ended.failed,
        "messages_not_sent": ended.not_sent,
    }


def _release_addresses(ctx: Context) -> dict[str, int]:
    with ctx.db.write() as conn:
        released = quarantine.release_due(conn, ctx.clock.now(), ctx.settings.quarantine.policy)
    return {"addresses_released": released}


def _refresh_rates(ctx: Context) -> dict[str, int]:
    return {"rates_refreshed": refresh_due_rates(ctx)}


# In this order: reports applied late first, so the end of validity sees their outcome.
JOBS: dict[str, Job] = {
    "reports": _retry_reports,
    "scheduled": _start_scheduled,
    "validity": _end_validity,
    "quarantine": _release_addresses,
    "rates": _refresh_rates,
    "recurring": run_due_occurrences,
}


def run_due_jobs(ctx: Context) -> dict[str, int]:
    """Run every job once; what each did, by name (a failed job counts under "errors")."""
    done: dict[str, int] = {"errors": 0}
    for name, job in JOBS.items():
        try:
            done.update(job(ctx))
        except Exception:
            log.exception("scheduled job %r failed", name)
            done["errors"] += 1
    return done


def run_forever(ctx: Context, interval: float, stop: threading.Event) -> None:
    """Tick every `interval` seconds until `stop` is set."""
    while not stop.is_set():
        run_due_jobs(ctx)
        stop.wait(interval)
