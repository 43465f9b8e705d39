"""Profile import from CSV files: streamed, validated row by row, merged into the profiles.

The file is read with the csv module one row at a time and written in batches, one
transaction per batch, so memory does not grow with the file. An import is therefore not
all-or-nothing: the batches written before a failure stay.

Columns: a header row is required, with an `email` column (header names ignore case,
surrounding spaces, and spaces or hyphens inside: "E-mail" and "First Name" are known).
`first_name` and `last_name` are the name fields; every other column is a custom attribute,
named after its header lower-cased, holding the cell as a string; empty cells are left out.
Columns without a header are ignored. The delimiter is a comma, or a semicolon, tab or `|`
when the header row says so.

Merging: rows with the same address (local part as written, domain lower-cased) end in one
profile, in the file as in the database. Later rows win: their non-empty names replace the
old ones and their attributes are merged into the old ones. Subscription state is never
touched, so an import does not resubscribe anyone.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from email_validator import EmailNotValidError, validate_email

from mailcast.clock import Clock
from mailcast.store import profiles as store
from mailcast.store.db import Database

MAX_ERROR_DETAILS = 1000
NAME_LENGTH = 200  # profiles.first_name / last_name
DELIMITERS = (",", ";", "\t", "|")
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
class RowError:
    line: int  # physical line of the file where the row starts; the header is line 1
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass
class ImportReport:
    rows_read: int = 0
    imported: int = 0  # profiles created
    updated: int = 0  # rows merged into a profile that existed before the import
    duplicates_in_file: int = 0  # rows merged into a profile an earlier row of the file made
    error_count: int = 0
    errors: list[RowError] = field(default_factory=list)  # the first MAX_ERROR_DETAILS

    def add_error(self, line: int, reason: str) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_ERROR_DETAILS:
            self.errors.append(RowError(line, reason))


@dataclass(slots=True)
class ProfileRow:
    email: str
    email_key: str
    first_name: str | None
    last_name: str | None
    attributes: dict[str, str]

    def merge(self, later: ProfileRow) -> None:
        """What the database does on conflict, done first for duplicates inside a batch."""
        self.first_name = later.first_name or self.first_name
        self.last_name = later.last_name or self.last_name
        self.attributes.update(later.attributes)

    def values(self) -> dict[str, Any]:
        return {
            "email": self.email,
            "email_key": self.email_key,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "attributes": self.attributes,
        }


@dataclass(frozen=True, slots=True)
class Columns:
    names: tuple[str | None, ...]  # per cell: email, first_name, last_name, attribute or None

    @property
    def width(self) -> int:
        return len(self.names)


def import_profiles(
    db: Database, path: Path, list_name: str, clock: Clock, batch_size: int = 5000
) -> ImportReport:
    """Import the profiles of a CSV file into `list_name` (created if missing)."""
    report = ImportReport()
    with db.write() as conn:
        list_id = store.ensure_list(conn, list_name, clock.now())
        # Profiles with a higher id were made by this import: how duplicates are told from
        # updates without remembering every address of the file.
        id_watermark = store.max_profile_id(conn)
    batch: dict[str, ProfileRow] = {}
    with _open_rows(path) as rows:
        columns = _read_columns(next(rows, None))
        for line, cells in rows:
            report.rows_read += 1
            parsed = _parse_row(columns, cells)
            if isinstance(parsed, str):
                report.add_error(line, parsed)
                continue
            if parsed.email in batch:
                batch[parsed.email].merge(parsed)
                report.duplicates_in_file += 1
            else:
                batch[parsed.email] = parsed
            if len(batch) >= batch_size:
                _write_batch(db, batch, list_id, id_watermark, clock, report)
                batch = {}
    _write_batch(db, batch, list_id, id_watermark, clock, report)
    return report


def add_profile(
    db: Database,
    clock: Clock,
    email: str | None,
    *,
    first_name: str | None = None,
    last_name: str | None = None,
    attributes: Mapping[str, str] | None = None,
    lists: tuple[str, ...] = (),
) -> int:
    """Add one profile (merged like an imported row) and put it in `lists`; for tests and demos.

    Raises EmailNotValidError for a bad address; `email=None` makes a profile without one.
    """
    attrs = {_column_key(key): str(value) for key, value in (attributes or {}).items()}
    now = clock.now()
    with db.write() as conn:
        if email is None:
            values = {"first_name": first_name, "last_name": last_name, "attributes": attrs}
            profile_id = store.insert_profile(conn, values, now)
        else:
            address, key = normalise_email(email)
            row = ProfileRow(address, key, first_name, last_name, attrs)
            [profile_id] = store.upsert_profiles(conn, [row.values()], now)
        for name in lists:
            store.add_members(conn, store.ensure_list(conn, name, now), [profile_id])
    return profile_id


def normalise_email(address: str) -> tuple[str, str]:
    """(email, email_key) for an address: local part as written + @ + ASCII domain lower-cased,
    and the whole of it case-folded. Raises EmailNotValidError."""
    valid = validate_email(address, check_deliverability=False)
    # The ASCII (IDNA) form is what the MTA needs and makes bücher.de and xn--bcher-kva.de
    # one address; the local part keeps its case, which its own domain may give meaning to.
    email = f"{valid.local_part}@{valid.ascii_domain.lower()}"
    return email, email.casefold()


# --- Reading the file -----------------------------------------------------------------------


# A row as read: the line it starts on, and its cells or why it could not be read.
Row = tuple[int, list[str] | str]


@contextmanager
def _open_rows(path: Path) -> Iterator[Iterator[Row]]:
    """The rows of the file with the line each starts on; blank lines are skipped."""
    # surrogateescape: a row with bytes that are not UTF-8 is reported, not fatal.
    with path.open(encoding="utf-8-sig", errors="surrogateescape", newline="") as file:
        delimiter = _delimiter(file.readline())
        file.seek(0)
        yield _numbered_rows(csv.reader(file, delimiter=delimiter))


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
        if any(_KNOWN_COLUMNS.get(_column_key(cell)) == "email" for cell in cells):
            return delimiter
    return ","


def _read_columns(header: Row | None) -> Columns:
    if header is None:
        raise ImportFailed("the file is empty: a header row with an 'email' column is needed")
    line, cells = header
    if isinstance(cells, str):
        raise ImportFailed(f"line {line}: the header row is {cells}")
    names: list[str | None] = []
    for cell in cells:
        key = _column_key(cell)
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


def _column_key(header: str) -> str:
    return re.sub(r"[\s\-]+", "_", header.strip().lower())


# --- One row --------------------------------------------------------------------------------


def _parse_row(columns: Columns, cells: list[str] | str) -> ProfileRow | str:
    """The profile a row describes, or the reason it cannot be imported."""
    if isinstance(cells, str):
        return cells
    if len(cells) != columns.width:
        return f"expected {columns.width} cells, found {len(cells)}"
    if any(_UNDECODED.search(cell) for cell in cells):
        return "the row is not valid UTF-8 text"
    values: dict[str, str] = {}
    for name, cell in zip(columns.names, cells, strict=True):
        if name is not None and cell.strip():
            values[name] = cell.strip()
    address = values.pop("email", None)
    if address is None:
        return "missing email"
    try:
        email, key = normalise_email(address)
    except EmailNotValidError as exc:
        return f"invalid email {address!r}: {exc}"
    first_name = values.pop("first_name", None)
    last_name = values.pop("last_name", None)
    for label, value in (("first_name", first_name), ("last_name", last_name)):
        if value is not None and len(value) > NAME_LENGTH:
            return f"{label} is longer than {NAME_LENGTH} characters"
    return ProfileRow(email, key, first_name, last_name, values)


# --- Writing a batch ------------------------------------------------------------------------


def _write_batch(
    db: Database,
    batch: dict[str, ProfileRow],
    list_id: int,
    id_watermark: int,
    clock: Clock,
    report: ImportReport,
) -> None:
    if not batch:
        return
    with db.write() as conn:
        existing = store.profile_ids_by_email(conn, list(batch))
        profile_ids = store.upsert_profiles(
            conn, [row.values() for row in batch.values()], clock.now()
        )
        store.add_members(conn, list_id, profile_ids)
    made_here = sum(1 for pid in existing.values() if pid > id_watermark)
    report.duplicates_in_file += made_here
    report.updated += len(existing) - made_here
    report.imported += len(batch) - len(existing)
