"""customer: look-up keys without zero-width joiners

``normalize_name`` now drops U+200C and U+200D (allowed in names for emoji and some scripts,
but invisible), so that "Ac\\u200dme" and "Acme" are one customer. Keys stored before kept
them: this rewrites those keys the new way, so exact look-ups still find them.

Where the rewritten key is already another customer's in the same workspace (two customers
that look identical — the reason for the change), the row keeps its old key and is logged:
an admin decides which to keep (archive one, or rename it). Nothing else changes, and no
table is altered; downgrade leaves the keys as they are (old code still finds every
customer by prefix and close spelling).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""
import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JOINERS = ("\u200c", "\u200d")
log = logging.getLogger("alembic.runtime.migration")


def _without_joiners(key: str) -> str:
    for j in JOINERS:
        key = key.replace(j, "")
    return " ".join(key.split())


def upgrade() -> None:
    if context.is_offline_mode():  # `alembic upgrade --sql`: rows cannot be read
        log.warning("0004: offline mode: customer keys containing joiners are not rewritten")
        return
    bind = op.get_bind()
    customer = sa.table("customer", sa.column("id", sa.Integer),
                        sa.column("workspace_id", sa.Integer),
                        sa.column("normalized_name", sa.String))
    rows = bind.execute(sa.select(customer.c.id, customer.c.workspace_id,
                                  customer.c.normalized_name)
                        .where(sa.or_(*(customer.c.normalized_name.contains(j)
                                        for j in JOINERS)))).all()
    kept = 0
    for cid, ws, key in rows:
        new = _without_joiners(key)
        taken = bind.execute(sa.select(customer.c.id).where(
            customer.c.workspace_id == ws, customer.c.normalized_name == new)).first()
        if taken is not None or not new:
            kept += 1
            log.warning("0004: customer %s keeps its key: another customer (%s) of workspace %s "
                        "has the same name without joiners", cid, taken and taken[0], ws)
            continue
        bind.execute(sa.update(customer).where(customer.c.id == cid)
                     .values(normalized_name=new))
    if rows:
        log.info("0004: rewrote %d customer key(s) without joiners (%d kept)",
                 len(rows) - kept, kept)


def downgrade() -> None:
    pass
