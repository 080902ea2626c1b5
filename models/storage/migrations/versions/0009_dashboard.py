"""Settings per questionnaire (all its versions): the follow-up SLA in hours.

Revision ID: 0009_dashboard
Revises: 0008_follow_up
"""
import sqlalchemy as sa
from alembic import op

revision = "0009_dashboard"
down_revision = "0008_follow_up"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "survey_settings",
        sa.Column("questionnaire_id", sa.String(64), primary_key=True),
        sa.Column("follow_up_sla_hours", sa.Float),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(64)),
    )


def downgrade():
    op.drop_table("survey_settings")
