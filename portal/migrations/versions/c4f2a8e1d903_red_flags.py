"""Red flags: fired indicators with their evidence, coverage per process, data-set fences.

Revision ID: c4f2a8e1d903
Revises: afd7d84d9f15
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from portal.models import UTCDateTime

revision = "c4f2a8e1d903"
down_revision = "afd7d84d9f15"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "flag_result",
        sa.Column("process_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("computed_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["process_id"], ["process.id"], name=op.f("fk_flag_result_process_id_process"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("process_id", "code", name=op.f("pk_flag_result")),
    )
    op.create_index(op.f("ix_flag_result_code"), "flag_result", ["code"], unique=False)
    op.create_table(
        "flag_coverage",
        sa.Column("process_id", sa.Integer(), nullable=False),
        sa.Column("outcomes", sa.Text(), nullable=False),
        sa.Column("transparency", sa.Float(), nullable=True),
        sa.Column("computed_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["process_id"], ["process.id"], name=op.f("fk_flag_coverage_process_id_process"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("process_id", name=op.f("pk_flag_coverage")),
    )
    op.create_table(
        "flag_fence",
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("computed_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("code", "name", name=op.f("pk_flag_fence")),
    )


def downgrade() -> None:
    op.drop_table("flag_fence")
    op.drop_table("flag_coverage")
    op.drop_index(op.f("ix_flag_result_code"), table_name="flag_result")
    op.drop_table("flag_result")
