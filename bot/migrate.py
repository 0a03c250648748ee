"""Bring the database to the newest migration at start.

Alembic costs about 10 MiB of resident memory once imported, for good. The bot reads the
applied revision itself and, only when it is behind, runs the upgrade in a short-lived
child process (`python -m bot db upgrade`), so the long-running process never loads it."""

from __future__ import annotations

import ast
import asyncio
import logging
import os
import sys
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from bot.database import MIGRATIONS_DIR, Database, migration_dirs
from bot.locks import MIGRATION, advisory_lock

log = logging.getLogger(__name__)


class MigrationFailed(Exception):
    """The upgrade did not finish; the message carries the child's last error line."""


def migration_heads(versions_dirs: list[Path] | None = None) -> set[str]:
    """Revisions no other migration builds on, read from the files without importing them."""
    revisions: set[str] = set()
    parents: set[str] = set()
    paths = [path for folder in versions_dirs or migration_dirs() for path in folder.glob("*.py")]
    for path in paths:
        values: dict[str, object] = {}
        for node in ast.parse(path.read_text()).body:
            target = getattr(node, "target", None) or (getattr(node, "targets", None) or [None])[0]
            if isinstance(target, ast.Name) and target.id in ("revision", "down_revision"):
                values[target.id] = ast.literal_eval(node.value)  # type: ignore[attr-defined]
        if isinstance(values.get("revision"), str):
            revisions.add(values["revision"])  # type: ignore[arg-type]
            down = values.get("down_revision")
            parents.update([down] if isinstance(down, str) else list(down or ()))  # type: ignore[arg-type]
    return revisions - parents


async def applied_revisions(db: Database) -> set[str]:
    try:
        async with db.engine.connect() as connection:
            rows = await connection.execute(text("SELECT version_num FROM alembic_version"))
            return {row[0] for row in rows}
    except DBAPIError:
        return set()  # no alembic_version table yet: a new database


async def ensure_migrated(db: Database, *, in_process: bool = False) -> bool:
    """Upgrade to head if needed; True when an upgrade ran. `in_process` skips the child
    process (tests, where start-up speed matters more than resident memory).

    Several processes starting together on one PostgreSQL database take turns under an
    advisory lock: the first upgrades, the others then find the schema at head. (Two
    upgrades at once collide creating the same tables: a unique violation in pg_type.)"""
    if await applied_revisions(db) == migration_heads():
        return False
    async with advisory_lock(db, MIGRATION):
        if await applied_revisions(db) == migration_heads():
            return False
        return await _upgrade(db, in_process=in_process)


async def _upgrade(db: Database, *, in_process: bool) -> bool:
    if in_process:
        await db.upgrade()
        return True
    log.info("Upgrading the database schema")
    root = str(MIGRATIONS_DIR.parent)
    env = {
        **os.environ,
        "DATABASE_URL": db.engine.url.render_as_string(hide_password=False),
        "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "--env-file",
        os.devnull,
        "db",
        "upgrade",
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        _, stderr = await process.communicate()
    except asyncio.CancelledError:
        process.kill()  # shutting down mid-upgrade: leave no child behind
        await process.wait()
        raise
    if process.returncode != 0:
        lines = [line for line in stderr.decode(errors="replace").splitlines() if line.strip()]
        reason = lines[-1] if lines else f"exit status {process.returncode}"
        raise MigrationFailed(f"the database upgrade failed: {reason}")
    return True
