"""initial schema

Revision ID: e97a9421fed8
Revises: 
Create Date: 2026-11-26 18:01:26.728635
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import portal.models


revision = 'e97a9421fed8'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('index_queue',
    sa.Column('ocid', sa.String(length=200), nullable=False),
    sa.Column('queued_at', portal.models.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('ocid', name=op.f('pk_index_queue'))
    )
    op.create_table('party',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('publisher', sa.String(length=100), nullable=False),
    sa.Column('key', sa.String(length=400), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('scheme', sa.String(length=100), nullable=True),
    sa.Column('identifier', sa.String(length=200), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_party')),
    sa.UniqueConstraint('publisher', 'key', name=op.f('uq_party_publisher'))
    )
    op.create_table('source',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('location', sa.Text(), nullable=False),
    sa.Column('created_at', portal.models.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_source')),
    sa.UniqueConstraint('name', name=op.f('uq_source_name'))
    )
    op.create_table('ingest_run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source_id', sa.Integer(), nullable=False),
    sa.Column('started_at', portal.models.UTCDateTime(), nullable=False),
    sa.Column('finished_at', portal.models.UTCDateTime(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('files', sa.Integer(), nullable=False),
    sa.Column('releases_seen', sa.Integer(), nullable=False),
    sa.Column('releases_new', sa.Integer(), nullable=False),
    sa.Column('releases_unchanged', sa.Integer(), nullable=False),
    sa.Column('conflicts', sa.Integer(), nullable=False),
    sa.Column('processes_compiled', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('notes', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['source_id'], ['source.id'], name=op.f('fk_ingest_run_source_id_source')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ingest_run'))
    )
    with op.batch_alter_table('ingest_run', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ingest_run_source_id'), ['source_id'], unique=False)

    op.create_table('process',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ocid', sa.String(length=200), nullable=False),
    sa.Column('publisher', sa.String(length=100), nullable=False),
    sa.Column('title', sa.Text(), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('buyer_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=40), nullable=True),
    sa.Column('procurement_method', sa.String(length=40), nullable=True),
    sa.Column('value_amount', sa.Numeric(precision=20, scale=2), nullable=True),
    sa.Column('value_currency', sa.String(length=3), nullable=True),
    sa.Column('value_basis', sa.String(length=40), nullable=True),
    sa.Column('first_date', portal.models.UTCDateTime(), nullable=True),
    sa.Column('last_date', portal.models.UTCDateTime(), nullable=True),
    sa.Column('release_count', sa.Integer(), nullable=False),
    sa.Column('conflict_count', sa.Integer(), nullable=False),
    sa.Column('compiled', sa.Text(), nullable=False),
    sa.Column('compiled_checksum', sa.String(length=64), nullable=False),
    sa.Column('compiled_at', portal.models.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['buyer_id'], ['party.id'], name=op.f('fk_process_buyer_id_party')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_process')),
    sa.UniqueConstraint('ocid', name=op.f('uq_process_ocid'))
    )
    with op.batch_alter_table('process', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_process_buyer_id'), ['buyer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_process_last_date'), ['last_date'], unique=False)
        batch_op.create_index(batch_op.f('ix_process_publisher'), ['publisher'], unique=False)
        batch_op.create_index(batch_op.f('ix_process_value_amount'), ['value_amount'], unique=False)

    op.create_table('amendment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('process_id', sa.Integer(), nullable=False),
    sa.Column('parent', sa.String(length=20), nullable=False),
    sa.Column('parent_id', sa.String(length=200), nullable=True),
    sa.Column('amendment_id', sa.String(length=200), nullable=True),
    sa.Column('date', portal.models.UTCDateTime(), nullable=True),
    sa.Column('rationale', sa.Text(), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['process_id'], ['process.id'], name=op.f('fk_amendment_process_id_process'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_amendment'))
    )
    with op.batch_alter_table('amendment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_amendment_process_id'), ['process_id'], unique=False)

    op.create_table('award',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('process_id', sa.Integer(), nullable=False),
    sa.Column('award_id', sa.String(length=200), nullable=True),
    sa.Column('title', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=40), nullable=True),
    sa.Column('date', portal.models.UTCDateTime(), nullable=True),
    sa.Column('value_amount', sa.Numeric(precision=20, scale=2), nullable=True),
    sa.Column('value_currency', sa.String(length=3), nullable=True),
    sa.ForeignKeyConstraint(['process_id'], ['process.id'], name=op.f('fk_award_process_id_process'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_award'))
    )
    with op.batch_alter_table('award', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_award_process_id'), ['process_id'], unique=False)

    op.create_table('contract',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('process_id', sa.Integer(), nullable=False),
    sa.Column('contract_id', sa.String(length=200), nullable=True),
    sa.Column('award_id', sa.String(length=200), nullable=True),
    sa.Column('title', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=40), nullable=True),
    sa.Column('value_amount', sa.Numeric(precision=20, scale=2), nullable=True),
    sa.Column('value_currency', sa.String(length=3), nullable=True),
    sa.Column('date_signed', portal.models.UTCDateTime(), nullable=True),
    sa.Column('period_start', portal.models.UTCDateTime(), nullable=True),
    sa.Column('period_end', portal.models.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['process_id'], ['process.id'], name=op.f('fk_contract_process_id_process'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contract'))
    )
    with op.batch_alter_table('contract', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contract_process_id'), ['process_id'], unique=False)

    op.create_table('item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('process_id', sa.Integer(), nullable=False),
    sa.Column('parent', sa.String(length=20), nullable=False),
    sa.Column('parent_id', sa.String(length=200), nullable=True),
    sa.Column('item_id', sa.String(length=200), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('classification_scheme', sa.String(length=100), nullable=True),
    sa.Column('classification_id', sa.String(length=100), nullable=True),
    sa.Column('classification_description', sa.Text(), nullable=True),
    sa.Column('quantity', sa.Numeric(precision=20, scale=4), nullable=True),
    sa.Column('unit', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['process_id'], ['process.id'], name=op.f('fk_item_process_id_process'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_item'))
    )
    with op.batch_alter_table('item', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_item_process_id'), ['process_id'], unique=False)

    op.create_table('package',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source_id', sa.Integer(), nullable=False),
    sa.Column('first_run_id', sa.Integer(), nullable=False),
    sa.Column('location', sa.Text(), nullable=False),
    sa.Column('checksum', sa.String(length=64), nullable=False),
    sa.Column('uri', sa.Text(), nullable=True),
    sa.Column('published_date', sa.String(length=64), nullable=True),
    sa.Column('publisher_name', sa.Text(), nullable=True),
    sa.Column('encoding', sa.String(length=40), nullable=False),
    sa.Column('loaded_at', portal.models.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['first_run_id'], ['ingest_run.id'], name=op.f('fk_package_first_run_id_ingest_run')),
    sa.ForeignKeyConstraint(['source_id'], ['source.id'], name=op.f('fk_package_source_id_source')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_package')),
    sa.UniqueConstraint('source_id', 'location', 'checksum', name=op.f('uq_package_source_id'))
    )
    with op.batch_alter_table('package', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_package_source_id'), ['source_id'], unique=False)

    op.create_table('process_party',
    sa.Column('process_id', sa.Integer(), nullable=False),
    sa.Column('party_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=40), nullable=False),
    sa.ForeignKeyConstraint(['party_id'], ['party.id'], name=op.f('fk_process_party_party_id_party')),
    sa.ForeignKeyConstraint(['process_id'], ['process.id'], name=op.f('fk_process_party_process_id_process'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('process_id', 'party_id', 'role', name=op.f('pk_process_party'))
    )
    with op.batch_alter_table('process_party', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_process_party_party_id'), ['party_id'], unique=False)

    op.create_table('tender',
    sa.Column('process_id', sa.Integer(), nullable=False),
    sa.Column('tender_id', sa.String(length=200), nullable=True),
    sa.Column('title', sa.Text(), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=40), nullable=True),
    sa.Column('procurement_method', sa.String(length=40), nullable=True),
    sa.Column('main_category', sa.String(length=40), nullable=True),
    sa.Column('value_amount', sa.Numeric(precision=20, scale=2), nullable=True),
    sa.Column('value_currency', sa.String(length=3), nullable=True),
    sa.Column('period_start', portal.models.UTCDateTime(), nullable=True),
    sa.Column('period_end', portal.models.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['process_id'], ['process.id'], name=op.f('fk_tender_process_id_process'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('process_id', name=op.f('pk_tender'))
    )
    op.create_table('award_supplier',
    sa.Column('award_id', sa.Integer(), nullable=False),
    sa.Column('party_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['award_id'], ['award.id'], name=op.f('fk_award_supplier_award_id_award'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['party_id'], ['party.id'], name=op.f('fk_award_supplier_party_id_party')),
    sa.PrimaryKeyConstraint('award_id', 'party_id', name=op.f('pk_award_supplier'))
    )
    with op.batch_alter_table('award_supplier', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_award_supplier_party_id'), ['party_id'], unique=False)

    op.create_table('published_record',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ocid', sa.String(length=200), nullable=False),
    sa.Column('checksum', sa.String(length=64), nullable=False),
    sa.Column('package_id', sa.Integer(), nullable=False),
    sa.Column('data', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['package_id'], ['package.id'], name=op.f('fk_published_record_package_id_package')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_published_record')),
    sa.UniqueConstraint('ocid', 'checksum', name=op.f('uq_published_record_ocid'))
    )
    with op.batch_alter_table('published_record', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_published_record_ocid'), ['ocid'], unique=False)

    op.create_table('release',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('ocid', sa.String(length=200), nullable=False),
    sa.Column('release_id', sa.String(length=200), nullable=False),
    sa.Column('checksum', sa.String(length=64), nullable=False),
    sa.Column('package_id', sa.Integer(), nullable=False),
    sa.Column('date', portal.models.UTCDateTime(), nullable=True),
    sa.Column('date_published', sa.String(length=64), nullable=True),
    sa.Column('tag', sa.Text(), nullable=True),
    sa.Column('stages', sa.String(length=200), nullable=False),
    sa.Column('from_record', sa.Boolean(), nullable=False),
    sa.Column('data', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['package_id'], ['package.id'], name=op.f('fk_release_package_id_package')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_release')),
    sa.UniqueConstraint('ocid', 'release_id', 'checksum', name=op.f('uq_release_ocid'))
    )
    with op.batch_alter_table('release', schema=None) as batch_op:
        batch_op.create_index('ix_release_ocid_release_id', ['ocid', 'release_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_release_package_id'), ['package_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('release', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_release_package_id'))
        batch_op.drop_index('ix_release_ocid_release_id')

    op.drop_table('release')
    with op.batch_alter_table('published_record', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_published_record_ocid'))

    op.drop_table('published_record')
    with op.batch_alter_table('award_supplier', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_award_supplier_party_id'))

    op.drop_table('award_supplier')
    op.drop_table('tender')
    with op.batch_alter_table('process_party', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_process_party_party_id'))

    op.drop_table('process_party')
    with op.batch_alter_table('package', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_package_source_id'))

    op.drop_table('package')
    with op.batch_alter_table('item', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_item_process_id'))

    op.drop_table('item')
    with op.batch_alter_table('contract', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contract_process_id'))

    op.drop_table('contract')
    with op.batch_alter_table('award', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_award_process_id'))

    op.drop_table('award')
    with op.batch_alter_table('amendment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_amendment_process_id'))

    op.drop_table('amendment')
    with op.batch_alter_table('process', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_process_value_amount'))
        batch_op.drop_index(batch_op.f('ix_process_publisher'))
        batch_op.drop_index(batch_op.f('ix_process_last_date'))
        batch_op.drop_index(batch_op.f('ix_process_buyer_id'))

    op.drop_table('process')
    with op.batch_alter_table('ingest_run', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ingest_run_source_id'))

    op.drop_table('ingest_run')
    op.drop_table('source')
    op.drop_table('party')
    op.drop_table('index_queue')
