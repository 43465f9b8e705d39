"""the send windows of relays and domain groups have longer names

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("send_windows", schema=None) as batch_op:
        batch_op.alter_column(
            "name", existing_type=sa.String(length=20), type_=sa.String(length=200)
        )


def downgrade() -> None:
    op.execute("DELETE FROM send_windows WHERE length(name) > 20")
    with op.batch_alter_table("send_windows", schema=None) as batch_op:
        batch_op.alter_column(
            "name", existing_type=sa.String(length=200), type_=sa.String(length=20)
        )
