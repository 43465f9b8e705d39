"""inbound reports are claimed by the consumer that applies them

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 22:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from mailcast.store.types import UTCDateTime

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("inbound_reports", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claimed_until", UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("inbound_reports", schema=None) as batch_op:
        batch_op.drop_column("claimed_until")
