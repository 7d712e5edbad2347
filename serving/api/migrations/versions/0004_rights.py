"""The rights of pupils and the oversight of staff (issue 26): the objection register (GDPR art.
21), staff judgements on flags and the stop switch (AI Act art. 14), in the access log's database.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "objections",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("pupil_id", sa.String(32), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(200), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("withdrawn_by", sa.String(200), nullable=True),
    )
    standing = sa.text("withdrawn_at IS NULL")
    op.create_index("ux_objections_standing", "objections", ["pupil_id"], unique=True,
                    sqlite_where=standing, postgresql_where=standing)  # fmt: skip
    op.create_table(
        "judgements",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("pupil_id", sa.String(32), nullable=False),
        sa.Column("school_id", sa.String(16), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("model_version", sa.String(64), nullable=False),
        sa.Column("tier", sa.String(8), nullable=False),
        sa.Column("verdict", sa.String(32), nullable=False),
        sa.Column("reason", sa.String(32), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(200), nullable=False),
    )
    op.create_index("ix_judgements_pupil_id", "judgements", ["pupil_id"])
    op.create_index("ix_judgements_school_as_of", "judgements", ["school_id", "as_of"])
    op.create_table(
        "suspensions",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("scope", sa.String(16), nullable=False),  # a school's UAI, or '*' for everywhere
        sa.Column("reason", sa.String(40), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_by", sa.String(200), nullable=False),
        sa.Column("lifted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lifted_by", sa.String(200), nullable=True),
    )
    active = sa.text("lifted_at IS NULL")
    op.create_index("ux_suspensions_active", "suspensions", ["scope"], unique=True,
                    sqlite_where=active, postgresql_where=active)  # fmt: skip


def downgrade() -> None:
    op.drop_index("ux_suspensions_active", table_name="suspensions")
    op.drop_table("suspensions")
    op.drop_index("ix_judgements_school_as_of", table_name="judgements")
    op.drop_index("ix_judgements_pupil_id", table_name="judgements")
    op.drop_table("judgements")
    op.drop_index("ux_objections_standing", table_name="objections")
    op.drop_table("objections")
