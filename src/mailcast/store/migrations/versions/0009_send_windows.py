"""the send rate and quotas are shared by every worker through the database

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 16:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "send_windows",
        sa.Column("name", sa.String(length=20), nullable=False),
        sa.Column(
            "window_index", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("used", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name", "window_index"),
    )


def downgrade() -> None:
    op.drop_table("send_windows")
