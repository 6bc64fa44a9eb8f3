"""audit events say how they are chained: plain sha256 before the audit key, HMAC since

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 11:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Every event already written was chained with plain sha256: the default marks them so.
    with op.batch_alter_table("events") as batch:
        batch.add_column(
            sa.Column("chain", sa.String(length=16), nullable=False, server_default="sha256")
        )


def downgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.drop_column("chain")
