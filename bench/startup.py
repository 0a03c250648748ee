"""Process start to ready, and peak RSS, of `python -m bot` against the sandbox with one
guild, beside a bare nextcord Bot and the floor (bench/floor_bot.py: a nextcord Bot that
imports exactly the required stack, nextcord, aiohttp.web, SQLAlchemy with its asyncio
extension, aiosqlite and Jinja2, and nothing of ours) connected to the same sandbox in the
same run; and that floor with the stack in use (`floor_bot.py --in-use`: a SQLite engine with
a connection open, a web server listening, a rendered template), which tells what merely using
the stack costs from what is FoundryCord's.

Run: .venv/bin/python bench/startup.py [--rounds N] [--breakdown]. Prints a table; with
--breakdown a second one, of where the every-feature bot's memory is beside the floor's
(bench/memory_probe.py), and a third, of what the levers left would save
(bench/memory_levers.py). The sandbox runs in a
process of its own so neither bot's memory includes it. "peak RSS" is the process's own
high-water mark (VmHWM) SETTLE_S seconds after ready (so the first monitoring sample and the
command sync are in it); "over floor" is that peak less the floor's; "tree peak" is wait4's
ru_maxrss, the largest of the process and the children it waited for (the bot's one-off
migration child on a new database).

The project is compiled to bytecode first, as the image does at build time (Dockerfile:
compileall), so the bot starts from .pyc files as the floor's libraries do; otherwise, with
PYTHONDONTWRITEBYTECODE set, every start would compile each module from source and its peak
would include the compiler's work (about 1 MiB), which no deployed start pays. The sandbox
runs without its identify window (Discord's one IDENTIFY per 5 s): the processes start back
to back, and waiting for the window would time that pacing, not the start."""

from __future__ import annotations

import argparse
import json
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
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from memory_levers import measure as measure_levers  # bench/ is on sys.path
from memory_levers import print_levers

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
SETTLE_S = 3.0  # after ready, before the peak is read: the first sample, the command sync
COMPILED = ("bot", "cogs", "web", "sandbox", "migrations")  # as the Dockerfile's compileall


@dataclass
class Run:
    ready_s: float
    peak_rss_mib: float  # the process itself: VmHWM when ready
    anon_mib: float  # RssAnon then: its private memory (Python's heap, C libraries, stacks)
    file_mib: float  # RssFile then: mapped files (the interpreter, extension modules)
    tree_peak_rss_mib: float  # ru_maxrss from wait4: the largest of it and its children
    exit_code: int


def memory_mib(pid: int) -> dict[str, float]:
    """VmHWM, RssAnon and RssFile of a live process, in MiB."""
    found: dict[str, float] = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            name, _, value = line.partition(":")
            if name in ("VmHWM", "RssAnon", "RssFile"):
                found[name] = int(value.split()[0]) / 1024
    if len(found) != 3:
        raise RuntimeError(f"/proc/{pid}/status lacks VmHWM, RssAnon or RssFile")
    return found


def start_sandbox(token: str) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        # No identify window: the processes start one after another against this one
        # sandbox, and Discord's one IDENTIFY per 5 s would time that pacing, not the start.
        [PYTHON, "-m", "sandbox", f"--token={token}", "--identify-window", "0"],
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


def measure(
    command: list[str],
    env: dict[str, str],
    ready_marker: str,
    timeout: float,
    when_settled: Callable[[subprocess.Popen[str]], None] | None = None,
) -> Run:
    """Start `command`, time it until `ready_marker` shows on stderr, read its peak RSS,
    call `when_settled` with it, then stop it with SIGTERM."""
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
    deadline = started + timeout
    while not ready.wait(0.2):
        if process.poll() is not None or time.perf_counter() > deadline:
            process.kill()
            process.wait()
            watcher.join(5)
            raise RuntimeError(f"not ready (exit {process.returncode}):\n" + "".join(lines[-20:]))
    time.sleep(SETTLE_S)
    memory = memory_mib(process.pid)
    if when_settled is not None:
        when_settled(process)
    process.send_signal(signal.SIGTERM)
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    watcher.join(5)
    return Run(
        ready_at[0] - started,
        memory["VmHWM"],
        memory["RssAnon"],
        memory["RssFile"],
        usage.ru_maxrss / 1024,
        process.returncode,
    )


