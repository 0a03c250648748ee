"""Monitoring hosts: the metric names each host has used (capped per host).

Revision ID: monitoring_0002_hosts
Revises: monitoring_0001
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "monitoring_0002_hosts"
down_revision: str | None = "monitoring_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "monitoring_host_metrics",
        sa.Column("host", sa.String(length=96), nullable=False),
        sa.Column("metric_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("host", "metric_id", name=op.f("pk_monitoring_host_metrics")),
    )


def downgrade() -> None:
    op.drop_table("monitoring_host_metrics")
