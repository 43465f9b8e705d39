"""The checked value types of the API's parameters and bodies, and the context dependency.

Every value reaches a database column, so it is refused (422) here when a column could not
hold it: text with NUL or lone surrogates (PostgreSQL refuses both), ids beyond 64 bits,
times that leave the calendar once in UTC, time zones that are not IANA names.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from typing import Annotated, Any
from zoneinfo import available_timezones

from fastapi import Depends, Path, Query
from pydantic import AfterValidator

from mailcast.context import Context
from mailcast.web.requests import context_of

MAX_ID = 2**63 - 1
MAX_INT = 2**31 - 1
MAX_PAGE = 1000


def _storable(value: str) -> str:
    if "\x00" in value:
        raise ValueError("text cannot contain the NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("text must be valid Unicode (no lone surrogates)") from None
    return value


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("cannot be blank")
    return value


def _one_line(value: str) -> str:
    if "\r" in value or "\n" in value:
        raise ValueError("a header value cannot contain a line break")
    return value


def _in_range(value: dt.datetime) -> dt.datetime:
    """A moment a calendar can hold in any zone; with an offset, given back in UTC."""
    if not 1900 <= value.year <= 9998:
        raise ValueError("the year must be between 1900 and 9998")
    return value if value.tzinfo is None else value.astimezone(dt.UTC)


def _aware(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        raise ValueError("the moment needs a time zone offset (e.g. 2026-01-05T09:00:00Z)")
    return value


@cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def _known_zone(name: str) -> str:
    # Checked against the list, not by opening the name: a directory or a path is no zone.
    if name not in _zones():
        raise ValueError(f"unknown time zone {name!r}: give an IANA name such as Europe/Paris")
    return name


Text = Annotated[str, AfterValidator(_storable)]
HeaderText = Annotated[Text, AfterValidator(_one_line)]
NonBlank = Annotated[Text, AfterValidator(_not_blank)]
# A moment with an offset, in UTC; `LocalTime` may leave the offset out (a wall-clock time).
UtcTime = Annotated[dt.datetime, AfterValidator(_aware), AfterValidator(_in_range)]
LocalTime = Annotated[dt.datetime, AfterValidator(_in_range)]
TimeZone = Annotated[str, AfterValidator(_known_zone)]


Ctx = Annotated[Context, Depends(context_of)]
PathId = Annotated[int, Path(ge=1, le=MAX_ID, description="The id.")]
After = Annotated[
    int, Query(ge=0, le=MAX_ID, description="The `next` of the previous page; 0 for the first.")
]
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE, description="Items per page.")]


def any_of(description: str = "Repeat for several; none: all.") -> Any:
    """A repeatable query parameter filtering on any of its values (none given: no filter)."""
    return Query(default_factory=list, description=description)
