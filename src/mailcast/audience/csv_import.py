"""Profile import from CSV files: streamed, validated row by row, merged into the profiles.

The file is read with the csv module one row at a time and written in batches, one
transaction per batch, so memory does not grow with the file. A row that cannot be imported
(not UTF-8, a NUL character, a bad address, a value the database refuses) is reported with
its line and the others are kept: a batch the database refuses is written again row by row,
each in a savepoint, so only the refused rows are left out. Reasons never go to the logs.

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

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import Connection
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError

from mailcast.audience.csv_file import (
    Columns,
    ImportFailed,
    column_key,
    not_text,
    open_rows,
    read_columns,
)
from mailcast.clock import Clock
from mailcast.store import profiles as store
from mailcast.store.db import Database

MAX_ERROR_DETAILS = 1000
NAME_LENGTH = 200  # profiles.first_name / last_name
# What the database may refuse in one row: the batch is then written again row by row.
_REFUSALS = (DataError, IntegrityError)


@dataclass(frozen=True, slots=True)
class RowError:
    line: int  # physical line of the file where the row starts; the header is line 1
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass
class Tally:
    imported: int = 0  # profiles created
    updated: int = 0  # rows merged into a profile that existed before the import
    duplicates_in_file: int = 0  # rows merged into a profile an earlier row of the file made

    def add(self, other: Tally) -> None:
        self.imported += other.imported
        self.updated += other.updated
        self.duplicates_in_file += other.duplicates_in_file


@dataclass
class ImportReport(Tally):
    rows_read: int = 0
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
    line: int = 0  # where the row starts in the file

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
class Destination:
    list_id: int
    # Profiles with a higher id were made by this import: how duplicates are told from
    # updates without remembering every address of the file.
    id_watermark: int


def import_profiles(
    db: Database, path: Path, list_name: str, clock: Clock, batch_size: int = 5000
) -> ImportReport:
    """Import the profiles of a CSV file into `list_name` (created if missing)."""
    report = ImportReport()
    with open_rows(path) as rows:
        columns = read_columns(next(rows, None))
        destination = _destination(db, list_name, clock)
        batch: list[ProfileRow] = []
        for line, cells in rows:
            report.rows_read += 1
            parsed = _parse_row(columns, line, cells)
            if isinstance(parsed, str):
                report.add_error(line, parsed)
                continue
            batch.append(parsed)
            if len(batch) >= batch_size:
                _write_batch(db, batch, destination, clock, report)
                batch = []
    _write_batch(db, batch, destination, clock, report)
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
    attrs = {column_key(key): str(value) for key, value in (attributes or {}).items()}
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


def _destination(db: Database, list_name: str, clock: Clock) -> Destination:
    try:
        with db.write() as conn:
            list_id = store.ensure_list(conn, list_name, clock.now())
            return Destination(list_id, store.max_profile_id(conn))
    except ValueError as exc:
        raise ImportFailed(str(exc)) from None


# --- One row --------------------------------------------------------------------------------


def _parse_row(columns: Columns, line: int, cells: list[str] | str) -> ProfileRow | str:
    """The profile a row describes, or the reason it cannot be imported."""
    if isinstance(cells, str):
        return cells
    if len(cells) != columns.width:
        return f"expected {columns.width} cells, found {len(cells)}"
    fault = not_text(cells)
    if fault is not None:
        return fault
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
    return ProfileRow(email, key, first_name, last_name, values, line)


# --- Writing a batch ------------------------------------------------------------------------


def _write_batch(
    db: Database,
    batch: list[ProfileRow],
    destination: Destination,
    clock: Clock,
    report: ImportReport,
) -> None:
    """One transaction for the batch; row by row when the database refuses some row of it."""
    if not batch:
        return
    try:
        with db.write() as conn:
            tally = _upsert(conn, batch, destination, clock)
    except _REFUSALS:
        tally = _write_row_by_row(db, batch, destination, clock, report)
    report.add(tally)


def _write_row_by_row(
    db: Database,
    batch: list[ProfileRow],
    destination: Destination,
    clock: Clock,
    report: ImportReport,
) -> Tally:
    tally, refused = Tally(), []
    with db.write() as conn:
        for row in batch:
            try:
                with conn.begin_nested():
                    written = _upsert(conn, [row], destination, clock)
            except _REFUSALS as exc:
                refused.append(RowError(row.line, _refusal(exc)))
            else:
                tally.add(written)
    for error in refused:  # reported once the rows kept are committed
        report.add_error(error.line, error.reason)
    return tally


def _upsert(
    conn: Connection, rows: list[ProfileRow], destination: Destination, clock: Clock
) -> Tally:
    merged = _merged(rows)
    existing = store.profile_ids_by_email(conn, list(merged))
    profile_ids = store.upsert_profiles(
        conn, [row.values() for row in merged.values()], clock.now()
    )
    store.add_members(conn, destination.list_id, profile_ids)
    made_here = sum(1 for pid in existing.values() if pid > destination.id_watermark)
    return Tally(
        imported=len(merged) - len(existing),
        updated=len(existing) - made_here,
        duplicates_in_file=len(rows) - len(merged) + made_here,
    )


def _merged(rows: list[ProfileRow]) -> dict[str, ProfileRow]:
    """The rows by address, later rows merged into earlier ones (the rows stay as read)."""
    merged: dict[str, ProfileRow] = {}
    for row in rows:
        if row.email in merged:
            merged[row.email].merge(row)
        else:
            merged[row.email] = replace(row, attributes=dict(row.attributes))
    return merged


def _refusal(exc: DBAPIError) -> str:
    """The database's reason, without the statement or its parameters (other rows' data)."""
    diagnostic = getattr(exc.orig, "diag", None)
    message = getattr(diagnostic, "message_primary", None) or str(exc.orig).strip()
    return f"the database refused the row: {message.splitlines()[0] if message else 'error'}"
