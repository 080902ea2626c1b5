"""Background jobs (what ran, its progress, error and output) and stored wave analyses.

Revision ID: 0005_jobs
Revises: 0004_accounts
"""
import sqlalchemy as sa
from alembic import op

revision = "0005_jobs"
down_revision = "0004_accounts"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "jobs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("params", sa.JSON, nullable=False),
        sa.Column("dedupe_key", sa.String(200), index=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("progress", sa.Float, nullable=False),
        sa.Column("message", sa.String(500)),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True)),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True)),
        sa.Column("worker", sa.String(100)),
        sa.Column("error", sa.Text),
        sa.Column("output", sa.JSON),
        sa.Column("created_by", sa.String(64)),
    )
    op.create_index("ix_jobs_status", "jobs", ["status", "heartbeat_at"])
    op.create_table(
        "wave_analyses",
        sa.Column("wave_id", sa.Integer, sa.ForeignKey("waves.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("data_version", sa.String(64), nullable=False),
        sa.Column("seed", sa.BigInteger, nullable=False),
        sa.Column("n_boot", sa.Integer, nullable=False),
        sa.Column("n_perm", sa.Integer, nullable=False),
        sa.Column("n_used", sa.Integer, nullable=False),
        sa.Column("code_version", sa.String(64), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seconds", sa.Float, nullable=False),
        sa.Column("summary", sa.JSON, nullable=False),
        sa.Column("payload", sa.LargeBinary, nullable=False),
    )


def downgrade():
    op.drop_table("wave_analyses")
    op.drop_index("ix_jobs_status", table_name="jobs")
    op.drop_table("jobs")
