"""Where a process's Python memory is, for `bench/startup.py --breakdown`.

Usage: memory_probe.py OUT.json (SCRIPT ARGS... | -m MODULE ARGS...)

Runs the script or module with tracemalloc tracing one frame per allocation. On SIGUSR1
it writes to OUT.json the traced bytes by category (see `category`) and the size of the
code objects of FoundryCord's own functions; the driver sends it once the process is ready.
tracemalloc's own bookkeeping makes this run's RSS meaningless: the driver reads RSS from
untraced runs and uses this one for the composition only."""

from __future__ import annotations

import gc
import json
import runpy
import signal
import sys
import tracemalloc
import types
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OURS = tuple(f"{ROOT / name}/" for name in ("bot", "cogs", "web", "sandbox", "migrations"))
OUR_MODULES = ("bot", "cogs", "web", "sandbox", "migrations")


def owner(filename: str) -> str:
    """'ours', 'lib:<distribution folder>', 'std:<module>' or 'importlib'."""
    if filename.startswith(OURS):
        return "ours"
    if "<frozen importlib" in filename:
        return "importlib"
    if "site-packages/" in filename:
        return "lib:" + filename.split("site-packages/", 1)[1].split("/", 1)[0]
    if "/python3." in filename and "/lib/" in filename:
        return "std:" + filename.rsplit("/lib/", 1)[1].split("/", 2)[1].removesuffix(".py")
    return "other"


def category(traceback: tracemalloc.Traceback) -> str:
    """One allocation's category, by the code that made it (its innermost frame)."""
    inner = owner(traceback[0].filename)
    return CATEGORIES.get(inner, "other: typing, enum, abc, other libraries' objects")


CATEGORIES = {
    "importlib": "modules' code (bytecode loaded at import)",
    "lib:sqlalchemy": "SQLAlchemy: mapped classes, tables, mapper set-up, statement cache",
    "std:dataclasses": "dataclasses' generated methods",
    "ours": "FoundryCord's objects (module level, caches, state)",
    "lib:nextcord": "nextcord (guild cache, commands)",
    "lib:jinja2": "Jinja2 (environment, compiled templates)",
}


def our_code_bytes() -> int:
    """Bytes in the code objects of FoundryCord's functions (nested ones included)."""
    seen: set[int] = set()

    def size(code: types.CodeType) -> int:
        if id(code) in seen:
            return 0
        seen.add(id(code))
        total = sum(
            sys.getsizeof(part)
            for part in (code, code.co_code, code.co_linetable, code.co_exceptiontable)
        )
        for const in code.co_consts:
            if isinstance(const, types.CodeType):
                total += size(const)
            elif isinstance(const, str | bytes | tuple):
                total += sys.getsizeof(const)
        return total

    gc.unfreeze()  # the bot freezes what start-up made; frozen objects are not listed
    total = 0
    for obj in gc.get_objects():
        if isinstance(obj, types.FunctionType):
            module = obj.__module__ or ""
            if module.split(".", 1)[0] in OUR_MODULES:
                total += size(obj.__code__)
    gc.freeze()
    return total


def dump(out: Path) -> None:
    snapshot = tracemalloc.take_snapshot()
    by_category: Counter[str] = Counter()
    for trace in snapshot.traces:
        by_category[category(trace.traceback)] += trace.size
    threads = next(
        int(line.split()[1])
        for line in Path("/proc/self/status").read_text().splitlines()
        if line.startswith("Threads:")
    )
    report = {
        "threads": threads,
        "traced": sum(by_category.values()),
        "categories": dict(by_category),
        "our_code": our_code_bytes(),
    }
    partial = out.with_suffix(".partial")
    partial.write_text(json.dumps(report))
    partial.replace(out)  # the driver waits for `out`: it appears whole


def main() -> None:
    out, *command = sys.argv[1:]
    tracemalloc.start(1)
    signal.signal(signal.SIGUSR1, lambda *_: dump(Path(out)))
    if command[0] == "-m":
        sys.path[0] = str(Path.cwd())  # as `python -m` has it: not bench/, whose names clash
        sys.argv = command[1:]
        runpy.run_module(command[1], run_name="__main__", alter_sys=True)
    else:
        sys.argv = command
        sys.path[0] = str(Path(command[0]).resolve().parent)
        runpy.run_path(command[0], run_name="__main__")


if __name__ == "__main__":
    main()
