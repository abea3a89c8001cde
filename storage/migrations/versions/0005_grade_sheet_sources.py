"""grade: where its answers came from, the good that carries it, provisional

A grade covers the whole worksheet: a pulse's answers are merged with answers carried from
earlier gradings. ``sources`` records how many answers the grading itself gave and, per
carried question, when and in which grading it was answered (the next pulse carries it on
with its own date); ``carrier`` is the good the grade
rests on; ``provisional`` marks a letter given with part of the worksheet answered. Grades
saved before this revision were never merged; those below full coverage are marked
provisional, as they would be now.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('grade') as batch:
        batch.add_column(sa.Column('sources', sa.JSON(), nullable=True))
        batch.add_column(sa.Column('carrier', sqlmodel.sql.sqltypes.AutoString(length=24),
                                   nullable=True))
        batch.add_column(sa.Column('provisional', sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
    op.execute(sa.text("UPDATE grade SET provisional = :t WHERE coverage < 0.999")
               .bindparams(t=True))


def downgrade() -> None:
    with op.batch_alter_table('grade') as batch:
        batch.drop_column('provisional')
        batch.drop_column('carrier')
        batch.drop_column('sources')
