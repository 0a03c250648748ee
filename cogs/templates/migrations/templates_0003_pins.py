"""Channel templates: a server may pin a template; drift from it is reported in a channel.

Revision ID: templates_0003_pins
Revises: templates_0002
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "templates_0003_pins"
down_revision: str | None = "templates_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "channel_template_pins",
        sa.Column("guild_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("template_name", sa.String(length=120), nullable=False),
        sa.Column("channel_id", sa.BigInteger(), nullable=False),
        sa.Column("report_message_id", sa.BigInteger(), nullable=True),
        sa.Column("report_nonce", sa.String(length=25), nullable=True),
        sa.Column("pinned_by", sa.BigInteger(), nullable=False),
        sa.Column("pinned_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("guild_id", name=op.f("pk_channel_template_pins")),
    )


def downgrade() -> None:
    op.drop_table("channel_template_pins")
