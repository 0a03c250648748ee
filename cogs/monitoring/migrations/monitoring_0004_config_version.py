"""A shared counter for each server's monitoring configuration: triggers bump the
'monitoring_config' scope of `state_versions` (migration 0003) in the same transaction as
any write to alert rules, service checks or agent tokens, whoever writes, so the web
editor keeps a server's configuration in memory and reads it again only after a change.

Revision ID: monitoring_0004_config_version
Revises: monitoring_0003_hosts, 0003
Create Date: 2026-12-02
"""

from collections.abc import Sequence

from alembic import op

revision: str = "monitoring_0004_config_version"
# after core 0003 too (state_versions and its trigger function): a merge of both
down_revision: str | tuple[str, ...] | None = ("monitoring_0003_hosts", "0003")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCOPE = "monitoring_config"
WATCHED = ("monitoring_alert_rules", "monitoring_service_checks", "monitoring_agent_tokens")
EVENTS = ("INSERT", "UPDATE", "DELETE")


def upgrade() -> None:
    op.execute(f"INSERT INTO state_versions (scope, version) VALUES ('{SCOPE}', 0)")
    if op.get_context().dialect.name == "postgresql":
        for table in WATCHED:  # the function is migration 0003's
            op.execute(
                f"CREATE TRIGGER {table}_bump_state_version "
                f"AFTER INSERT OR UPDATE OR DELETE ON {table} FOR EACH STATEMENT "
                f"EXECUTE FUNCTION foundrycord_bump_state_version('{SCOPE}')"
            )
    else:
        for table in WATCHED:
            for event in EVENTS:
                op.execute(
                    f"CREATE TRIGGER {table}_bump_state_version_{event.lower()} "
                    f"AFTER {event} ON {table} BEGIN "
                    f"UPDATE state_versions SET version = version + 1 WHERE scope = '{SCOPE}'; "
                    "END"
                )


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        for table in WATCHED:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_bump_state_version ON {table}")
    else:
        for table in WATCHED:
            for event in EVENTS:
                op.execute(f"DROP TRIGGER IF EXISTS {table}_bump_state_version_{event.lower()}")
    op.execute(f"DELETE FROM state_versions WHERE scope = '{SCOPE}'")
