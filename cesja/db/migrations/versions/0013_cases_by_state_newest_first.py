"""cases listed by state, newest first, from one index

Revision ID: 0013
Revises: 0011
Create Date: 2026-12-05 10:40:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_cases_state_created_at", "cases", ["state", "created_at"], unique=False)
    op.drop_index("ix_cases_state", table_name="cases")


def downgrade() -> None:
    op.create_index("ix_cases_state", "cases", ["state"], unique=False)
    op.drop_index("ix_cases_state_created_at", table_name="cases")
