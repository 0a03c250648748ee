"""Channel templates: saved templates, id maps, apply jobs and locks.

Revision ID: t001
Revises: 0001
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "t001"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = ("templates",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "channel_templates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("shared", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channel_templates")),
        sa.UniqueConstraint("guild_id", "name", name=op.f("uq_channel_templates_guild_id")),
    )
    op.create_index(
        op.f("ix_channel_templates_guild_id"), "channel_templates", ["guild_id"], unique=False
    )
    op.create_table(
        "channel_template_id_maps",
        sa.Column("template_ref", sa.String(length=120), nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("mapping", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint(
            "template_ref", "guild_id", name=op.f("pk_channel_template_id_maps")
        ),
    )
    op.create_table(
        "channel_template_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("template_ref", sa.String(length=120), nullable=False),
        sa.Column("template_name", sa.String(length=100), nullable=False),
        sa.Column("actor_id", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("steps", sa.JSON(), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("id_map", sa.JSON(), nullable=False),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("roles_created", sa.Integer(), nullable=False),
        sa.Column("error", sa.String(length=2000), nullable=True),
        sa.Column("progress_channel_id", sa.BigInteger(), nullable=True),
        sa.Column("progress_message_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channel_template_jobs")),
    )
    op.create_index(
        op.f("ix_channel_template_jobs_guild_id"),
        "channel_template_jobs",
        ["guild_id"],
        unique=False,
    )
    op.create_table(
        "channel_template_locks",
        sa.Column("guild_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("guild_id", name=op.f("pk_channel_template_locks")),
    )


def downgrade() -> None:
    op.drop_table("channel_template_locks")
    op.drop_index(op.f("ix_channel_template_jobs_guild_id"), table_name="channel_template_jobs")
    op.drop_table("channel_template_jobs")
    op.drop_table("channel_template_id_maps")
    op.drop_index(op.f("ix_channel_templates_guild_id"), table_name="channel_templates")
    op.drop_table("channel_templates")
