"""The floor for bench/startup.py: the bare nextcord Bot of bench/bare_bot.py (FoundryCord's
intents), after importing exactly the required stack (nextcord, aiohttp.web, SQLAlchemy with
its asyncio extension, aiosqlite, Jinja2) and nothing of ours, connected to the same sandbox.
Usage: floor_bot.py SANDBOX_URL TOKEN"""

from __future__ import annotations

import asyncio
import sys

import aiohttp.web  # noqa: F401
import aiosqlite  # noqa: F401
import jinja2  # noqa: F401
import sqlalchemy.ext.asyncio  # noqa: F401
from bare_bot import main  # run as a script: bench/ is on sys.path

if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
