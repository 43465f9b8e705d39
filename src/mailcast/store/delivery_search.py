"""The deliveries list's queries: search, a state, keyset pages, occurrences grouped."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import ColumnElement, Connection, RowMapping, Select, false, func, or_, select

from mailcast.domain import DeliveryState
from mailcast.store.tables import deliveries, recurring_deliveries


@dataclass(frozen=True)
class DeliverySearch:
    """What the list shows: text in the name or subject (or `#id`), one state or all."""

    text: str = ""
    state: DeliveryState | None = None


def one_off_page(
    conn: Connection, search: DeliverySearch, before: int | None, limit: int
) -> list[RowMapping]:
    """Deliveries that are no recurring delivery's occurrence, newest first, ids below `before`."""
    query = _matching(select(deliveries), search).where(deliveries.c.recurring_id.is_(None))
    if before is not None:
        query = query.where(deliveries.c.id < before)
    return list(conn.execute(query.order_by(deliveries.c.id.desc()).limit(limit)).mappings())


@dataclass(frozen=True)
class RecurringGroup:
    recurring: RowMapping  # id, name, active
    occurrences: list[RowMapping]  # the latest matching ones, newest first
    matching: int  # how many of its occurrences match in all


def recurring_groups(conn: Connection, search: DeliverySearch, shown: int) -> list[RecurringGroup]:
    """Each recurring delivery with occurrences that match (or whose own name holds the text)."""
    named = _holds(recurring_deliveries.c.name, search.text)
    in_group = deliveries.c.recurring_id == recurring_deliveries.c.id
    occurrence = _matching(select(deliveries.c.id), search, name_matches=named).where(in_group)
    counted = (
        _matching(select(func.count()), search, name_matches=named)
        .where(in_group)
        .scalar_subquery()
    )
    query = (
        select(
            recurring_deliveries.c.id,
            recurring_deliveries.c.name,
            recurring_deliveries.c.active,
            counted.label("matching"),
        )
        .where(occurrence.exists())
        .order_by(recurring_deliveries.c.name, recurring_deliveries.c.id)
    )
    groups = []
    for row in conn.execute(query).mappings():
        # The group's own name holds the text: each of its occurrences is shown (in the state).
        named_so = search.text.strip().lower() in str(row["name"]).lower()
        latest = (
            _matching(select(deliveries), replace(search, text="") if named_so else search)
            .where(deliveries.c.recurring_id == row["id"])
            .order_by(deliveries.c.id.desc())
            .limit(shown)
        )
        rows = list(conn.execute(latest).mappings())
        groups.append(RecurringGroup(row, rows, int(row["matching"])))
    return groups


def state_counts(conn: Connection, text: str) -> dict[DeliveryState, int]:
    """How many deliveries (occurrences too) of each state hold the text."""
    query = _matching(select(deliveries.c.state, func.count()), DeliverySearch(text)).group_by(
        deliveries.c.state
    )
    return {DeliveryState(state): int(n) for state, n in conn.execute(query)}


# --- Steps ----------------------------------------------------------------------------------


def _matching(
    query: Select[Any],
    search: DeliverySearch,
    *,
    name_matches: ColumnElement[bool] | None = None,
) -> Select[Any]:
    """The query restricted to the search; `name_matches`: an occurrence's recurring's name."""
    if search.state is not None:
        query = query.where(deliveries.c.state == search.state)
    text = search.text.strip()
    if not text:
        return query
    found = [_holds(deliveries.c.name, text), _holds(deliveries.c.subject, text)]
    number = text.removeprefix("#")
    if number.isdigit() and len(number) < 16:
        found.append(deliveries.c.id == int(number))
    if name_matches is not None:
        found.append(name_matches)
    return query.where(or_(*found))


def _holds(column: ColumnElement[str], text: str) -> ColumnElement[bool]:
    """Case-insensitive `text` anywhere in the column (% and _ taken literally)."""
    if not text.strip():
        return false()
    return func.lower(column).contains(text.strip().lower(), autoescape=True)
