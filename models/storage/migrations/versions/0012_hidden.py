"""Hidden fields: the values that came with a response's link (store, order id, channel...).

``hidden`` is a JSON mapping hidden field id -> text (models.hidden), NULL for responses
started before this revision, imported ones and links that carried none.

Revision ID: 0012_hidden
Revises: 0011_dataimport
"""
import sqlalchemy as sa
from alembic import op

revision = "0012_hidden"
down_revision = "0011_dataimport"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("responses") as batch:
        batch.add_column(sa.Column("hidden", sa.JSON()))


def downgrade():
    with op.batch_alter_table("responses") as batch:
        batch.drop_column("hidden")
