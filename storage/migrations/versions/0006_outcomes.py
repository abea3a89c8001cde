"""outcome: what happened to a customer; customer: its next renewal date

Outcomes (renewed, churned, defaulted or paid late, …) with the day they happened are what
``gradebot calibrate`` checks grades against. One row per customer, kind and day, so the
same fact recorded or imported twice is stored once. ``customer.renewal_on`` is the next
contract renewal, when known, after which the owner is asked what happened.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import storage.types

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'outcome',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('workspace_id', sa.Integer(), nullable=False),
        sa.Column('customer_id', sa.Integer(), nullable=False),
        sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('happened_on', sa.Date(), nullable=False),
        sa.Column('recorded_by_id', sa.Integer(), nullable=True),
        sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
        sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['customer_id'], ['customer.id']),
        sa.ForeignKeyConstraint(['recorded_by_id'], ['person.id']),
        sa.ForeignKeyConstraint(['workspace_id'], ['workspace.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('customer_id', 'kind', 'happened_on'),
    )
    op.create_index('ix_outcome_ws_happened', 'outcome', ['workspace_id', 'happened_on'])
    op.add_column('customer', sa.Column('renewal_on', sa.Date(), nullable=True))


def downgrade() -> None:
    # A plain ALTER on both backends (SQLite has dropped columns since 3.35): batch mode
    # would copy and drop the customer table, which the foreign keys of every session,
    # grade and outcome row refuse.
    op.execute('ALTER TABLE customer DROP COLUMN renewal_on')
    op.drop_index('ix_outcome_ws_happened', table_name='outcome')
    op.drop_table('outcome')
