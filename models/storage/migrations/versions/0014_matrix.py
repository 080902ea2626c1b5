"""The order a response was shown randomized options, matrix rows and page questions in
(``randomize: true``; see ``models.randomization``), as JSON ``{key: [ids in order]}``.

Revision ID: 0014_matrix
Revises: 0013_quotas
"""
import sqlalchemy as sa
from alembic import op

revision = "0014_matrix"
down_revision = "0013_quotas"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("responses") as batch:
        batch.add_column(sa.Column("display_order", sa.JSON()))


def downgrade():
    with op.batch_alter_table("responses") as batch:
        batch.drop_column("display_order")
