"""Quotas and wave limits.

``quota_counts`` holds, per wave and quota, how many completed responses the quota has
taken; a completion raises it with ``UPDATE ... WHERE count < limit`` in its own
transaction, so the database decides between the last respondents of a quota. The
wave's own cap (``waves.max_completes``) is counted there under the quota id ``*``.
``responses.quota_id`` names the quota that ended a response (status ``quota_full``).

Revision ID: 0013_quotas
Revises: 0012_hidden
"""
import sqlalchemy as sa
from alembic import op

revision = "0013_quotas"
down_revision = "0012_hidden"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "quota_counts",
        sa.Column("wave_id", sa.Integer, sa.ForeignKey("waves.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("quota_id", sa.String(64), primary_key=True),
        sa.Column("count", sa.Integer, nullable=False, server_default="0"),
    )
    with op.batch_alter_table("waves") as batch:
        batch.add_column(sa.Column("max_completes", sa.Integer))
    with op.batch_alter_table("responses") as batch:
        batch.add_column(sa.Column("quota_id", sa.String(64)))


def downgrade():
    with op.batch_alter_table("responses") as batch:
        batch.drop_column("quota_id")
    with op.batch_alter_table("waves") as batch:
        batch.drop_column("max_completes")
    op.drop_table("quota_counts")
