"""Initial schema: surveys, waves, invitations, responses, answers.

Revision ID: 0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "surveys",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("questionnaire_id", sa.String(64), nullable=False, index=True),
        sa.Column("version", sa.String(32), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("content", sa.JSON, nullable=False),
        sa.Column("title", sa.String(500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("questionnaire_id", "content_hash", name="uq_survey_content"),
    )
    op.create_table(
        "waves",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("questionnaire_id", sa.String(64), nullable=False, index=True),
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("survey_id", sa.Integer, sa.ForeignKey("surveys.id"), nullable=False),
        sa.Column("opens_at", sa.DateTime(timezone=True)),
        sa.Column("closes_at", sa.DateTime(timezone=True)),
        sa.Column("closed", sa.Boolean, nullable=False),
        sa.UniqueConstraint("questionnaire_id", "name", name="uq_wave_name"),
    )
    op.create_table(
        "invitations",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("wave_id", sa.Integer, sa.ForeignKey("waves.id"), nullable=False, index=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("attributes", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True)),
    )
    op.create_table(
        "responses",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("survey_id", sa.Integer, sa.ForeignKey("surveys.id"), nullable=False),
        sa.Column("wave_id", sa.Integer, sa.ForeignKey("waves.id"), nullable=False),
        sa.Column("invitation_id", sa.Integer, sa.ForeignKey("invitations.id"), unique=True),
        sa.Column("respondent_key", sa.String(64), unique=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("language", sa.String(16), nullable=False),
        sa.Column("current_page", sa.Integer, nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_responses_wave_status", "responses", ["wave_id", "status"])
    op.create_table(
        "answers",
        sa.Column("response_id", sa.Integer, sa.ForeignKey("responses.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("question_id", sa.String(64), primary_key=True),
        sa.Column("value_num", sa.Float),
        sa.Column("value_text", sa.Text),
    )


def downgrade():
    for table in ("answers", "responses", "invitations", "waves", "surveys"):
        op.drop_table(table)
