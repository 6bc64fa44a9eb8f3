"""a job given up says when; worker processes anywhere record a heartbeat

Jobs given up before this migration are not marked (a done job with an error may also have
succeeded at a later attempt): only those given up from now on are listed and counted.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05 06:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import cesja.db_types

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("given_up_at", cesja.db_types.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_index(batch_op.f("ix_jobs_given_up_at"), ["given_up_at"], unique=False)

    op.create_table(
        "worker_heartbeats",
        sa.Column("worker", sa.String(length=128), nullable=False),
        sa.Column("started_at", cesja.db_types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("seen_at", cesja.db_types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("worker"),
    )
    with op.batch_alter_table("worker_heartbeats", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_worker_heartbeats_seen_at"), ["seen_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("worker_heartbeats", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_worker_heartbeats_seen_at"))
    op.drop_table("worker_heartbeats")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_jobs_given_up_at"))
        batch_op.drop_column("given_up_at")
