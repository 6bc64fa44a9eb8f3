"""evidence holds JPEG as well as PNG: its column is the image, whatever the format

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 05:40:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("evidence", schema=None) as batch_op:
        batch_op.alter_column("png", new_column_name="image")


def downgrade() -> None:
    with op.batch_alter_table("evidence", schema=None) as batch_op:
        batch_op.alter_column("image", new_column_name="png")
