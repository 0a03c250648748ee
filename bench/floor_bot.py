"""The floor for bench/startup.py: the bare nextcord Bot of bench/bare_bot.py (FoundryCord's
intents), after importing exactly the required stack (nextcord, aiohttp.web, SQLAlchemy with
its asyncio extension, aiosqlite, Jinja2) and nothing of ours, connected to the same sandbox.

With --in-use it also uses that stack as any application of it must, before connecting: an
async engine on a SQLite file with one connection open and a query answered, an aiohttp web
server listening on loopback with one route, and a Jinja2 environment that rendered one
template. That row tells what merely using the stack costs from what is FoundryCord's.
Usage: floor_bot.py SANDBOX_URL TOKEN [--in-use]"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

import aiohttp.web
import aiosqlite  # noqa: F401
import jinja2
import sqlalchemy.ext.asyncio
from bare_bot import main  # run as a script: bench/ is on sys.path


async def use_the_stack(
    folder: str,
) -> tuple[
    sqlalchemy.ext.asyncio.AsyncEngine,
    sqlalchemy.ext.asyncio.AsyncConnection,
    aiohttp.web.AppRunner,
]:
    """Open what an application of the stack keeps open; returns it, to be kept alive."""
    engine = sqlalchemy.ext.asyncio.create_async_engine(f"sqlite+aiosqlite:///{folder}/floor.db")
    connection = await engine.connect()
    await connection.execute(sqlalchemy.text("SELECT 1"))
    templates = jinja2.Environment(loader=jinja2.DictLoader({"page": "<p>{{ text }}</p>"}))
    page = templates.get_template("page")

    async def handler(_: aiohttp.web.Request) -> aiohttp.web.Response:
        return aiohttp.web.Response(text=page.render(text="ok"), content_type="text/html")

    app = aiohttp.web.Application()
    app.router.add_get("/", handler)
    runner = aiohttp.web.AppRunner(app)
    await runner.setup()
    await aiohttp.web.TCPSite(runner, "127.0.0.1", 0).start()
    return engine, connection, runner


async def in_use(url: str, token: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        kept = await use_the_stack(str(Path(folder)))
        try:
            await main(url, token)
        finally:
            engine, connection, runner = kept
            await runner.cleanup()
            await connection.close()
            await engine.dispose()


if __name__ == "__main__":
    if sys.argv[3:] == ["--in-use"]:
        asyncio.run(in_use(sys.argv[1], sys.argv[2]))
    else:
        asyncio.run(main(sys.argv[1], sys.argv[2]))
