"""The journeys' harness: the real `python -m bot` in a child process (offline: no
DISCORD_TOKEN, so its built-in sandbox with the demo guild), stopped with SIGTERM and started
again on the same DATA_DIR and port like a user restarting it, and Playwright helpers that
act on the web editor and the Sandbox page as a user does (pick, type, press, read).

Waits are bounded polls on something a user can see; a timeout is a failure that says what
did not happen and shows the bot's last log lines."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

from tests.line_reader import LineReader

ROOT = Path(__file__).resolve().parents[2]
CHART_JS = ROOT / "web/node_modules/chart.js/dist/chart.umd.js"
READY = "Ready as FoundryCord in"
SIGN_IN = "Sign-in link for owner"
START_TIMEOUT = 90.0
STOP_TIMEOUT = 40.0
UI_TIMEOUT_MS = 15_000


def requires_chart_js() -> Any:
    """For journeys that read the Monitoring tab's chart (drawn by Chart.js)."""
    import pytest

    return pytest.mark.skipif(
        not CHART_JS.is_file(), reason="Chart.js is not installed: npm ci --prefix web"
    )


def free_port() -> int:
    """A port nothing listens on now (the bot binds it; a restart binds it again)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def clean_environment(extra: dict[str, str]) -> dict[str, str]:
    """This environment without any FoundryCord setting (a developer's DISCORD_TOKEN or
    DATABASE_URL must not leak into a journey), plus `extra`."""
    from bot.settings import VARIABLES

    settings = {variable.name for variable in VARIABLES} | {"HOST_PROC", "DOCKER_HOST"}
    prefixes = ("DISCORD_", "DATABASE_", "REDIS_", "MONITORING_", "AGENT_", "SPEEDTEST_")
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in settings and not key.startswith(prefixes)
    }
    env.update({"PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"})
    env.update(extra)
    return env


class RunningBot:
    """`python -m bot` offline in `cwd`, with its own DATA_DIR and web port. `start()` waits
    until it is ready and has printed its sign-in link; `stop()` sends SIGTERM and waits for
    a clean exit; `restart()` is both, on the same DATA_DIR and port."""

    def __init__(self, cwd: Path, *, settings: dict[str, str] | None = None) -> None:
        self.cwd = cwd
        self.data_dir = cwd / "data"
        self.port = free_port()
        self.env = clean_environment(
            {
                "DATA_DIR": str(self.data_dir),
                "WEB_PORT": str(self.port),
                "LOG_LEVEL": "INFO",
                **(settings or {}),
            }
        )
        self.process: subprocess.Popen[str] | None = None
        self.out: LineReader | None = None
        self.err: LineReader | None = None
        self.earlier_logs: list[str] = []  # stderr of the runs before a restart
        self.starts = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = START_TIMEOUT) -> None:
        assert self.process is None, "already running"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot"],
            cwd=self.cwd,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.starts += 1
        self.out, self.err = LineReader(self.process.stdout), LineReader(self.process.stderr)
        deadline = time.monotonic() + timeout
        for reader, marker in ((self.out, SIGN_IN), (self.err, READY)):
            while not reader.wait_for(marker, 0.5):
                if self.process.poll() is not None:
                    raise AssertionError(
                        f"python -m bot exited with {self.process.returncode} before "
                        f"{marker!r}:\n{self.log_tail()}"
                    )
                if time.monotonic() > deadline:
                    raise AssertionError(f"no {marker!r} in {timeout:g} s:\n{self.log_tail()}")

    def sign_in_link(self) -> str:
        """The newest one-time sign-in link this run printed (offline: for the demo owner)."""
        assert self.out is not None, "not running"
        lines = [line for line in self.out.lines if SIGN_IN in line]
        assert lines, f"no sign-in link printed:\n{self.out.text()}"
        link = lines[-1].split()[-1]
        assert link.startswith(self.url + "/"), link
        return link

    def stop(self, timeout: float = STOP_TIMEOUT) -> int:
        """SIGTERM, as a service manager stops it; the exit code."""
        assert self.process is not None, "not running"
        process = self.process
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            code = process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise AssertionError(
                f"python -m bot did not stop within {timeout:g} s of SIGTERM:\n{self.log_tail()}"
            ) from None
        finally:
            self._close_readers()
            self.process = None
        return code

    def restart(self) -> None:
        code = self.stop()
        assert code == 0, f"python -m bot exited with {code} on SIGTERM:\n{self.log_tail()}"
        self.start()

    def close(self) -> None:
        """Teardown: stop whatever still runs (killed if SIGTERM is not enough)."""
        if self.process is not None:
            with contextlib.suppress(AssertionError):
                self.stop()

    def _close_readers(self) -> None:
        for reader in (self.out, self.err):
            if reader is not None:
                reader.close()
        if self.err is not None:
            self.earlier_logs.append(self.err.text())
        self.out = self.err = None

    def log(self) -> str:
        """Everything the bot logged, over every run."""
        current = self.err.text() if self.err is not None else ""
        return "".join(self.earlier_logs) + current

    def log_tail(self, chars: int = 4000) -> str:
        return self.log()[-chars:]


@contextlib.contextmanager
def busy_cpu() -> Iterator[None]:
    """One spinning process at the lowest priority, so this host's CPU use is really above
    a small threshold for as long as a journey needs (it only takes otherwise idle time)."""
    spinner = subprocess.Popen(
        [sys.executable, "-c", "import os; os.nice(19)\nwhile True: pass"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield
    finally:
        spinner.kill()
        spinner.wait()


def run_agent(args: list[str], cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """`python -m bot agent ...` as a user on another machine runs it: its own folder, no
    database or Discord settings of the bot's."""
    cwd.mkdir(parents=True, exist_ok=True)
    return subprocess.run(
        [sys.executable, "-m", "bot", "agent", *args],
        cwd=cwd,
        env=clean_environment({"DATA_DIR": str(cwd / "data")}),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


async def until[T](
    check: Callable[[], Awaitable[T | None]],
    what: str,
    timeout: float = 30.0,
    *,
    bot: RunningBot | None = None,
) -> T:
    """Poll `check` until it returns something truthy; fail naming `what` (and the last
    thing seen, and the bot's last log lines) if it never does within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        last = await check()
        if last:
            return last
        if time.monotonic() > deadline:
            log = f"\nthe bot's log ends:\n{bot.log_tail()}" if bot is not None else ""
            raise AssertionError(f"{what}: not seen within {timeout:g} s (last: {last!r}){log}")
        await asyncio.sleep(0.25)


# -- the browser side --------------------------------------------------------------------------


def watch_problems(page: Any) -> list[str]:
    """Script errors and server errors (HTTP 5xx) the page meets, collected as they happen."""
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"script error: {exc}"))
    page.on(
        "response",
        lambda r: problems.append(f"HTTP {r.status} {r.url}") if r.status >= 500 else None,
    )
    return problems


async def sign_in(page: Any, bot: RunningBot) -> None:
    """Open the sign-in link the bot printed and press Sign in, as its owner does."""
    await page.goto(bot.sign_in_link())
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(f"{bot.url}/guilds")


async def open_guild_tab(page: Any, bot: RunningBot, tab: str) -> int:
    """From the server list to one of the demo server's tabs ("Monitoring", "Dashboards",
    ...); the guild id from the URL."""
    await page.goto(f"{bot.url}/guilds")
    await page.get_by_role("link", name="Settings").first.click()
    await page.wait_for_url(re.compile(r"/guilds/\d+/settings"))
    await page.get_by_test_id("guild-tabs").get_by_role("link", name=tab, exact=True).click()
    await page.wait_for_url(re.compile(rf"/guilds/\d+/{tab.lower()}"))
    found = re.search(r"/guilds/(\d+)/", page.url)
    assert found is not None, page.url
    return int(found.group(1))


async def open_sandbox_channel(page: Any, bot: RunningBot, channel: str) -> None:
    """The Sandbox page, showing #`channel` (picked from the channel list)."""
    await page.goto(f"{bot.url}/sandbox")
    await page.get_by_test_id("guild-name").wait_for()
    nav = page.get_by_role("navigation", name="Channels")
    await nav.get_by_role("link", name=channel, exact=True).click()
    await page.wait_for_url(re.compile(r"[?&]channel=\d+"))
    active = nav.locator("a.dc-channel.active")
    await active.wait_for()
    assert (await active.inner_text()).strip().endswith(channel)


