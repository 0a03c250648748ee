"""Process start to ready, and peak RSS, of `python -m bot` against the sandbox with one
guild, beside a bare nextcord Bot connected to the same sandbox in the same run.

Run: .venv/bin/python bench/startup.py [--rounds N]. Prints a table. The sandbox runs in a
process of its own so neither bot's memory includes it. "peak RSS" is the process's own
high-water mark (VmHWM) once ready; "tree peak" is wait4's ru_maxrss, the largest of the
process and the children it waited for (the bot's one-off migration child on a new
database)."""

from __future__ import annotations

import argparse
import os
import re
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable


@dataclass
class Run:
    ready_s: float
    peak_rss_mib: float  # the process itself: VmHWM when ready
    tree_peak_rss_mib: float  # ru_maxrss from wait4: the largest of it and its children
    exit_code: int


def high_water_mark_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc status")


def start_sandbox(token: str) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [PYTHON, "-m", "sandbox", "--token", token],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    for line in process.stdout:
        match = re.match(r"Sandbox listening on (\S+)", line)
        if match:
            return process, match.group(1)
    raise RuntimeError("the sandbox did not start")


def measure(command: list[str], env: dict[str, str], ready_marker: str, timeout: float) -> Run:
    """Start `command`, time it until `ready_marker` shows on stderr, then stop it with
    SIGTERM and read its peak RSS."""
    started = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    ready = threading.Event()
    ready_at: list[float] = []
    lines: list[str] = []

    def watch() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            lines.append(line)
            if ready_marker in line and not ready.is_set():
                ready_at.append(time.perf_counter())
                ready.set()

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    if not ready.wait(timeout):
        process.kill()
        os.wait4(process.pid, 0)
        raise RuntimeError("not ready in time:\n" + "".join(lines[-20:]))
    peak = high_water_mark_mib(process.pid)
    process.send_signal(signal.SIGTERM)
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    watcher.join(5)
    return Run(ready_at[0] - started, peak, usage.ru_maxrss / 1024, process.returncode)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    token = secrets.token_urlsafe(24)
    sandbox, url = start_sandbox(token)
    first, again = "python -m bot, new database", "python -m bot, migrated database"
    results: dict[str, list[Run]] = {"bare nextcord Bot": [], first: [], again: []}
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("DISCORD_")}
    bot_command = [PYTHON, "-m", "bot", "--sandbox-url", url]
    try:
        for _ in range(args.rounds):
            results["bare nextcord Bot"].append(
                measure([PYTHON, "bench/bare_bot.py", url, token], base_env, "READY", 60)
            )
            with tempfile.TemporaryDirectory() as data_dir:
                bot_env = {
                    **base_env,
                    "DISCORD_TOKEN": token,
                    "DATA_DIR": data_dir,
                    "WEB_PORT": "0",
                    "DATABASE_URL": "",
                    "REDIS_URL": "",
                    "PYTHONPATH": str(ROOT),
                }
                # The first start creates the schema; the second finds it at head.
                results[first].append(measure(bot_command, bot_env, "Ready as", 60))
                results[again].append(measure(bot_command, bot_env, "Ready as", 60))
    finally:
        sandbox.send_signal(signal.SIGTERM)
        sandbox.wait(10)

    print(f"\nstart-up against the sandbox, one guild, {args.rounds} rounds (median)\n")
    print(
        f"| {'process':<32} | {'start to ready (s)':>18} | {'peak RSS (MiB)':>14} "
        f"| {'tree peak (MiB)':>15} | exit |"
    )
    print(f"|{'-' * 34}|{'-' * 20}|{'-' * 16}|{'-' * 17}|------|")
    for name, runs in results.items():
        ready = statistics.median(r.ready_s for r in runs)
        rss = statistics.median(r.peak_rss_mib for r in runs)
        tree = statistics.median(r.tree_peak_rss_mib for r in runs)
        codes = ",".join(sorted({str(r.exit_code) for r in runs}))
        print(f"| {name:<32} | {ready:>18.2f} | {rss:>14.1f} | {tree:>15.1f} | {codes:>4} |")
    bare = statistics.median(r.peak_rss_mib for r in results["bare nextcord Bot"])
    for name in (first, again):
        ours = statistics.median(r.peak_rss_mib for r in results[name])
        print(f"peak RSS ratio ({name} / bare): {ours / bare:.2f}x (target: at most 1.5x)")
    print("\nBoth bots wait nextcord's default guild_ready_timeout (2 s) after the last guild.")


if __name__ == "__main__":
    main()
