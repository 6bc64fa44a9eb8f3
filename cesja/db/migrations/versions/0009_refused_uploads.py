"""files an intake caller sent that were not taken, and why

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 11:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import cesja.db.types

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "refused_uploads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("received_at", cesja.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("sender", sa.String(length=320), nullable=True),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("http_status", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_refused_uploads_received_at"), "refused_uploads", ["received_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_refused_uploads_received_at"), table_name="refused_uploads")
    op.drop_table("refused_uploads")
