"""Reading an import file: its delimiter, its header's columns, its rows with their lines.

Each row is decoded on its own: bytes that are not UTF-8 make that row (or the header) a
fault, never the whole file. A header that cannot be read stops the import before anything
is written (ImportFailed); a row that cannot be read is handed on as the reason why.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DELIMITERS = (",", ";", "\t", "|")
# The delimiter is looked for in this much of the first line: a file that is not text may
# have no line break at all.
_HEADER_SNIFF = 1 << 16
# Bytes that are not UTF-8 come through surrogateescape as lone surrogates.
_UNDECODED = re.compile("[\udc80-\udcff]")

_KNOWN_COLUMNS = {
    "email": "email",
    "e_mail": "email",
    "email_address": "email",
    "first_name": "first_name",
    "firstname": "first_name",
    "last_name": "last_name",
    "lastname": "last_name",
}


class ImportFailed(ValueError):
    """The file cannot be imported at all (no header, no email column, ...)."""


@dataclass(frozen=True, slots=True)
class Columns:
    names: tuple[str | None, ...]  # per cell: email, first_name, last_name, attribute or None

    @property
    def width(self) -> int:
        return len(self.names)


# A row as read: the line it starts on, and its cells or why it could not be read.
Row = tuple[int, list[str] | str]


@contextmanager
def open_rows(path: Path) -> Iterator[Iterator[Row]]:
    """The rows of the file with the line each starts on; blank lines are skipped."""
    # surrogateescape: a row with bytes that are not UTF-8 is reported, not fatal.
    with path.open(encoding="utf-8-sig", errors="surrogateescape", newline="") as file:
        delimiter = _delimiter(file.readline(_HEADER_SNIFF))
        file.seek(0)
        yield _numbered_rows(csv.reader(file, delimiter=delimiter))


def read_columns(header: Row | None) -> Columns:
    """The columns the header row names; ImportFailed when it names no usable email column."""
    if header is None:
        raise ImportFailed("the file is empty: a header row with an 'email' column is needed")
    line, cells = header
    if isinstance(cells, str):
        raise ImportFailed(
            f"line {line}: the header row cannot be read, is this a CSV file? ({cells})"
        )
    if not_text(cells):
        raise ImportFailed(
            f"line {line}: the header row is not UTF-8 text: is this a CSV file (saved as UTF-8)?"
        )
    names: list[str | None] = []
    for cell in cells:
        key = column_key(cell)
        name = _KNOWN_COLUMNS.get(key, key) if key else None
        if name is not None and name in names:
            raise ImportFailed(f"line {line}: column '{cell.strip()}' appears twice")
        names.append(name)
    if "email" not in names:
        raise ImportFailed(
            f"line {line}: the header row has no 'email' column (found: "
            + ", ".join(repr(cell) for cell in cells)
            + ")"
        )
    return Columns(tuple(names))


def not_text(cells: list[str]) -> str | None:
    """Why these cells are not text the database can store, or None when they are."""
    if any(_UNDECODED.search(cell) for cell in cells):
        return "the row is not valid UTF-8 text"
    if any("\x00" in cell for cell in cells):
        # PostgreSQL refuses NUL in text; SQLite would keep it: refused on both alike.
        return "the row holds a NUL character"
    return None


def column_key(header: str) -> str:
    return re.sub(r"[\s\-]+", "_", header.strip().lower())


def _numbered_rows(reader: Any) -> Iterator[Row]:
    end_of_previous = 0
    while True:
        try:
            cells: list[str] | str = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            # e.g. a cell over the csv field size limit: the row is reported, reading goes on.
            cells = f"unreadable row: {exc}"
        # line_num counts physical lines read so far, so a row that spans lines (a quoted
        # cell with line breaks) starts just after where the previous row ended.
        start = end_of_previous + 1
        end_of_previous = reader.line_num
        if isinstance(cells, str) or any(cell.strip() for cell in cells):
            yield start, cells


def _delimiter(header_line: str) -> str:
    """The delimiter that makes the header row hold an email column; a comma otherwise."""
    for delimiter in DELIMITERS:
        cells = next(csv.reader([header_line], delimiter=delimiter), [])
        if any(_KNOWN_COLUMNS.get(column_key(cell)) == "email" for cell in cells):
            return delimiter
    return ","
