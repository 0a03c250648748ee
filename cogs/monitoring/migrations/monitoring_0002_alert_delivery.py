"""Monitoring: alert events carry a delivery claim (nonce, claimed_at) and an outcome, so
an alert is sent exactly once even when marking it sent fails after Discord accepted it.

Revision ID: monitoring_0002_alerts
Revises: monitoring_0001
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "monitoring_0002_alerts"
down_revision: str | None = "monitoring_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("monitoring_alert_events") as batch:
        batch.add_column(sa.Column("nonce", sa.String(length=25), nullable=True))
        batch.add_column(sa.Column("claimed_at", sa.Float(), nullable=True))
        batch.add_column(sa.Column("outcome", sa.String(length=12), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("monitoring_alert_events") as batch:
        batch.drop_column("outcome")
        batch.drop_column("claimed_at")
        batch.drop_column("nonce")
