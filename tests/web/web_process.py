"""The web editor alone in a child process, for tests that need their own process limits
(e.g. a small `ulimit -n`): `python -m tests.web.web_process DATA_DIR` logs to
DATA_DIR/logs/foundrycord.log as the bot does, prints its URL, and serves until stdin closes."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from bot.cache import MemoryCache
from bot.database import Database
from bot.guild_access import GuildAccess
from bot.guild_settings import GuildSettingsRegistry, GuildSettingsStore
from bot.logging_setup import setup_logging
from bot.settings import Settings
from tests.web.conftest import OWNER_ID, PUBLIC_URL, SESSION_KEY, FakeLive
from web.app import create_app
from web.context import WebContext
from web.server import start_web


async def serve(data_dir: Path) -> None:
    buffer = setup_logging("INFO", data_dir)
    db = await Database.connect(f"sqlite+aiosqlite:///{data_dir / 'web.db'}")
    await db.upgrade()
    settings = Settings(owner_ids=frozenset({OWNER_ID}), data_dir=data_dir, public_url=PUBLIC_URL)
    ctx = WebContext(
        settings=settings,
        db=db,
        cache=MemoryCache(),
        live=FakeLive(),
        guild_access=GuildAccess(db, auto_approve=False),
        guild_settings=GuildSettingsStore(db, GuildSettingsRegistry()),
        log_buffer=buffer,
        session_key=SESSION_KEY,
    )
    server = await start_web(create_app(ctx), "127.0.0.1", 0)
    print(server.url, flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)  # until the parent closes our stdin
    await server.stop()
    await db.dispose()


if __name__ == "__main__":
    asyncio.run(serve(Path(sys.argv[1])))
