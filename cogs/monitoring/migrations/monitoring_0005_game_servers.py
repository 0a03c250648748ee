"""Monitoring: game servers a server's manager watches (protocol, address, port).

Revision ID: monitoring_0005_games
Revises: monitoring_0004_config_version
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "monitoring_0005_games"
down_revision: str | None = "monitoring_0004_config_version"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "monitoring_game_servers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("protocol", sa.String(length=16), nullable=False),
        sa.Column("address", sa.String(length=253), nullable=False),
        sa.Column("port", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["guild_id"],
            ["guilds.id"],
            name=op.f("fk_monitoring_game_servers_guild_id_guilds"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitoring_game_servers")),
    )
    op.create_index(
        op.f("ix_monitoring_game_servers_guild_id"), "monitoring_game_servers", ["guild_id"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_monitoring_game_servers_guild_id"), "monitoring_game_servers")
    op.drop_table("monitoring_game_servers")
