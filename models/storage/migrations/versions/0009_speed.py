"""The report's figures kept beside the stored analyses (drawn once per set of analyses).

Revision ID: 0009_speed
Revises: 0008_follow_up
"""
import sqlalchemy as sa
from alembic import op

revision = "0009_speed"
down_revision = "0008_follow_up"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "report_figures",
        sa.Column("wave_id", sa.Integer, sa.ForeignKey("waves.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("language", sa.String(16), primary_key=True),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("figures", sa.LargeBinary, nullable=False),
    )


def downgrade():
    op.drop_table("report_figures")
