"""Releases are indexed by (ocid, package) in place of (ocid, release id): the unique (ocid, release id,
checksum) already answers lookups by ocid and release id, and a page of results, or a chunk of an export, reads
its processes' packages (their sources' terms) by ocid, which this index answers without reading the table.

Revision ID: f3b8d1e6c924
Revises: e2a9c4d7b815
"""

from __future__ import annotations

from alembic import op

revision = "f3b8d1e6c924"
down_revision = "e2a9c4d7b815"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("release") as batch:
        batch.drop_index("ix_release_ocid_release_id")
        batch.create_index("ix_release_ocid_package_id", ["ocid", "package_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("release") as batch:
        batch.drop_index("ix_release_ocid_package_id")
        batch.create_index("ix_release_ocid_release_id", ["ocid", "release_id"], unique=False)
