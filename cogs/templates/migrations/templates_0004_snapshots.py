"""Channel templates: scheduled snapshots of each server's structure.

Revision ID: templates_0004_snapshots
Revises: templates_0003_pins
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "templates_0004_snapshots"
down_revision: str | None = "templates_0003_pins"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "channel_template_snapshots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channel_template_snapshots")),
    )
    op.create_index(
        op.f("ix_channel_template_snapshots_guild_id"),
        "channel_template_snapshots",
        ["guild_id"],
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_channel_template_snapshots_guild_id"), "channel_template_snapshots")
    op.drop_table("channel_template_snapshots")
