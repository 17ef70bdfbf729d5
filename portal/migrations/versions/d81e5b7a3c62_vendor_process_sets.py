"""Vendor totals keep each entity's processes (competed in, won) and its awards in page order; red-flag figures of the data set and of
each entity are kept for their pages.

Revision ID: d81e5b7a3c62
Revises: c4f2a8e1d903
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from portal.models import UTCDateTime

revision = "d81e5b7a3c62"
down_revision = "c4f2a8e1d903"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("vendor_total") as batch:
        batch.add_column(sa.Column("competed", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("won", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("awards", sa.LargeBinary(), nullable=True))
    op.create_table(
        "flag_summary",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("processes", sa.Integer(), nullable=False),
        sa.Column("fired", sa.JSON(), nullable=False),
        sa.Column("transparency", sa.Float(), nullable=True),
        sa.Column("computed_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flag_summary")),
    )
    op.create_table(
        "vendor_flag_total",
        sa.Column("vendor_id", sa.Integer(), nullable=False),
        sa.Column("parties", sa.String(length=64), nullable=False),
        sa.Column("summary_at", UTCDateTime(), nullable=False),
        sa.Column("processes", sa.Integer(), nullable=False),
        sa.Column("flagged", sa.Integer(), nullable=False),
        sa.Column("codes", sa.JSON(), nullable=False),
        sa.Column("transparency", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(["vendor_id"], ["vendor.id"], name=op.f("fk_vendor_flag_total_vendor_id_vendor")),
        sa.PrimaryKeyConstraint("vendor_id", name=op.f("pk_vendor_flag_total")),
    )


def downgrade() -> None:
    op.drop_table("vendor_flag_total")
    op.drop_table("flag_summary")
    with op.batch_alter_table("vendor_total") as batch:
        batch.drop_column("awards")
        batch.drop_column("won")
        batch.drop_column("competed")
