"""staff sessions the server keeps and can end; a customer link per party, found by the
token's hash, and the files parties send through their links

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 12:00:00.000000
"""

import hashlib
import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import cesja.db.types

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "staff_sessions",
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("created_at", cesja.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", cesja.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("digest"),
    )
    op.create_index(op.f("ix_staff_sessions_actor"), "staff_sessions", ["actor"], unique=False)
    op.create_index(
        op.f("ix_staff_sessions_expires_at"), "staff_sessions", ["expires_at"], unique=False
    )

    links = op.create_table(
        "customer_links",
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("case_id", sa.String(length=16), nullable=False),
        sa.Column("party", sa.String(length=32), nullable=True),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.PrimaryKeyConstraint("digest"),
    )
    op.create_index(op.f("ix_customer_links_case_id"), "customer_links", ["case_id"], unique=False)
    # Every case made before has its own link as it was, and gets one link per party.
    cases = op.get_bind().execute(sa.text("SELECT id, customer_token FROM cases")).all()
    rows = []
    for case_id, case_token in cases:
        tokens = {
            None: case_token,
            "current_registrant": secrets.token_urlsafe(24),
            "new_registrant": secrets.token_urlsafe(24),
        }
        for party, token in tokens.items():
            digest = hashlib.sha256(token.encode()).hexdigest()
            rows.append({"digest": digest, "case_id": case_id, "party": party, "token": token})
    if rows:
        op.bulk_insert(links, rows)
    op.create_table(
        "customer_uploads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.String(length=16), nullable=False),
        sa.Column("party", sa.String(length=32), nullable=True),
        sa.Column("scan_id", sa.String(length=32), nullable=False),
        sa.Column("at", cesja.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.ForeignKeyConstraint(["scan_id"], ["scans.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_customer_uploads_case_id"), "customer_uploads", ["case_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_customer_uploads_case_id"), table_name="customer_uploads")
    op.drop_table("customer_uploads")
    op.drop_index(op.f("ix_customer_links_case_id"), table_name="customer_links")
    op.drop_table("customer_links")
    op.drop_index(op.f("ix_staff_sessions_expires_at"), table_name="staff_sessions")
    op.drop_index(op.f("ix_staff_sessions_actor"), table_name="staff_sessions")
    op.drop_table("staff_sessions")
