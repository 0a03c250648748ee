"""The collector tuning of `python -m bot` (bot/gc_tuning.py), in processes of their own:
freezing in the test process would keep every later test's cycles."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.line_reader import LineReader

ROOT = Path(__file__).resolve().parents[2]

FREEZE_THEN_MAKE_A_CYCLE = """
import gc, weakref
from bot.gc_tuning import freeze_startup_objects

class Node:
    pass

left_over = Node()
left_over.me = left_over  # garbage from "start-up": collected before the freeze
gone = weakref.ref(left_over)
del left_over
frozen = freeze_startup_objects()
later = Node()
later.me = later  # a cycle made after the freeze is still collected
after = weakref.ref(later)
del later
gc.collect()
print(frozen > 1000, gone() is None, after() is None, gc.get_freeze_count() >= frozen)
"""


def test_start_up_objects_are_frozen_and_later_cycles_still_collected() -> None:
    result = subprocess.run(
        [sys.executable, "-c", FREEZE_THEN_MAKE_A_CYCLE],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True"] * 4


def test_the_bot_freezes_once_ready(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "DATABASE_"))}
    env.update({"PYTHONPATH": str(ROOT), "WEB_PORT": "0", "LOG_LEVEL": "DEBUG"})
    process = subprocess.Popen(
        [sys.executable, "-m", "bot"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    err = LineReader(process.stderr)
    try:
        assert err.wait_for("Ready as FoundryCord", 60), "".join(err.lines[-40:])
        assert err.wait_for("objects of start-up frozen out of the garbage collector", 30)
        process.send_signal(signal.SIGTERM)
        assert process.wait(30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        err.close()
