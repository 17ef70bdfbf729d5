"""Vendor totals keep each entity's processes (those it competed in and those it won or awarded) for comparisons.

Revision ID: d81e5b7a3c62
Revises: c4f2a8e1d903
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "d81e5b7a3c62"
down_revision = "c4f2a8e1d903"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("vendor_total") as batch:
        batch.add_column(sa.Column("competed", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("won", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("vendor_total") as batch:
        batch.drop_column("won")
        batch.drop_column("competed")
