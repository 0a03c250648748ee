"""Game servers join the 'monitoring_config' counter (monitoring_0004): writes to
`monitoring_game_servers` bump it in the same transaction, so the web editor keeps a
server's game servers in memory with its rules, checks and tokens.

Revision ID: monitoring_0006_games_version
Revises: monitoring_0005_games
Create Date: 2026-12-02
"""

from collections.abc import Sequence

from alembic import op

revision: str = "monitoring_0006_games_version"
down_revision: str | None = "monitoring_0005_games"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCOPE = "monitoring_config"
TABLE = "monitoring_game_servers"
EVENTS = ("INSERT", "UPDATE", "DELETE")


def upgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute(  # the function is core migration 0003's
            f"CREATE TRIGGER {TABLE}_bump_state_version "
            f"AFTER INSERT OR UPDATE OR DELETE ON {TABLE} FOR EACH STATEMENT "
            f"EXECUTE FUNCTION foundrycord_bump_state_version('{SCOPE}')"
        )
    else:
        for event in EVENTS:
            op.execute(
                f"CREATE TRIGGER {TABLE}_bump_state_version_{event.lower()} "
                f"AFTER {event} ON {TABLE} BEGIN "
                f"UPDATE state_versions SET version = version + 1 WHERE scope = '{SCOPE}'; "
                "END"
            )


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER IF EXISTS {TABLE}_bump_state_version ON {TABLE}")
    else:
        for event in EVENTS:
            op.execute(f"DROP TRIGGER IF EXISTS {TABLE}_bump_state_version_{event.lower()}")
