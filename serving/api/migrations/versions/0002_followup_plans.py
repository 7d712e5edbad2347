"""Follow-up plans (GPDS), in the access log's database.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "followup_plans",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("pupil_id", sa.String(32), nullable=False),
        sa.Column("school_id", sa.String(16), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("owner", sa.String(40), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("review_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("outcome", sa.String(40), nullable=True),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(200), nullable=False),
    )
    op.create_index("ix_followup_plans_pupil_id", "followup_plans", ["pupil_id"])
    op.create_index("ix_followup_plans_school_id", "followup_plans", ["school_id"])


def downgrade() -> None:
    op.drop_index("ix_followup_plans_school_id", table_name="followup_plans")
    op.drop_index("ix_followup_plans_pupil_id", table_name="followup_plans")
    op.drop_table("followup_plans")
