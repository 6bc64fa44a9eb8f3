"""the id of the key each case's current form is signed with

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05 11:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Every form printed so far was signed with the one key there was: key 1.
    with op.batch_alter_table("cases") as batch_op:
        batch_op.add_column(
            sa.Column("page_key_id", sa.String(length=1), nullable=False, server_default="1")
        )


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch_op:
        batch_op.drop_column("page_key_id")
