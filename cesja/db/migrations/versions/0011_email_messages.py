"""e-mail messages taken in, their attachments, and the message a scan came in

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import cesja.db.types

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "messages",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("message_id_header", sa.String(length=998), nullable=True),
        sa.Column("from_header", sa.Text(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("sender_address", sa.String(length=320), nullable=True),
        sa.Column("sender_key", sa.String(length=320), nullable=True),
        sa.Column("verified", sa.Boolean(), nullable=False),
        sa.Column("how", sa.String(length=32), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=True),
        sa.Column("received_at", cesja.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("sha256"),
        sa.UniqueConstraint("message_id_header", "sender_key"),
    )
    op.create_index(op.f("ix_messages_received_at"), "messages", ["received_at"], unique=False)
    op.create_index(op.f("ix_messages_sender_key"), "messages", ["sender_key"], unique=False)
    op.create_table(
        "message_attachments",
        sa.Column("message_id", sa.String(length=32), nullable=False),
        sa.Column("index", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("scan_id", sa.String(length=32), nullable=True),
        sa.Column("refused_code", sa.String(length=64), nullable=True),
        sa.Column("refused_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["message_id"], ["messages.id"]),
        sa.ForeignKeyConstraint(["scan_id"], ["scans.id"]),
        sa.PrimaryKeyConstraint("message_id", "index"),
    )
    op.create_index(
        op.f("ix_message_attachments_scan_id"), "message_attachments", ["scan_id"], unique=False
    )
    with op.batch_alter_table("scans") as batch:
        batch.add_column(sa.Column("message_id", sa.String(length=32), nullable=True))
        batch.create_index(batch.f("ix_scans_message_id"), ["message_id"], unique=False)
        batch.create_foreign_key("fk_scans_message_id", "messages", ["message_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("scans") as batch:
        batch.drop_constraint("fk_scans_message_id", type_="foreignkey")
        batch.drop_index(batch.f("ix_scans_message_id"))
        batch.drop_column("message_id")
    op.drop_index(op.f("ix_message_attachments_scan_id"), table_name="message_attachments")
    op.drop_table("message_attachments")
    op.drop_index(op.f("ix_messages_sender_key"), table_name="messages")
    op.drop_index(op.f("ix_messages_received_at"), table_name="messages")
    op.drop_table("messages")
