"""A bare nextcord Bot with the same intents as FoundryCord: the baseline for
bench/startup.py. Usage: bare_bot.py SANDBOX_URL TOKEN"""

from __future__ import annotations

import asyncio
import signal
import sys

import nextcord
import nextcord.http
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
