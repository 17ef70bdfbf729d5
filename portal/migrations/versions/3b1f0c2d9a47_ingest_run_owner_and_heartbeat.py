"""ingest run owner and heartbeat

Revision ID: 3b1f0c2d9a47
Revises: e97a9421fed8
Create Date: 2026-11-27 10:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import portal.models

revision = "3b1f0c2d9a47"
down_revision = "e97a9421fed8"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ingest_run") as batch:
        batch.add_column(sa.Column("owner", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("heartbeat_at", portal.models.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ingest_run") as batch:
        batch.drop_column("heartbeat_at")
        batch.drop_column("owner")
