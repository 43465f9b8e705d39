"""What the deliveries list shows: a search, a state, pages, rates, errors, recurring groups."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import RowMapping

from mailcast.context import Context
from mailcast.domain import DeliveryState, Kpis, ShownState, StatusCounts, kpis
from mailcast.stats.deployment import display_states
from mailcast.store import counters as counter_store
from mailcast.store.delivery_search import (
    DeliverySearch,
    RecurringGroup,
    one_off_page,
    recurring_groups,
    state_counts,
)

PAGE_SIZE = 25
OCCURRENCES_SHOWN = 5  # under each recurring delivery; its own page lists every one


@dataclass(frozen=True)
class Line:
    """One delivery of the list, with its counters and rates (those of its Deployment block)."""

    row: RowMapping
    counts: StatusCounts
    shown: ShownState
    kpis: Kpis

    @property
    def problem(self) -> str | None:
        """Why it stopped or waits: the error reason, or the pause reason while paused."""
        if self.row["error_reason"]:
            return str(self.row["error_reason"])
        if self.row["state"] == DeliveryState.PAUSED and self.row["pause_reason"]:
            return str(self.row["pause_reason"])
        return None


@dataclass(frozen=True)
class Group:
    """A recurring delivery and its latest occurrences that match the search."""

    id: int
    name: str
    active: bool
    lines: list[Line]
    matching: int

    @property
    def more(self) -> int:
        return self.matching - len(self.lines)


@dataclass(frozen=True)
class Listing:
    search: DeliverySearch
    groups: list[Group]  # on the first page only: they stand above the one-off deliveries
    lines: list[Line]
    counts: dict[DeliveryState, int]  # by state, for the state filter
    before: int | None  # this page's keyset (None: the newest)
    next_before: int | None  # the next page's; None on the last one

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def listing(ctx: Context, search: DeliverySearch, before: int | None = None) -> Listing:
    with ctx.db.read() as conn:
        # One more than shown: whether an older page exists, without an empty last page.
        rows = one_off_page(conn, search, before, PAGE_SIZE + 1)
        more, rows = len(rows) > PAGE_SIZE, rows[:PAGE_SIZE]
        found = recurring_groups(conn, search, OCCURRENCES_SHOWN) if before is None else []
        counts = state_counts(conn, search.text)
        every = [*rows, *(o for g in found for o in g.occurrences)]
        counters = {row["id"]: counter_store.read_counts(conn, row["id"]) for row in every}
    shown = display_states(ctx, every)

    def lines(of: Sequence[RowMapping]) -> list[Line]:
        return [_line(row, counters[row["id"]], shown[row["id"]]) for row in of]

    return Listing(
        search,
        [_group(group, lines(group.occurrences)) for group in found],
        lines(rows),
        counts,
        before,
        rows[-1]["id"] if more else None,
    )


def _line(row: RowMapping, counts: StatusCounts, shown: ShownState) -> Line:
    return Line(row, counts, shown, kpis(counts))


def _group(group: RecurringGroup, lines: list[Line]) -> Group:
    recurring = group.recurring
    return Group(
        recurring["id"], recurring["name"], bool(recurring["active"]), lines, group.matching
    )
