"""Scale-out on PostgreSQL: the journal records which instance wrote each intent (so the others can settle
the unknown outcomes of one that died) and a token of the write; shared rate limits get their table.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("order_journal") as batch:
        batch.add_column(sa.Column("owner_key", sa.Integer))
        batch.add_column(sa.Column("intent_token", sa.String(32)))
    op.create_table(
        "rate_limits",
        sa.Column("scope", sa.String(200), primary_key=True),
        sa.Column("tat", sa.Double(), nullable=False),
        sa.Column("cooldown_until", sa.Double(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("rate_limits")
    with op.batch_alter_table("order_journal") as batch:
        batch.drop_column("intent_token")
        batch.drop_column("owner_key")
