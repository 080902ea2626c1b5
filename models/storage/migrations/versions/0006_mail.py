"""E-mail invitations and reminders: address, language, token nonce and sending state per invitation.

Revision ID: 0006_mail
Revises: 0005_jobs
"""
import sqlalchemy as sa
from alembic import op

revision = "0006_mail"
down_revision = "0005_jobs"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("waves") as batch:
        batch.add_column(sa.Column("reminder_max", sa.Integer))
        batch.add_column(sa.Column("reminder_after_days", sa.Float))
    with op.batch_alter_table("invitations") as batch:
        batch.add_column(sa.Column("email", sa.String(320)))
        batch.add_column(sa.Column("language", sa.String(16)))
        batch.add_column(sa.Column("token_nonce", sa.String(64)))
        batch.add_column(sa.Column("mail_status", sa.String(16)))
        batch.add_column(sa.Column("send_after", sa.DateTime(timezone=True)))
        batch.add_column(sa.Column("sent_at", sa.DateTime(timezone=True)))
        batch.add_column(sa.Column("last_sent_at", sa.DateTime(timezone=True)))
        batch.add_column(sa.Column("reminders_sent", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("send_attempts", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("bounce_message", sa.Text))
        batch.add_column(sa.Column("opened_at", sa.DateTime(timezone=True)))
        batch.add_column(sa.Column("opted_out_at", sa.DateTime(timezone=True)))
        batch.create_unique_constraint("uq_invitation_email", ["wave_id", "email"])
        batch.create_index("ix_invitations_mail_status", ["mail_status"])


def downgrade():
    with op.batch_alter_table("invitations") as batch:
        batch.drop_index("ix_invitations_mail_status")
        batch.drop_constraint("uq_invitation_email", type_="unique")
        for column in ("opted_out_at", "opened_at", "bounce_message", "send_attempts", "reminders_sent",
                       "last_sent_at", "sent_at", "send_after", "mail_status", "token_nonce", "language", "email"):
            batch.drop_column(column)
    with op.batch_alter_table("waves") as batch:
        batch.drop_column("reminder_after_days")
        batch.drop_column("reminder_max")
