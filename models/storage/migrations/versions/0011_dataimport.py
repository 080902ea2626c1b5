"""Responses collected by other tools: where each response came from, and the key that
keeps a re-imported file from adding its rows twice.

``origin`` is "web" (answered on our pages; every response before this revision) or
"imported" (``csi import``). ``import_key`` is the SHA-256 of the file's respondent id, or
of the row's cells (see ``models.importing``); unique within a wave.

Revision ID: 0011_dataimport
Revises: 0010_dashboard
"""
import sqlalchemy as sa
from alembic import op

revision = "0011_dataimport"
down_revision = "0010_dashboard"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("responses") as batch:
        batch.add_column(sa.Column("origin", sa.String(16), nullable=False, server_default="web"))
        batch.add_column(sa.Column("import_key", sa.String(64)))
        batch.create_unique_constraint("uq_responses_import_key", ["wave_id", "import_key"])


def downgrade():
    with op.batch_alter_table("responses") as batch:
        batch.drop_constraint("uq_responses_import_key", type_="unique")
        batch.drop_column("import_key")
        batch.drop_column("origin")
