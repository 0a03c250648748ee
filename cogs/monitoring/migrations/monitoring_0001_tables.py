"""Monitoring: metric names, compact samples, alert rules and events, service checks,
agent tokens.

Revision ID: monitoring_0001
Revises: 0001
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "monitoring_0001"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = ("monitoring",)
depends_on: str | Sequence[str] | None = None


def _guild_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["guild_id"], ["guilds.id"], name=op.f(f"fk_{table}_guild_id_guilds"), ondelete="CASCADE"
    )


def upgrade() -> None:
    op.create_table(
        "monitoring_metrics",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitoring_metrics")),
        sa.UniqueConstraint("name", name=op.f("uq_monitoring_metrics_name")),
    )
    op.create_table(
        "monitoring_samples",
        sa.Column("host", sa.String(length=64), nullable=False),
        sa.Column("tier", sa.SmallInteger(), nullable=False),
        sa.Column("ts", sa.BigInteger(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("host", "tier", "ts", name=op.f("pk_monitoring_samples")),
    )
    if op.get_bind().dialect.name == "postgresql":
        # Pruning deletes a steady trickle of rows: let autovacuum reclaim them every few
        # hundred rows (the default waits for 20 % of the table), so the table stays small.
        op.execute(
            "ALTER TABLE monitoring_samples SET (autovacuum_vacuum_scale_factor = 0.02, "
            "autovacuum_vacuum_threshold = 500)"
        )
    op.create_table(
        "monitoring_alert_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("metric", sa.String(length=120), nullable=False),
        sa.Column("host", sa.String(length=64), nullable=False),
        sa.Column("comparison", sa.String(length=2), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("hysteresis", sa.Float(), nullable=False),
        sa.Column("duration_s", sa.Integer(), nullable=False),
        sa.Column("cooldown_s", sa.Integer(), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("channel_id", sa.BigInteger(), nullable=False),
        sa.Column("role_id", sa.BigInteger(), nullable=True),
        sa.Column("created_by", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("pending_since", sa.Float(), nullable=True),
        sa.Column("last_fired_at", sa.Float(), nullable=True),
        sa.Column("last_value", sa.Float(), nullable=True),
        _guild_fk("monitoring_alert_rules"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitoring_alert_rules")),
    )
    op.create_index(
        op.f("ix_monitoring_alert_rules_guild_id"), "monitoring_alert_rules", ["guild_id"]
    )
    op.create_table(
        "monitoring_alert_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rule_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("at", sa.Float(), nullable=False),
        sa.Column("sent_at", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["rule_id"],
            ["monitoring_alert_rules.id"],
            name=op.f("fk_monitoring_alert_events_rule_id_monitoring_alert_rules"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitoring_alert_events")),
    )
    op.create_index(
        op.f("ix_monitoring_alert_events_rule_id"), "monitoring_alert_events", ["rule_id"]
    )
    op.create_table(
        "monitoring_service_checks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("target", sa.String(length=500), nullable=False),
        sa.Column("port", sa.Integer(), nullable=True),
        sa.Column("timeout_s", sa.Float(), nullable=False),
        sa.Column("expect", sa.String(length=8), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _guild_fk("monitoring_service_checks"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitoring_service_checks")),
    )
    op.create_index(
        op.f("ix_monitoring_service_checks_guild_id"), "monitoring_service_checks", ["guild_id"]
    )
    op.create_table(
        "monitoring_agent_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("host", sa.String(length=64), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        _guild_fk("monitoring_agent_tokens"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitoring_agent_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_monitoring_agent_tokens_token_hash")),
    )
    op.create_index(
        op.f("ix_monitoring_agent_tokens_guild_id"), "monitoring_agent_tokens", ["guild_id"]
    )


def downgrade() -> None:
    op.drop_table("monitoring_agent_tokens")
    op.drop_table("monitoring_service_checks")
    op.drop_table("monitoring_alert_events")
    op.drop_table("monitoring_alert_rules")
    op.drop_table("monitoring_samples")
    op.drop_table("monitoring_metrics")
