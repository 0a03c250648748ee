"""Guild presence: when the bot left a guild (NULL while it is in it).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28

SQLite: the upgrade adds the column in batch mode, which for an added column and an index
alters the table in place. The downgrade drops the column with SQLite's own DROP COLUMN
(3.35+) instead of a batch copy: a copy drops and re-creates `guilds`, and with foreign keys
on, dropping it would cascade-delete every guild's settings and feature data.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("guilds", recreate="never") as batch:
        batch.add_column(sa.Column("left_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_index(batch.f("ix_guilds_left_at"), ["left_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_guilds_left_at"), table_name="guilds")
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE guilds DROP COLUMN left_at")
    else:
        op.drop_column("guilds", "left_at")
