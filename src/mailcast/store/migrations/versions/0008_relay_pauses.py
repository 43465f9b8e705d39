"""a delivery paused by relay faults says why, and resumes by itself

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pause_reason", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("paused_by", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_column("paused_by")
        batch_op.drop_column("pause_reason")
