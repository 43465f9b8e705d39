"""each delivery says whether it tracks opens and clicks, and whether it needs approval

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04 23:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        for name in ("track_opens", "track_clicks"):
            batch_op.add_column(
                sa.Column(name, sa.Boolean(), server_default=sa.true(), nullable=False)
            )
        batch_op.add_column(sa.Column("approval_required", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        for name in ("approval_required", "track_clicks", "track_opens"):
            batch_op.drop_column(name)
