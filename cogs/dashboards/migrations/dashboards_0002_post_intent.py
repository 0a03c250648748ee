"""Dashboards: a post recorded as intended before it is sent (nonce and a snowflake lower
bound), so a restart adopts or deletes a message whose id was never stored.

Revision ID: dash_0002
Revises: dash_0001
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "dash_0002"
down_revision: str | None = "dash_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("dashboards") as batch:
        batch.add_column(sa.Column("post_nonce", sa.String(length=25), nullable=True))
        batch.add_column(sa.Column("post_after", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("dashboards") as batch:
        batch.drop_column("post_after")
        batch.drop_column("post_nonce")
