"""the language the back office speaks to a member of staff in, kept in their session

Revision ID: 0019
Revises: 0017
Create Date: 2026-12-06 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Every session so far was spoken to in Polish.
    with op.batch_alter_table("staff_sessions") as batch_op:
        batch_op.add_column(
            sa.Column("language", sa.String(length=2), nullable=False, server_default="pl")
        )


def downgrade() -> None:
    with op.batch_alter_table("staff_sessions") as batch_op:
        batch_op.drop_column("language")
