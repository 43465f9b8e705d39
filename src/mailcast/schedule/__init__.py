"""The scheduler: jobs that come due with time (reports, starts, validity ends, releases)."""

from mailcast.schedule.tick import JOBS, run_due_jobs, run_forever

__all__ = ["JOBS", "run_due_jobs", "run_forever"]
