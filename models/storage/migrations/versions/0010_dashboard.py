"""Settings per questionnaire (all its versions): the follow-up SLA in hours.

Revision ID: 0010_dashboard
Revises: 0009_speed
"""
import sqlalchemy as sa
from alembic import op

revision = "0010_dashboard"
down_revision = "0009_speed"
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
