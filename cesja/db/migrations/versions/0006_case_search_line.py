"""a case keeps the folded line it is found by: number, domains, reference, parties' names and
identifiers

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05 08:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from cesja.casework.search import search_line

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("search", sa.Text(), nullable=False, server_default=""))
    # The cases made before: their lines, as the service writes them, from the columns this
    # revision knows (the row as later revisions shape it may not exist yet).
    cases = sa.table(
        "cases",
        sa.column("id", sa.String),
        sa.column("external_ref", sa.String),
        sa.column("domains", sa.JSON),
        sa.column("current_registrant", sa.JSON),
        sa.column("new_registrant", sa.JSON),
        sa.column("search", sa.Text),
    )
    bind = op.get_bind()
    made = bind.execute(
        sa.select(
            cases.c.id,
            cases.c.external_ref,
            cases.c.domains,
            cases.c.current_registrant,
            cases.c.new_registrant,
        )
    ).all()
    for row in made:
        line = search_line(row)
        bind.execute(cases.update().where(cases.c.id == row.id).values(search=line))


def downgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_column("search")