def feature_sets() -> list[tuple[str, str]]:
    """(row label, FEATURES value): the ground alone, each feature with it, then all."""
    sys.path.insert(0, str(ROOT))
    from bot.client import REQUIRED_FEATURES, discover_extensions

    names = [e.removeprefix("cogs.") for e in discover_extensions()]
    extra = [n for n in names if n not in REQUIRED_FEATURES]
    ground = ",".join(sorted(REQUIRED_FEATURES))
    sets = [(f"ground only ({ground})", ground)]
    sets += [(f"ground + {name}", f"{ground},{name}") for name in extra]
    if len(extra) > 1:
        sets.append(("every feature", ""))
    return sets


def composition(command: list[str], env: dict[str, str], ready_marker: str) -> dict:
    """Run `command` under bench/memory_probe.py and return what it found once settled."""
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "composition.json"

        def ask(process: subprocess.Popen[str]) -> None:
            process.send_signal(signal.SIGUSR1)
            deadline = time.monotonic() + 120
            while not out.exists() and time.monotonic() < deadline:
                time.sleep(0.2)

        probe = [PYTHON, "bench/memory_probe.py", str(out), *command]
        measure(probe, env, ready_marker, 300, when_settled=ask)
        if not out.exists():
            raise RuntimeError(f"the memory probe wrote nothing for {command}")
        return json.loads(out.read_text())


