"""`python -m bot`: run FoundryCord (against Discord with a token, else the local sandbox)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TextIO

from bot import __version__
from bot.settings import Settings, SettingsError, load_settings

log = logging.getLogger("bot")

DESCRIPTION = """\
FoundryCord: a self-hosted Discord bot with channel templates, host monitoring,
live dashboards and a web editor, in one process.

modes:
  with DISCORD_TOKEN set      connect to Discord (sharded when SHARD_COUNT is set)
  without DISCORD_TOKEN       run offline against the built-in sandbox (a local
                              Discord-compatible server with a demo guild); its world
                              is saved in DATA_DIR/sandbox_world.json and kept across
                              restarts until --sandbox-reset
  db upgrade|downgrade|current  database chores (Alembic migrations)
  signin                      print a fresh one-time web sign-in link for each owner,
                              while the bot runs (offline, there is no /web to run)

Settings come from the environment and a .env file; see .env.example.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"FoundryCord {__version__}")
    parser.add_argument(
        "--env-file", type=Path, default=Path(".env"), help="settings file (default: .env)"
    )
    parser.add_argument(
        "--sandbox",
        action="store_true",
        help="run against the local sandbox even when DISCORD_TOKEN is set",
    )
    parser.add_argument(
        "--record",
        type=Path,
        metavar="FILE",
        help="sandbox mode: write every REST call and gateway dispatch to FILE as JSON lines",
    )
    parser.add_argument(
        "--sandbox-url",
        metavar="URL",
        help="connect to an already running sandbox (python -m sandbox) instead of starting "
        "one; DISCORD_TOKEN must be its token",
    )
    parser.add_argument(
        "--sandbox-reset",
        action="store_true",
        help="delete the saved sandbox world and run offline with a fresh demo world; asks "
        "first (in a terminal), --yes answers for you",
    )
    parser.add_argument(
        "--yes",
        action="store_true",
        help="with --sandbox-reset: do not ask (needed when not run in a terminal)",
    )
    parser.add_argument(
        "--check-config", action="store_true", help="validate the settings and exit"
    )
    sub = parser.add_subparsers(dest="command")
    db = sub.add_parser("db", help="database migrations")
    db.add_argument("action", choices=["upgrade", "downgrade", "current"])
    db.add_argument("revision", nargs="?", help="target revision (default: every head / one step)")
    signin = sub.add_parser(
        "signin",
        help="print a fresh one-time web editor sign-in link for each owner (works while the "
        "bot runs; needs the bot's data folder, so only its operator can)",
    )
    signin.add_argument(
        "--user",
        type=_user_id,
        metavar="ID",
        help="the Discord user id to sign in (default: the owners)",
    )
    add_feature_commands(sub)
    return parser


def _user_id(raw: str) -> int:
    from bot.guild_objects import parse_snowflake

    value = parse_snowflake(raw)
    if value is None:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a Discord user id")
    return value


def add_feature_commands(sub: argparse._SubParsersAction) -> None:
    """Subcommands of the feature packages: each `cogs/<feature>/cli.py` that exists gets
    `register(subparsers)` and sets `run(args, settings) -> exit code` as a default."""
    import importlib
    import pkgutil

    import cogs

    for module in sorted(pkgutil.iter_modules(cogs.__path__), key=lambda m: m.name):
        # Looked for as a file, so that a feature without one is not imported at all (the
        # agent's start-up stays light: no nextcord, no SQLAlchemy).
        folder = Path(module.module_finder.path) / module.name  # type: ignore[union-attr]
        if module.ispkg and (folder / "cli.py").is_file():
            importlib.import_module(f"cogs.{module.name}.cli").register(sub)