async def run_slash_command(page: Any, path: str, options: dict[str, str]) -> str:
    """Run /`path` from the Sandbox page's command form: pick the command, fill its options
    (a select by its visible label, e.g. "#mod-log" or ">"; else typed), press Run. Returns
    what the page's status line says once the bot answered ("" when all went well)."""
    from playwright.async_api import expect

    form = page.locator("#dc-command")
    await form.get_by_test_id("command").select_option(path)
    fieldset = form.locator(f'fieldset[data-command="{path}"]')
    await fieldset.wait_for(state="visible")
    for name, value in options.items():
        select = fieldset.locator(f'select[name="{name}"]')
        if await select.count():
            await select.select_option(label=value)
        else:
            await fieldset.locator(f'[name="{name}"]').fill(value)
    async with page.expect_response(lambda r: r.url.endswith("/sandbox/api/command")) as answer:
        await form.get_by_role("button", name="Run").click()
    await answer.value
    status = page.get_by_test_id("status")
    await expect(status).not_to_have_text(re.compile(r"^Running /"), timeout=UI_TIMEOUT_MS)
    return (await status.inner_text()).strip()


async def message_texts(page: Any) -> list[str]:
    """The text of every message the Sandbox page shows in the open channel, oldest first."""
    return [text.strip() for text in await page.get_by_test_id("message").all_inner_texts()]


async def embed_fields(scope: Any) -> list[tuple[str, str]]:
    """(name, value) of each embed field drawn inside `scope` (a message or a preview)."""
    names = await scope.locator(".dc-embed-field-name").all_inner_texts()
    values = await scope.locator(".dc-embed-field-value").all_inner_texts()
    return [(n.strip(), v.strip()) for n, v in zip(names, values, strict=True)]


async def chart_points(page: Any, url: str) -> int:
    """Open a Monitoring page URL and return how many points its history chart drew."""
    await page.goto(url)
    await page.wait_for_selector("#history-chart[data-points]", state="attached")
    return int(await page.get_attribute("#history-chart", "data-points") or 0)