def print_breakdown(floor: dict, bot: dict, floor_runs: list[Run], bot_runs: list[Run]) -> None:
    """The every-feature bot's memory beside the floor's, part by part: Python objects by
    what allocated them (traced runs), then what Python's allocator does not see and the
    mapped files (from the untraced runs' RssAnon and RssFile)."""
    mib = 1024 * 1024

    def row(name: str, floor_mib: float, bot_mib: float) -> None:
        print(
            f"| {name:<78} | {floor_mib:>7.2f} | {bot_mib:>7.2f} | {bot_mib - floor_mib:>+7.2f} |"
        )

    print("\nwhere the every-feature bot's memory is, beside the floor (MiB)\n")
    print(f"| {'part':<78} | {'floor':>7} | {'bot':>7} | {'diff':>7} |")
    print(f"|{'-' * 80}|{'-' * 9}|{'-' * 9}|{'-' * 9}|")
    names = sorted(set(floor["categories"]) | set(bot["categories"]))
    for name in names:
        row(name, floor["categories"].get(name, 0) / mib, bot["categories"].get(name, 0) / mib)
    row("Python objects, all of the above", floor["traced"] / mib, bot["traced"] / mib)
    floor_anon = statistics.median(r.anon_mib for r in floor_runs)
    bot_anon = statistics.median(r.anon_mib for r in bot_runs)
    row(
        f"outside Python's allocator: SQLite, stacks of threads ({floor['threads']} / "
        f"{bot['threads']}), slack",
        floor_anon - floor["traced"] / mib,
        bot_anon - bot["traced"] / mib,
    )
    row(
        "mapped files (interpreter, extension modules)",
        statistics.median(r.file_mib for r in floor_runs),
        statistics.median(r.file_mib for r in bot_runs),
    )
    row(
        "resident in all (RssAnon + RssFile, untraced runs)",
        floor_anon + statistics.median(r.file_mib for r in floor_runs),
        bot_anon + statistics.median(r.file_mib for r in bot_runs),
    )
    print(
        f"\nOf the bot's Python objects, the code objects of FoundryCord's own functions take "
        f"{bot['our_code'] / mib:.2f} MiB (counted above under bytecode loaded and dataclasses' "
        "generated methods). The Python parts come from one run of each under tracemalloc, "
        "each allocation counted for the code that made it; the resident totals from the "
        "untraced runs above."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--breakdown",
        action="store_true",
        help="also run the floor and the every-feature bot under tracemalloc once and print "
        "where their memory is, part by part, and what the levers left would save (about two "
        "minutes more)",
    )
    args = parser.parse_args()

    subprocess.run([PYTHON, "-m", "compileall", "-q", *COMPILED], cwd=ROOT, check=True)
    token = secrets.token_urlsafe(24)
    sandbox, url = start_sandbox(token)
    bare_name, first = "bare nextcord Bot", "python -m bot, new database"
    floor_name = "floor: nextcord + required stack"
    in_use_name = "floor, the stack in use (engine, web server)"
    sets = feature_sets()
    results: dict[str, list[Run]] = {bare_name: [], floor_name: [], in_use_name: [], first: []}
    results.update({f"{label}, migrated database": [] for label, _ in sets})
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("DISCORD_")}
    bot_command = [PYTHON, "-m", "bot", "--sandbox-url", url]

    def bot_env(data_dir: str) -> dict[str, str]:
        return {
            **base_env,
            "DISCORD_TOKEN": token,
            "DATA_DIR": data_dir,
            "WEB_PORT": "0",
            "DATABASE_URL": "",
            "REDIS_URL": "",
            "FEATURES": "",
            "PYTHONPATH": str(ROOT),
        }

    breakdown: tuple[dict, dict] | None = None
    try:
        for _ in range(args.rounds):  # interleaved, so drift on a shared machine hits all rows
            results[bare_name].append(
                measure([PYTHON, "bench/bare_bot.py", url, token], base_env, "READY", 60)
            )
            results[floor_name].append(
                measure([PYTHON, "bench/floor_bot.py", url, token], base_env, "READY", 60)
            )
            results[in_use_name].append(
                measure(
                    [PYTHON, "bench/floor_bot.py", url, token, "--in-use"], base_env, "READY", 60
                )
            )
            with tempfile.TemporaryDirectory() as data_dir:
                # The first start creates the schema (every feature's tables); the others
                # find it at head.
                results[first].append(measure(bot_command, bot_env(data_dir), "Ready as", 60))
                for label, features in sets:
                    env = {**bot_env(data_dir), "FEATURES": features}
                    run = measure(bot_command, env, "Ready as", 60)
                    results[f"{label}, migrated database"].append(run)
        if args.breakdown:
            floor_parts = composition(["bench/floor_bot.py", url, token], base_env, "READY")
            with tempfile.TemporaryDirectory() as data_dir:
                measure(bot_command, bot_env(data_dir), "Ready as", 60)  # migrates
                bot_parts = composition(
                    ["-m", "bot", "--sandbox-url", url], bot_env(data_dir), "Ready as"
                )
            breakdown = (floor_parts, bot_parts)
    finally:
        sandbox.send_signal(signal.SIGTERM)
        sandbox.wait(10)

    bare_rss = statistics.median(r.peak_rss_mib for r in results[bare_name])
    bare_ready = statistics.median(r.ready_s for r in results[bare_name])
    floor_rss = statistics.median(r.peak_rss_mib for r in results[floor_name])
    print(f"\nstart-up against the sandbox, one guild, {args.rounds} rounds (median)\n")
    print(
        f"| {'process':<44} | {'start to ready (s)':>18} | {'peak RSS (MiB)':>14} "
        f"| {'RSS ratio':>9} | {'over floor (MiB)':>16} | {'tree peak (MiB)':>15} | exit |"
    )
    print(f"|{'-' * 46}|{'-' * 20}|{'-' * 16}|{'-' * 11}|{'-' * 18}|{'-' * 17}|------|")
    for name, runs in results.items():
        ready = statistics.median(r.ready_s for r in runs)
        rss = statistics.median(r.peak_rss_mib for r in runs)
        tree = statistics.median(r.tree_peak_rss_mib for r in runs)
        codes = ",".join(sorted({str(r.exit_code) for r in runs}))
        print(
            f"| {name:<44} | {ready:>18.2f} | {rss:>14.1f} | {rss / bare_rss:>8.2f}x "
            f"| {rss - floor_rss:>+16.1f} | {tree:>15.1f} | {codes:>4} |"
        )
    print(
        f"\nTargets: ready under 1.0 s with a migrated database (the bare bot took "
        f"{bare_ready:.2f} s: it waits nextcord's guild_ready_timeout of 2 s); peak RSS at most "
        "4 MiB over the floor with every feature (issue 16; the floor peaked at "
        f"{floor_rss:.1f} MiB in this run)."
    )
    if breakdown is not None:
        every = results["every feature, migrated database"]
        print_breakdown(*breakdown, results[floor_name], every)
        over_floor = statistics.median(r.peak_rss_mib for r in every) - floor_rss
        print_levers(measure_levers(), over_floor)


if __name__ == "__main__":
    main()
