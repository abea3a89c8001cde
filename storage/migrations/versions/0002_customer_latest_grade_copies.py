"""customer: copies of the latest grade's letter and time

Planning reminders reads every customer of a workspace with its latest grade's letter and
time; keeping copies on the customer (set with the pointer, in the grade's transaction)
turns that join of two large tables into a scan of one.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import storage.types

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('customer') as batch:
        batch.add_column(sa.Column('latest_letter', sqlmodel.sql.sqltypes.AutoString(length=2),
                                   nullable=True))
        batch.add_column(sa.Column('latest_graded_at', storage.types.UTCDateTime(timezone=True),
                                   nullable=True))
    # Copy the values as stored (no conversion): portable correlated sub-queries.
    op.execute("UPDATE customer SET "
               "latest_letter = (SELECT letter FROM grade WHERE grade.id = customer.latest_grade_id), "
               "latest_graded_at = (SELECT created_at FROM grade "
               "WHERE grade.id = customer.latest_grade_id) "
               "WHERE latest_grade_id IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table('customer') as batch:
        batch.drop_column('latest_graded_at')
        batch.drop_column('latest_letter')
