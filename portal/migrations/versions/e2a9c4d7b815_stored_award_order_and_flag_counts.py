"""Vendor totals keep each entity's awards in page order; the data set's red-flag figures and each entity's
flag counts are kept for their pages.

Revision ID: e2a9c4d7b815
Revises: d81e5b7a3c62
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from portal.models import UTCDateTime

revision = "e2a9c4d7b815"
down_revision = "d81e5b7a3c62"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("vendor_total") as batch:
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