def fail(message: str) -> int:
    print(f"foundrycord: error: {message}", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings(env_file=args.env_file)
    except SettingsError as exc:
        return fail(str(exc))
    if args.command == "db":
        return asyncio.run(_db_command(settings, args.action, args.revision))
    if args.command == "signin":
        return asyncio.run(_signin_command(settings, args.user))
    if getattr(args, "run", None) is not None and not args.check_config:
        return int(args.run(args, settings))  # a feature's subcommand (the light agent)
    from bot.client import UnknownFeature, selected_extensions

    try:
        selected_extensions(settings.features)
    except UnknownFeature as exc:
        return fail(str(exc))
    if args.check_config:
        print("Settings are valid.")
        return 0

    from bot.logging_setup import setup_logging

    if args.yes and not args.sandbox_reset:
        return fail("--yes only goes with --sandbox-reset")
    if args.sandbox_reset:
        if args.sandbox_url is not None:
            return fail(
                "--sandbox-reset resets the built-in sandbox's saved world; it does not apply "
                "to a sandbox at --sandbox-url"
            )
        stop_code = reset_sandbox_world(settings, assume_yes=args.yes)
        if stop_code is not None:
            return stop_code

    log_buffer = setup_logging(settings.log_level, settings.data_dir, settings.secrets())
    offline = (
        args.sandbox
        or args.sandbox_reset
        or args.sandbox_url is not None
        or settings.discord_token is None
    )
    if args.record and not offline:
        return fail("--record works in sandbox mode only (no DISCORD_TOKEN, or --sandbox)")
    from bot.malloc import limit_arenas

    limit_arenas()  # before the first thread starts: see bot/malloc.py
    try:
        return asyncio.run(
            _serve(settings, log_buffer, offline=offline, record=args.record, url=args.sandbox_url)
        )
    except KeyboardInterrupt:
        return 130


def reset_sandbox_world(
    settings: Settings, *, assume_yes: bool, stdin: TextIO | None = None
) -> int | None:
    """Delete the saved sandbox world after a confirmation. None: go on and run (with a fresh
    world); an exit code: stop here (the user said no, or cannot be asked)."""
    from bot.offline import reset_saved_world, world_path

    stdin = stdin or sys.stdin
    path = world_path(settings)
    if not path.exists():
        print(f"No saved sandbox world in {path}: starting a fresh demo world.", flush=True)
        return None
    if not assume_yes:
        if not stdin.isatty():
            return fail(
                f"--sandbox-reset deletes the saved sandbox world in {path}; run it in a "
                "terminal to confirm, or add --yes"
            )
        print(
            f"Delete the saved sandbox world in {path} (its guild, channels, members and "
            "messages) and start a fresh demo world? [y/N] ",
            end="",
            flush=True,
        )
        if stdin.readline().strip().lower() not in ("y", "yes"):
            print("Nothing was reset.")
            return 0
    reset_saved_world(settings)
    print("Deleted the saved sandbox world: starting a fresh demo world.", flush=True)
    return None


async def _db_command(settings: Settings, action: str, revision: str | None) -> int:
    from bot.database import Database, DatabaseUnavailable

    try:
        db = await Database.connect(settings.database_url, retries=0)
    except DatabaseUnavailable as exc:
        return fail(str(exc))
    try:
        if action == "upgrade":
            await db.upgrade(revision or "heads")
        elif action == "downgrade":
            await db.downgrade(revision or "-1")
        else:
            from alembic.runtime.migration import MigrationContext

            async with db.engine.connect() as connection:
                heads = await connection.run_sync(
                    lambda sync: MigrationContext.configure(sync).get_current_heads()
                )
            print(", ".join(heads) or "base (no migrations applied)")
    finally:
        await db.dispose()
    return 0


async def _signin_command(settings: Settings, user_id: int | None) -> int:
    """Issue one-time sign-in links into the bot's database, signed with the key in its data
    folder, so the running web server accepts them. Whoever can read DATA_DIR (the key file
    is mode 600) and reach the database is the bot's operator; nobody else can run this."""
    from sqlalchemy.exc import SQLAlchemyError

    from bot.database import Database, DatabaseUnavailable
    from bot.secret_key import KEY_FILE, SecretKeyError, load_session_key
    from web.signin import SignInLinks

    if settings.secret_key is None and not (settings.data_dir / KEY_FILE).exists():
        return fail(
            f"no FoundryCord key in {settings.data_dir}: start the bot once with this "
            "DATA_DIR (and in this folder), then run signin again"
        )
    try:
        session_key = load_session_key(settings)
    except (SecretKeyError, OSError) as exc:
        return fail(f"cannot read the bot's key: {exc}")
    owners = set(settings.owner_ids)
    if settings.discord_token is None:  # offline: the sandbox's demo owner is an owner too
        from bot.offline import saved_owner_ids

        owners |= saved_owner_ids(settings)
    users = [user_id] if user_id is not None else sorted(owners)
    if not users:
        return fail("no owners: set OWNER_IDS to your Discord user id, or pass --user ID")
    try:
        db = await Database.connect(settings.database_url, retries=0)
    except DatabaseUnavailable as exc:
        return fail(str(exc))
    try:
        links = SignInLinks(db, session_key, settings.public_url)
        for user in users:
            link = await links.issue(user)
            print(f"Sign-in link for user {user} (single use, 10 minutes): {link}", flush=True)
    except SQLAlchemyError:
        return fail(
            "the database has no FoundryCord tables yet: start the bot first (or run "
            "python -m bot db upgrade)"
        )
    finally:
        await db.dispose()
    return 0


async def _serve(
    settings: Settings, log_buffer, *, offline: bool, record: Path | None, url: str | None
) -> int:
    from bot.database import DatabaseUnavailable
    from bot.migrate import MigrationFailed
    from bot.runtime import BotProcess, StartupError
    from bot.secret_key import SecretKeyError

    offline_session = None
    if offline:
        from bot.offline import start_offline

        try:
            offline_session = await start_offline(settings, record=record, sandbox_url=url)
        except ValueError as exc:
            return fail(str(exc))
        settings, token = offline_session.settings, offline_session.token
        extras = offline_session.web_extras
        where = url or offline_session.sandbox.base_url  # type: ignore[attr-defined]
        log.info("Running offline against the sandbox at %s", where)
    else:
        assert settings.discord_token is not None
        token, extras = settings.discord_token.get(), None
        import nextcord.http

        # DISCORD_API_BASE: Discord itself by default, or a REST proxy in front of it.
        nextcord.http.Route.BASE = settings.discord_api_base

    process = BotProcess(settings, token, log_buffer=log_buffer, web_extras=extras)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    exit_code = 0
    freezing: asyncio.Task[None] | None = None
    try:
        # A signal stops start-up too (database retries, migrations), not only the run.
        if await _unless_stopped(process.start(), stop):
            freezing = asyncio.create_task(_freeze_when_ready(process), name="gc-freeze")
            await _announce(process)
            await _unless_stopped(process.wait_closed(), stop)
        log.info("Shutting down")
    except (DatabaseUnavailable, StartupError, MigrationFailed, SecretKeyError) as exc:
        exit_code = fail(str(exc))
    except Exception as exc:
        from web.server import WebPortInUse

        if isinstance(exc, WebPortInUse):
            exit_code = fail(str(exc))
        else:
            import nextcord

            if isinstance(exc, nextcord.LoginFailure):
                exit_code = fail("Discord refused the token: check DISCORD_TOKEN")
            elif isinstance(exc, nextcord.PrivilegedIntentsRequired):
                exit_code = fail(
                    "Discord refused the Server Members intent: enable it for the bot in "
                    "the Developer Portal (Bot > Privileged Gateway Intents)"
                )
            else:
                log.exception("FoundryCord stopped on an unexpected error")
                exit_code = 1
    finally:
        if freezing is not None:
            freezing.cancel()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        await process.stop()
        if offline_session is not None:
            await offline_session.stop()
    return exit_code


async def _unless_stopped(work: Coroutine[Any, Any, Any], stop: asyncio.Event) -> bool:
    """Run `work` until it ends (True; its error is raised) or `stop` is set (False; `work`
    is cancelled)."""
    task = asyncio.create_task(work)
    stopping = asyncio.create_task(stop.wait())
    await asyncio.wait({task, stopping}, return_when=asyncio.FIRST_COMPLETED)
    stopping.cancel()
    if not task.done():
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        return False
    task.result()
    return True


async def _freeze_when_ready(process) -> None:  # type: ignore[no-untyped-def]
    """Once the bot is ready, take what start-up made out of the collector's generations
    (bot/gc_tuning.py); a failed start is the caller's to report."""
    from bot.gc_tuning import freeze_startup_objects

    try:
        await process.wait_ready(timeout=3600)
    except Exception:
        return
    frozen = freeze_startup_objects()
    log.debug("%d objects of start-up frozen out of the garbage collector", frozen)


async def _announce(process) -> None:
    """Print one-time sign-in links for the owners (stdout, never the log file)."""
    from web.signin import SIGNIN_COMMAND

    settings = process.settings
    if process.web_url is None:
        return
    print(f"Web editor: {process.web_url}", flush=True)
    if not settings.owner_ids:
        print(
            "No OWNER_IDS set: set it to your Discord user id to approve servers and sign in.",
            flush=True,
        )
        return
    for owner_id in sorted(settings.owner_ids):
        link = await process.web_context.signin.issue(owner_id)
        print(f"Sign-in link for owner {owner_id} (single use, 10 minutes): {link}", flush=True)
    print(
        f"Link expired or used? Run `{SIGNIN_COMMAND}` here (while the bot runs) for a fresh "
        "one" + ("." if process.web_context.offline else ", or /web in Discord."),
        flush=True,
    )


if __name__ == "__main__":
    sys.exit(main())
