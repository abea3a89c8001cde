"""second opinions and overrides

``second_opinion``: a request that someone other than the owner grade a customer (who asked,
who is asked, open / given / cancelled, the grading session it is answered in); at most one
open request per customer and assignee. ``opinion_grade``: what a second opinion gave — a
table of its own, so the grade of record (``grade``, the customer's latest-grade copies)
stays the owner's. ``grade_override``: a manager's letter and/or recommendation over the
model's grade, with a reason, an end date, who set it, and how it ended (expired, replaced,
removed); at most one in force per customer; rows are never deleted (the history).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

from storage.types import UTCDateTime

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = "status = 'open'"
ACTIVE = "ended_at IS NULL"


def _str(n: int) -> sqlmodel.sql.sqltypes.AutoString:
    return sqlmodel.sql.sqltypes.AutoString(length=n)


def upgrade() -> None:
    op.create_table(
        "second_opinion",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("asked_by_id", sa.Integer(), nullable=False),
        sa.Column("assignee_id", sa.Integer(), nullable=False),
        sa.Column("status", _str(16), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("answered_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspace.id"]),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"]),
        sa.ForeignKeyConstraint(["asked_by_id"], ["person.id"]),
        sa.ForeignKeyConstraint(["assignee_id"], ["person.id"]),
        sa.ForeignKeyConstraint(["session_id"], ["grading_session.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_second_opinion_assignee_id", "second_opinion", ["assignee_id"])
    op.create_index("ix_opinion_customer", "second_opinion", ["customer_id", "status"])
    op.create_index("ix_opinion_workspace_status", "second_opinion", ["workspace_id", "status"])
    op.create_index(
        "ux_opinion_open",
        "second_opinion",
        ["customer_id", "assignee_id"],
        unique=True,
        sqlite_where=sa.text(OPEN),
        postgresql_where=sa.text(OPEN),
    )
    op.create_table(
        "opinion_grade",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("opinion_id", sa.Integer(), nullable=False),
        sa.Column("grader_id", sa.Integer(), nullable=True),
        sa.Column("record_grade_id", sa.Integer(), nullable=True),
        sa.Column("cadence", _str(16), nullable=False),
        sa.Column("worksheet_id", _str(40), nullable=False),
        sa.Column("worksheet_version", sa.Integer(), nullable=False),
        sa.Column("total", sa.Float(), nullable=False),
        sa.Column("letter", _str(2), nullable=False),
        sa.Column("recommendation", _str(16), nullable=False),
        sa.Column("profile", _str(24), nullable=True),
        sa.Column("coverage", sa.Float(), nullable=False),
        sa.Column("provisional", sa.Boolean(), nullable=False),
        sa.Column("dimensions", sa.JSON(), nullable=False),
        sa.Column("explanation", sa.JSON(), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspace.id"]),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"]),
        sa.ForeignKeyConstraint(["opinion_id"], ["second_opinion.id"]),
        sa.ForeignKeyConstraint(["grader_id"], ["person.id"]),
        sa.ForeignKeyConstraint(["record_grade_id"], ["grade.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("opinion_id"),
    )
    op.create_index("ix_opinion_grade_customer", "opinion_grade", ["customer_id", "created_at"])
    op.create_table(
        "grade_override",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("letter", _str(2), nullable=True),
        sa.Column("recommendation", _str(16), nullable=True),
        sa.Column("reason", _str(500), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("set_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("ended_at", UTCDateTime(), nullable=True),
        sa.Column("end_reason", _str(16), nullable=True),
        sa.Column("ended_by_id", sa.Integer(), nullable=True),
        sa.Column("warned_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspace.id"]),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"]),
        sa.ForeignKeyConstraint(["set_by_id"], ["person.id"]),
        sa.ForeignKeyConstraint(["ended_by_id"], ["person.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_override_customer", "grade_override", ["customer_id", "created_at"])
    op.create_index("ix_override_expiry", "grade_override", ["ended_at", "expires_at"])
    op.create_index(
        "ux_override_active",
        "grade_override",
        ["customer_id"],
        unique=True,
        sqlite_where=sa.text(ACTIVE),
        postgresql_where=sa.text(ACTIVE),
    )


def downgrade() -> None:
    op.drop_table("grade_override")
    op.drop_table("opinion_grade")
    op.drop_table("second_opinion")
