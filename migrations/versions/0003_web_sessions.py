"""Web sessions that can be revoked, and the shared state versions behind in-memory caches.

`state_versions` holds one counter per scope; triggers bump it in the same transaction as
any write to that scope's tables, so every process sharing the database can tell with one
small read whether what it holds in memory is still current ('guilds': guilds and
guild_settings; 'sessions': web_sessions). A migration that recreates one of these tables
(SQLite batch mode) must create its triggers again: tests/bot/test_state_cache.py checks.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# table -> the scope its writes bump
WATCHED = {"guilds": "guilds", "guild_settings": "guilds", "web_sessions": "sessions"}
EVENTS = ("INSERT", "UPDATE", "DELETE")


def upgrade() -> None:
    op.create_table(
        "web_sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_sessions")),
    )
    op.create_index(op.f("ix_web_sessions_user_id"), "web_sessions", ["user_id"], unique=False)
    versions = op.create_table(
        "state_versions",
        sa.Column("scope", sa.String(length=32), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("scope", name=op.f("pk_state_versions")),
    )
    op.bulk_insert(versions, [{"scope": s, "version": 0} for s in sorted(set(WATCHED.values()))])
    if op.get_context().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION foundrycord_bump_state_version() RETURNS trigger "
            "LANGUAGE plpgsql AS $$ BEGIN "
            "UPDATE state_versions SET version = version + 1 WHERE scope = TG_ARGV[0]; "
            "RETURN NULL; END $$"
        )
        for table, scope in WATCHED.items():
            op.execute(
                f"CREATE TRIGGER {table}_bump_state_version "
                f"AFTER INSERT OR UPDATE OR DELETE ON {table} FOR EACH STATEMENT "
                f"EXECUTE FUNCTION foundrycord_bump_state_version('{scope}')"
            )
    else:
        for table, scope in WATCHED.items():
            for event in EVENTS:
                op.execute(
                    f"CREATE TRIGGER {table}_bump_state_version_{event.lower()} "
                    f"AFTER {event} ON {table} BEGIN "
                    f"UPDATE state_versions SET version = version + 1 WHERE scope = '{scope}'; "
                    "END"
                )


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        for table in WATCHED:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_bump_state_version ON {table}")
        op.execute("DROP FUNCTION IF EXISTS foundrycord_bump_state_version()")
    else:
        for table in WATCHED:
            for event in EVENTS:
                op.execute(f"DROP TRIGGER IF EXISTS {table}_bump_state_version_{event.lower()}")
    op.drop_table("state_versions")
    op.drop_index(op.f("ix_web_sessions_user_id"), table_name="web_sessions")
    op.drop_table("web_sessions")
