"""A shared counter for saved templates: triggers bump the 'templates' scope of
`state_versions` (core migration 0003) in the same transaction as any write to
`channel_templates`, whoever writes, so the web editor keeps the template lists and
documents it has shown in memory and reads them again only after a change.

Revision ID: templates_0005_version
Revises: templates_0004_snapshots, 0003
Create Date: 2026-12-02
"""

from collections.abc import Sequence

from alembic import op

revision: str = "templates_0005_version"
# after core 0003 too (state_versions and its trigger function)
down_revision: str | tuple[str, ...] | None = ("templates_0004_snapshots", "0003")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCOPE = "templates"
TABLE = "channel_templates"
EVENTS = ("INSERT", "UPDATE", "DELETE")


def upgrade() -> None:
    op.execute(f"INSERT INTO state_versions (scope, version) VALUES ('{SCOPE}', 0)")
    if op.get_context().dialect.name == "postgresql":
        op.execute(
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
    op.execute(f"DELETE FROM state_versions WHERE scope = '{SCOPE}'")
