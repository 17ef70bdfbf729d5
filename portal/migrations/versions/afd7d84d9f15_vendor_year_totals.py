"""vendor year totals

Revision ID: afd7d84d9f15
Revises: 5d2e8a61c0f3
Create Date: 2026-11-27 13:35:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import portal.models


revision = 'afd7d84d9f15'
down_revision = "5d2e8a61c0f3"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('vendor_total',
    sa.Column('vendor_id', sa.Integer(), nullable=False),
    sa.Column('parties', sa.String(length=64), nullable=False),
    sa.Column('figures', sa.JSON(), nullable=False),
    sa.Column('refreshed_at', portal.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['vendor_id'], ['vendor.id'], name=op.f('fk_vendor_total_vendor_id_vendor')),
    sa.PrimaryKeyConstraint('vendor_id', name=op.f('pk_vendor_total'))
    )
    op.create_table('vendor_year_total',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('vendor_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=True),
    sa.Column('currency', sa.Text(), nullable=False),
    sa.Column('awarded_units', sa.BigInteger(), nullable=False),
    sa.Column('contracted_units', sa.BigInteger(), nullable=False),
    sa.Column('awards', sa.Integer(), nullable=False),
    sa.Column('per_win_units', sa.BigInteger(), nullable=False),
    sa.Column('value_increases', sa.Integer(), nullable=False),
    sa.Column('increase_units', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['vendor_id'], ['vendor.id'], name=op.f('fk_vendor_year_total_vendor_id_vendor')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vendor_year_total'))
    )
    with op.batch_alter_table('vendor_year_total', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_vendor_year_total_vendor_id'), ['vendor_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('vendor_year_total', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_vendor_year_total_vendor_id'))
    op.drop_table('vendor_year_total')
    op.drop_table('vendor_total')
