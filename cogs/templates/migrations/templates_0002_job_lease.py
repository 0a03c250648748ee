"""Template jobs carry their runner and a lease: with several bot processes, a job is run by
one process at a time, and another takes it over once the lease lapses; a cancel asked in
any process is seen by the runner.

Revision ID: templates_0002
Revises: t001
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "templates_0002"
down_revision: str | None = "t001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("channel_template_jobs") as batch:
        batch.add_column(sa.Column("runner", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(
            sa.Column("cancel_requested", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("channel_template_jobs") as batch:
        batch.drop_column("cancel_requested")
        batch.drop_column("lease_until")
        batch.drop_column("runner")
