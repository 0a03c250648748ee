"""Monitoring hosts have owners: a table of hosts (the installation's, or a server's agent
host keyed `g<guild id>/<name>`), the owners' per-server sharing of the installation's
hosts, and the metric names each host has used (capped per host).

Existing samples and rules of a host an agent token names move to that token's server
(`g<guild id>/<name>`); where tokens of several servers claimed one name (the data was
mixed), the server with the oldest token keeps it.

Revision ID: monitoring_0003_hosts
Revises: monitoring_0002_alerts
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "monitoring_0003_hosts"
down_revision: str | None = "monitoring_0002_alerts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _guild_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["guild_id"], ["guilds.id"], name=op.f(f"fk_{table}_guild_id_guilds"), ondelete="CASCADE"
    )


def upgrade() -> None:
    bind = op.get_bind()
    # SQLite rebuilds a table to change a column: dropping the old rules table would
    # cascade to their alert events, so those are kept aside and put back.
    events = sa.Table("monitoring_alert_events", sa.MetaData(), autoload_with=bind)
    kept = [dict(row._mapping) for row in bind.execute(sa.select(events))]
    for table in ("monitoring_samples", "monitoring_alert_rules"):  # g<20 digits>/<64 chars>
        with op.batch_alter_table(table) as batch:
            batch.alter_column(
                "host", existing_type=sa.String(64), type_=sa.String(96), existing_nullable=False
            )
    if kept and bind.execute(sa.select(sa.func.count()).select_from(events)).scalar() != len(kept):
        bind.execute(events.delete())
        bind.execute(events.insert(), kept)
    op.create_table(
        "monitoring_hosts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=96), nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=True),
        sa.Column("name", sa.String(length=64), nullable=False),
        _guild_fk("monitoring_hosts"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitoring_hosts")),
        sa.UniqueConstraint("key", name=op.f("uq_monitoring_hosts_key")),
    )
    op.create_index(op.f("ix_monitoring_hosts_guild_id"), "monitoring_hosts", ["guild_id"])
    op.create_table(
        "monitoring_host_shares",
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("shared", sa.Boolean(), nullable=False),
        _guild_fk("monitoring_host_shares"),
        sa.PrimaryKeyConstraint("guild_id", name=op.f("pk_monitoring_host_shares")),
    )
    op.create_table(
        "monitoring_host_metrics",
        sa.Column("host", sa.String(length=96), nullable=False),
        sa.Column("metric_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("host", "metric_id", name=op.f("pk_monitoring_host_metrics")),
    )
    # Agent hosts move to the server whose token names them.
    owners: dict[str, int] = {}
    tokens = bind.execute(
        sa.text("SELECT guild_id, host FROM monitoring_agent_tokens ORDER BY created_at, id")
    )
    for guild_id, host in tokens:
        owners.setdefault(host, int(guild_id))
    for host, guild_id in owners.items():
        key = f"g{guild_id}/{host}"
        params = {"key": key, "host": host, "guild_id": guild_id}
        bind.execute(
            sa.text("UPDATE monitoring_samples SET host = :key WHERE host = :host"), params
        )
        bind.execute(
            sa.text(
                "UPDATE monitoring_alert_rules SET host = :key "
                "WHERE host = :host AND guild_id = :guild_id"
            ),
            params,
        )


def downgrade() -> None:
    op.drop_table("monitoring_host_metrics")
    op.drop_table("monitoring_host_shares")
    op.drop_index(op.f("ix_monitoring_hosts_guild_id"), table_name="monitoring_hosts")
    op.drop_table("monitoring_hosts")
