"""What the levers left for issue 16's memory target would save, each measured in a fresh
process: the bot's SQLAlchemy mapping against the same tables as Core objects only, and
the feature modules the bot needs only when a page or a subcommand is first used.

Run: .venv/bin/python bench/memory_levers.py (about 10 s). `bench/startup.py --breakdown`
prints the same table after its own. Every row is Python memory that tracemalloc traced,
measured after a garbage collection: it is what the lever would take off the bot's
resident memory at most (the allocator keeps some of what is freed)."""

from __future__ import annotations

import gc
import importlib
import importlib.util
import json
import pkgutil
import subprocess
import sys
import tempfile
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MIB = 1024 * 1024
FIRST_USE = ("web", "cli")  # feature modules loaded only by a page or a subcommand


def _features() -> list[str]:
    from bot.client import discover_extensions

    return discover_extensions()


def _sqlalchemy_bytes() -> int:
    """Live bytes allocated by SQLAlchemy's own code."""
    gc.collect()
    snapshot = tracemalloc.take_snapshot().filter_traces(
        [tracemalloc.Filter(True, "*/sqlalchemy/*")]
    )
    return sum(stat.size for stat in snapshot.statistics("filename"))


def mapped(schema_file: str) -> dict[str, int]:
    """The mapped classes of the bot and every feature, mappers configured, as the bot has
    them at rest; then their schema written to `schema_file` for `core`."""
    # SQLAlchemy's modules are loaded before tracing starts, as they are in the floor.
    import sqlalchemy
    import sqlalchemy.dialects.sqlite.aiosqlite
    import sqlalchemy.ext.asyncio
    import sqlalchemy.orm

    tracemalloc.start()
    importlib.import_module("bot.models")
    for extension in _features():
        if importlib.util.find_spec(f"{extension}.models") is not None:
            importlib.import_module(f"{extension}.models")
    sqlalchemy.orm.configure_mappers()
    from bot.database import Base

    found = {
        "bytes": _sqlalchemy_bytes(),
        "tables": len(Base.metadata.tables),
        "mappers": len(Base.registry.mappers),
    }
    tracemalloc.stop()
    engine = sqlalchemy.create_engine(f"sqlite:///{schema_file}")
    Base.metadata.create_all(engine)
    engine.dispose()
    return found


def core(schema_file: str) -> dict[str, int]:
    """The same tables as Core objects only (Table, Column, indexes, constraints), read back
    from the schema the mapped classes created."""
    # SQLAlchemy's modules are loaded before tracing starts, as they are in the floor.
    import sqlalchemy
    import sqlalchemy.dialects.sqlite.aiosqlite
    import sqlalchemy.ext.asyncio
    import sqlalchemy.orm

    def reflect() -> sqlalchemy.MetaData:
        engine = sqlalchemy.create_engine(f"sqlite:///{schema_file}")
        metadata = sqlalchemy.MetaData()
        metadata.reflect(engine)
        engine.dispose()
        return metadata

    reflect()  # the first reflection loads the dialect's reflection code: not the lever's
    tracemalloc.start()
    metadata = reflect()
    return {"bytes": _sqlalchemy_bytes(), "tables": len(metadata.tables)}


def first_use(kind: str) -> dict[str, object]:
    """Import everything the bot loads to run, then the features' `kind` modules (`web` or
    `cli`): what those add (with what only they import) is what loading them on first use
    would save."""
    importlib.import_module("bot.runtime")
    importlib.import_module("web.app")
    later: list[str] = []
    for extension in _features():
        package = importlib.import_module(extension)
        for module in pkgutil.walk_packages(package.__path__, f"{extension}."):
            leaf = module.name.rsplit(".", 1)[1]
            if leaf in FIRST_USE:
                if leaf == kind:
                    later.append(module.name)
            elif module.name.count(".") == 2:  # the feature's own modules, not migrations
                importlib.import_module(module.name)
    already = [name for name in later if name in sys.modules]
    if already:
        raise RuntimeError(f"imported by a module the bot needs to run: {already}")
    gc.collect()
    tracemalloc.start()
    for name in later:
        importlib.import_module(name)
    gc.collect()
    traced, _ = tracemalloc.get_traced_memory()
    return {"bytes": traced, "modules": later}


def child(name: str, *args: str) -> dict:
    result = subprocess.run(
        [sys.executable, __file__, "--child", name, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"{name} failed:\n{result.stderr}")
    return json.loads(result.stdout)


def measure() -> list[tuple[str, float, float]]:
    """(lever, MiB the bot has now, MiB after the lever) rows."""
    with tempfile.TemporaryDirectory() as folder:
        schema = str(Path(folder) / "schema.db")
        orm = child("mapped", schema)
        tables = child("core", schema)
    if tables["tables"] != orm["tables"]:
        raise RuntimeError(f"reflected {tables['tables']} tables of {orm['tables']}")
    web = child("first_use", "web")
    cli = child("first_use", "cli")
    return [
        (
            f"the stores on Core tables, not mapped classes ({orm['tables']} tables): "
            "SQLAlchemy's objects",
            orm["bytes"] / MIB,
            tables["bytes"] / MIB,
        ),
        (
            f"feature web pages loaded on first request ({len(web['modules'])} modules)",
            web["bytes"] / MIB,
            0.0,
        ),
        (
            f"feature subcommands loaded on first use ({len(cli['modules'])} modules)",
            cli["bytes"] / MIB,
            0.0,
        ),
    ]


def print_levers(rows: list[tuple[str, float, float]], over_floor: float | None = None) -> None:
    print("\nwhat the levers left would save (MiB of Python memory, each in a fresh process)\n")
    print(f"| {'lever':<82} | {'now':>6} | {'after':>6} | {'saves':>6} |")
    print(f"|{'-' * 84}|{'-' * 8}|{'-' * 8}|{'-' * 8}|")
    saved = 0.0
    for lever, now, after in rows:
        saved += now - after
        print(f"| {lever:<82} | {now:>6.2f} | {after:>6.2f} | {now - after:>6.2f} |")
    print(f"| {'all of them':<82} | {'':>6} | {'':>6} | {saved:>6.2f} |")
    if over_floor is not None:
        print(
            f"\nThe every-feature bot peaked {over_floor:+.1f} MiB over the floor; with every "
            f"lever above it would be about {over_floor - saved:+.1f} MiB (target: +4.0)."
        )


def main() -> None:
    if sys.argv[1:2] == ["--child"]:
        sys.path.insert(0, str(ROOT))
        name, *args = sys.argv[2:]
        found = {"mapped": mapped, "core": core, "first_use": first_use}[name](*args)
        print(json.dumps(found))
        return
    print_levers(measure())


if __name__ == "__main__":
    main()
