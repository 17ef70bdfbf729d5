"""vendor review settled by an official; vendor party renamed since resolved

Revision ID: 5d2e8a61c0f3
Revises: c50a8dd6901a
Create Date: 2026-11-27 13:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import portal.models


revision = '5d2e8a61c0f3'
down_revision = "c50a8dd6901a"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('vendor_review', sa.Column('settled_by', sa.Text(), nullable=True))
    op.add_column('vendor_review', sa.Column('settled_at', portal.models.UTCDateTime(timezone=True), nullable=True))
    op.add_column('vendor_review', sa.Column('decision_id', sa.Integer(), nullable=True))
    op.add_column('vendor_party', sa.Column('renamed', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('vendor_party') as batch:
        batch.drop_column('renamed')
    with op.batch_alter_table('vendor_review') as batch:
        batch.drop_column('decision_id')
        batch.drop_column('settled_at')
        batch.drop_column('settled_by')
