"""A shared counter for dashboards: triggers bump the 'dashboards' scope of `state_versions`
(core migration 0003) in the same transaction as any write that changes what the Dashboards
list shows (a dashboard made or removed; its name, channel, message, error or layout),
whoever writes, so the web editor keeps the list it has shown in memory and reads it again
only after such a change. The scheduler's own bookkeeping on every edit (the payload hash,
the view state, `updated_at`) leaves the counter alone.

Revision ID: dash_0003
Revises: dash_0002, 0003
Create Date: 2026-12-03
"""

from collections.abc import Sequence

from alembic import op

revision: str = "dash_0003"
# after core 0003 too (state_versions and its trigger function)
down_revision: str | tuple[str, ...] | None = ("dash_0002", "0003")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCOPE = "dashboards"
TABLE = "dashboards"
SHOWN = "guild_id, channel_id, message_id, name, error, layout"
EVENTS = {"insert": "INSERT", "update": f"UPDATE OF {SHOWN}", "delete": "DELETE"}


def upgrade() -> None:
    op.execute(f"INSERT INTO state_versions (scope, version) VALUES ('{SCOPE}', 0)")
    if op.get_context().dialect.name == "postgresql":
        op.execute(
            f"CREATE TRIGGER {TABLE}_bump_state_version "
            f"AFTER INSERT OR UPDATE OF {SHOWN} OR DELETE ON {TABLE} FOR EACH STATEMENT "
            f"EXECUTE FUNCTION foundrycord_bump_state_version('{SCOPE}')"
        )
    else:
        for name, event in EVENTS.items():
            op.execute(
                f"CREATE TRIGGER {TABLE}_bump_state_version_{name} "
                f"AFTER {event} ON {TABLE} BEGIN "
                f"UPDATE state_versions SET version = version + 1 WHERE scope = '{SCOPE}'; "
                "END"
            )


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER IF EXISTS {TABLE}_bump_state_version ON {TABLE}")
    else:
        for name in EVENTS:
            op.execute(f"DROP TRIGGER IF EXISTS {TABLE}_bump_state_version_{name}")
    op.execute(f"DELETE FROM state_versions WHERE scope = '{SCOPE}'")
