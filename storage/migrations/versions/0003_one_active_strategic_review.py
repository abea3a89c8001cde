"""grading_session: at most one active strategic review per rep

A strategic review has no customer, and NULLs are distinct in a unique index, so
``ux_session_active`` (person_id, customer_id) never saw two active reviews of one rep: two
clicks or two replicas starting a review at once could both insert one. A second partial
unique index, on person_id alone where customer_id IS NULL, lets the database refuse it.

A database may already hold such duplicates, and the index cannot be built over them, so
they are resolved first: per rep, the newest active review (highest id — the one the bot
offers to resume) stays active and the others become 'expired', exactly what idle expiry
does, so their decisions stay attached and the rep can still find them; the version is
bumped so that a copy read before the upgrade cannot move them any more.

Downgrade drops the index only: expired reviews stay expired (nothing says which were
active before, and the app treats them like any other idle review).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""
import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTIVE = "status IN ('open', 'review', 'paused')"
STRATEGIC_ACTIVE = f"customer_id IS NULL AND {ACTIVE}"

log = logging.getLogger("alembic.runtime.migration")


def upgrade() -> None:
    # Portable SQL (SQLite and PostgreSQL): expire every active customer-less session that has
    # a newer active one of the same rep. The newest never matches, whatever order the rows
    # are visited in, so each rep keeps exactly one.
    resolve = sa.text(
        "UPDATE grading_session SET status = 'expired', version = version + 1 "
        f"WHERE {STRATEGIC_ACTIVE} AND EXISTS (SELECT 1 FROM grading_session AS newer "
        "WHERE newer.person_id = grading_session.person_id AND newer.customer_id IS NULL "
        "AND newer.status IN ('open', 'review', 'paused') "
        "AND newer.id > grading_session.id)")
    if context.is_offline_mode():  # `alembic upgrade --sql`: no connection to count with
        op.execute(resolve)
    else:
        expired = op.get_bind().execute(resolve).rowcount
        if expired:
            log.info("Expired %d duplicate active strategic review(s); each rep keeps the "
                     "newest.", expired)
    with op.batch_alter_table('grading_session', schema=None) as batch_op:
        batch_op.create_index('ux_session_strategic_active', ['person_id'], unique=True,
                              sqlite_where=sa.text(STRATEGIC_ACTIVE),
                              postgresql_where=sa.text(STRATEGIC_ACTIVE))


def downgrade() -> None:
    with op.batch_alter_table('grading_session', schema=None) as batch_op:
        batch_op.drop_index('ux_session_strategic_active',
                            sqlite_where=sa.text(STRATEGIC_ACTIVE),
                            postgresql_where=sa.text(STRATEGIC_ACTIVE))
