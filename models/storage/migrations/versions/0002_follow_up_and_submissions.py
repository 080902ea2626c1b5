"""Follow-up flags and contact on responses; page submission ids for de-duplication.

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("responses") as batch:
        batch.add_column(sa.Column("follow_up", sa.Boolean, nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("follow_up_status", sa.String(16)))
        batch.add_column(sa.Column("contact", sa.JSON))
    op.create_table(
        "page_submissions",
        sa.Column("submission_id", sa.String(64), primary_key=True),
        sa.Column("response_id", sa.Integer, sa.ForeignKey("responses.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("page_index", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade():
    op.drop_table("page_submissions")
    with op.batch_alter_table("responses") as batch:
        batch.drop_column("contact")
        batch.drop_column("follow_up_status")
        batch.drop_column("follow_up")
