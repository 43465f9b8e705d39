"""PostgreSQL: a kept report's raw bytes live out of line, so claiming and recording it
rewrite a small row, not the whole message

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 19:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite rewrites a row in place; it has no out-of-line storage to ask for
    # A DSN is about 2 kB: kept inline, each of a report's two updates (its claim, its
    # outcome) copied the message again. Out of line (TOAST), an update copies a pointer,
    # and the room left on each page lets the claim be a heap-only update.
    op.execute("ALTER TABLE inbound_reports ALTER COLUMN raw SET STORAGE EXTERNAL")
    op.execute("ALTER TABLE inbound_reports SET (toast_tuple_target = 128, fillfactor = 80)")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE inbound_reports RESET (toast_tuple_target, fillfactor)")
    op.execute("ALTER TABLE inbound_reports ALTER COLUMN raw SET STORAGE EXTENDED")
