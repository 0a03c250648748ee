"""The floor for bench/startup.py: a nextcord Bot with FoundryCord's intents that imports
exactly the required stack (nextcord, aiohttp.web, SQLAlchemy with its asyncio extension,
aiosqlite, Jinja2) and nothing of ours, connected to the same sandbox.
Usage: floor_bot.py SANDBOX_URL TOKEN"""

from __future__ import annotations

import asyncio
import signal
import sys

import aiohttp.web  # noqa: F401
import aiosqlite  # noqa: F401
import jinja2  # noqa: F401
import nextcord
import nextcord.http
import sqlalchemy
import sqlalchemy.ext.asyncio  # noqa: F401
from nextcord.ext import commands


async def main(base_url: str, token: str) -> None:
    nextcord.http.Route.BASE = base_url.rstrip("/") + "/api/v10"
    intents = nextcord.Intents.default()
    intents.members = True
    bot = commands.Bot(intents=intents)

    @bot.event
    async def on_ready() -> None:
        print(f"READY {bot.user}", file=sys.stderr, flush=True)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await bot.login(token)
    connect = asyncio.create_task(bot.connect())
    await stop.wait()
    await bot.close()
    await asyncio.gather(connect, return_exceptions=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
