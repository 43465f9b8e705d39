"""record every relay attempt

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_RESENT = sa.text("resends > 0")


def upgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("relay_attempts", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(sa.Column("resends", sa.Integer(), server_default="0", nullable=False))
    # Every hand-off recorded so far had begun.
    op.execute("UPDATE messages SET relay_attempts = attempts")
    op.create_index(
        "ix_messages_resent",
        "messages",
        ["delivery_id"],
        unique=False,
        sqlite_where=_RESENT,
        postgresql_where=_RESENT,
    )


def downgrade() -> None:
    op.drop_index("ix_messages_resent", table_name="messages")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("resends")
        batch_op.drop_column("relay_attempts")
