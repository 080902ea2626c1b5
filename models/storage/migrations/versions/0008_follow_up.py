"""The follow-up workflow: assignee, outcome and closing time per case, and the history of changes.

Notes written before this revision become the first event of their case's history.

Revision ID: 0008_follow_up
Revises: 0007_webhooks
"""
import sqlalchemy as sa
from alembic import op

revision = "0008_follow_up"
down_revision = "0007_webhooks"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("responses") as batch:
        batch.add_column(sa.Column("follow_up_assignee_id", sa.Integer,
                                   sa.ForeignKey("admin_users.id", name="fk_responses_follow_up_assignee",
                                                 ondelete="SET NULL")))
        batch.add_column(sa.Column("follow_up_outcome", sa.String(32)))
        batch.add_column(sa.Column("follow_up_closed_at", sa.DateTime(timezone=True)))
    op.create_table(
        "follow_up_events",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("response_id", sa.Integer, sa.ForeignKey("responses.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("admin_users.id", ondelete="SET NULL")),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("value", sa.Text),
    )
    op.execute("INSERT INTO follow_up_events (response_id, at, user_id, kind, value) "
               "SELECT id, COALESCE(follow_up_updated_at, completed_at, updated_at), NULL, 'note', follow_up_note "
               "FROM responses WHERE follow_up_note IS NOT NULL")


def downgrade():
    op.drop_table("follow_up_events")
    with op.batch_alter_table("responses") as batch:
        batch.drop_column("follow_up_closed_at")
        batch.drop_column("follow_up_outcome")
        batch.drop_constraint("fk_responses_follow_up_assignee", type_="foreignkey")
        batch.drop_column("follow_up_assignee_id")
