"""`python -m bot signin`: a fresh one-time sign-in link while the bot runs, for the owner
(offline, the sandbox's demo owner), accepted by the running web server; refused to anyone
without the bot's data folder."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import aiohttp

from tests.bot.test_main import ROOT, run_bot
from tests.line_reader import LineReader

LINK = re.compile(r"(http://127\.0\.0\.1:\d+/login/link\?token=\S+)")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def open_page(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, await response.text()


async def sign_in_with(link: str) -> tuple[int, str]:
    """Open the link and press Sign in, as a browser; the status and the page reached."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        page = await session.get(link)
        text = await page.text()
        assert page.status == 200, text
        token = re.search(r'name="token" value="([^"]+)"', text)
        assert token, text
        base = link.split("/login/")[0]
        pressed = await session.post(f"{base}/login/link", data={"token": token.group(1)})
        return pressed.status, await pressed.text()


def test_signin_prints_a_link_the_running_offline_bot_accepts(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "DATABASE_"))}
    env.update({"PYTHONPATH": str(ROOT), "WEB_PORT": str(port)})
    bot = subprocess.Popen(
        [sys.executable, "-m", "bot"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    out, err = LineReader(bot.stdout), LineReader(bot.stderr)
    try:
        assert out.wait_for("python -m bot signin", 60), "".join(err.lines)
        assert err.wait_for("Ready as FoundryCord", 60), "".join(err.lines)
        startup = LINK.search("".join(out.lines))
        assert startup, "".join(out.lines)

        fresh = run_bot(["signin"], {"WEB_PORT": str(port)}, tmp_path)
        assert fresh.returncode == 0, fresh.stderr
        links = LINK.findall(fresh.stdout)
        assert len(links) == 1 and links[0] != startup.group(1)
        assert f"127.0.0.1:{port}/" in links[0]

        status, page = asyncio.run(sign_in_with(links[0]))
        assert status == 200 and "Sign out" in page, page[-3000:]  # signed in
        status, page = asyncio.run(open_page(links[0]))
        assert status == 410  # the link works once; offline, the page says how to renew
        assert "Run python -m bot signin on the machine" in page

        # Someone without the bot's data folder cannot make one.
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir()
        stranger = run_bot(["signin"], {"WEB_PORT": str(port)}, elsewhere)
        assert stranger.returncode == 2 and "no FoundryCord key" in stranger.stderr
        assert "login/link" not in stranger.stdout
    finally:
        bot.send_signal(signal.SIGTERM)
        try:
            bot.wait(30)
        finally:
            if bot.poll() is None:
                bot.kill()
                bot.wait()
            out.close()
            err.close()


def test_signin_needs_an_owner(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "secret_key").write_text("k" * 64)
    result = run_bot(["signin"], {"DISCORD_TOKEN": "x" * 60}, tmp_path)
    assert result.returncode == 2 and "no owners" in result.stderr
