"""More than one process: the live processes, the guilds each holds, the identify windows.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "cluster_processes",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("shard_count", sa.Integer(), nullable=True),
        sa.Column("shard_ids", sa.String(length=200), nullable=False),
        sa.Column("internal_url", sa.String(length=300), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cluster_processes")),
    )
    op.create_index(
        op.f("ix_cluster_processes_heartbeat_at"), "cluster_processes", ["heartbeat_at"]
    )
    op.create_table(
        "cluster_guilds",
        sa.Column("guild_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("process_id", sa.String(length=32), nullable=False),
        sa.Column("shard_id", sa.Integer(), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("guild_id", name=op.f("pk_cluster_guilds")),
    )
    op.create_index(op.f("ix_cluster_guilds_process_id"), "cluster_guilds", ["process_id"])
    op.create_table(
        "identify_windows",
        sa.Column("bucket", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("bucket", name=op.f("pk_identify_windows")),
    )


def downgrade() -> None:
    op.drop_table("identify_windows")
    op.drop_index(op.f("ix_cluster_guilds_process_id"), table_name="cluster_guilds")
    op.drop_table("cluster_guilds")
    op.drop_index(op.f("ix_cluster_processes_heartbeat_at"), table_name="cluster_processes")
    op.drop_table("cluster_processes")
