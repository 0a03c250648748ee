"""`python -m bot template export|plan|apply`: templates from the command line, for people
who keep their server's structure in git. Talks REST with the bot's token (or to the
sandbox: `--sandbox-url`, or offline with no token) and uses the same job, lock and
journal as the slash command. `plan` exits 0 when nothing would change, 2 when something
would, 1 when the template is refused."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.settings import Settings

NOTHING, REFUSED, CHANGES = 0, 1, 2


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "template",
        help="channel templates: export a server, plan or apply a template file",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(dest="template_action", required=True)
    export = actions.add_parser("export", help="write the server's structure as a template")
    export.add_argument("-o", "--output", type=Path, help="file to write (default: stdout)")
    export.add_argument("--name", default=None, help="template name (default: the server's)")
    for name, text in (
        ("plan", "show what applying a template would change (exit 2: changes, 0: none)"),
        ("apply", "make the server match a template, as a resumable job"),
    ):
        action = actions.add_parser(name, help=text)
        action.add_argument("template", help="a template JSON file, or builtin:NAME")
        action.add_argument("--prune", action="store_true", help="delete what the template lacks")
        action.add_argument("--no-roles", action="store_true", help="leave roles alone")
        action.add_argument(
            "--delete-with-messages",
            default="",
            metavar="NAMES",
            help="with --prune: channels holding messages that may go (comma-separated)",
        )
    for action in (export, *(actions.choices[n] for n in ("plan", "apply"))):
        action.add_argument("--guild", type=int, help="server id (default: the only one)")
    parser.set_defaults(run=main)


def main(args: argparse.Namespace, settings: Settings) -> int:
    return asyncio.run(_run(args, settings))


def _read_template(source: str) -> Any:
    from cogs.templates.document import load_document
    from cogs.templates.service import builtin_names, load_builtin

    if source.startswith("builtin:"):
        name = source.removeprefix("builtin:")
        if name not in builtin_names():
            raise LookupError(f"no built-in template {name!r} ({', '.join(builtin_names())})")
        return load_builtin(name)
    return load_document(Path(source).read_bytes())


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    import nextcord
    from nextcord.http import Route

    from bot.database import Database
    from bot.discord_http import CorrectedHTTPClient
    from bot.migrate import ensure_migrated
    from cogs.templates.document import TemplateError

    offline = None
    token = settings.discord_token.get() if settings.discord_token else None
    if args.sandbox_url:
        if token is None:
            return _fail("--sandbox-url needs DISCORD_TOKEN set to that sandbox's token")
        Route.BASE = args.sandbox_url.rstrip("/") + "/api/v10"
    elif token is None:
        from bot.offline import start_offline

        offline = await start_offline(settings)
        token = offline.token
    # The project's corrected rate limiter, as the bot uses (bot/discord_http.py): nextcord's
    # stock client files every channel's requests under one shared bucket.
    http = CorrectedHTTPClient(dispatch=lambda *_args, **_kwargs: None)
    db = None
    try:
        me = await http.static_login(f"Bot {token}")
        guild_id = args.guild or await _only_guild(http, Route)
        if guild_id is None:
            return _fail("the bot is in several servers (or none): pass --guild ID")
        db = await Database.connect(settings.database_url, retries=0)
        await ensure_migrated(db)
        return await _act(args, db, http, int(me["id"]), guild_id)
    except (TemplateError, LookupError, OSError) as exc:
        errors = getattr(exc, "errors", None) or [str(exc)]
        print("The template was refused:", *(f"  {e}" for e in errors), sep="\n", file=sys.stderr)
        return REFUSED
    except nextcord.HTTPException as exc:
        return _fail(f"Discord answered {exc.status}: {exc.text}")
    finally:
        await http.close()
        if db is not None:
            await db.dispose()
        if offline is not None:
            await offline.stop()


async def _only_guild(http: Any, route: Any) -> int | None:
    guilds = await http.request(route("GET", "/users/@me/guilds"))
    return int(guilds[0]["id"]) if len(guilds) == 1 else None


async def _act(args: argparse.Namespace, db: Any, http: Any, bot_id: int, guild_id: int) -> int:
    from cogs.templates.document import to_document
    from cogs.templates.executor import Progress
    from cogs.templates.plan import ApplyOptions
    from cogs.templates.planning.model import OPERATOR
    from cogs.templates.service import TemplateService
    from cogs.templates.snapshot import snapshot

    service = TemplateService(db, http, lambda: bot_id)
    if args.template_action == "export":
        live = await service.api(guild_id).fetch()
        text = json.dumps(
            to_document(snapshot(live, args.name or live.name)), indent=2, ensure_ascii=False
        )
        if args.output:
            args.output.write_text(text + "\n")
        else:
            print(text)
        return NOTHING
    template = _read_template(args.template)
    confirm = frozenset(n.strip() for n in args.delete_with_messages.split(",") if n.strip())
    options = ApplyOptions(prune=args.prune, roles=not args.no_roles, confirm_deletes=confirm)
    prepared = await service.prepare(
        guild_id, f"file:{template.name}", template, options, actor_id=OPERATOR
    )
    print("\n".join(prepared.plan.tree))
    print(f"\n{prepared.plan.summary()}")
    if prepared.refused:
        print(
            "Refused, nothing sent:",
            *(f"  {e}" for e in prepared.refused),
            sep="\n",
            file=sys.stderr,
        )
        return REFUSED
    if prepared.plan.empty:
        print("Nothing to change.")
        return NOTHING
    if args.template_action == "plan":
        return CHANGES

    async def progress(update: Progress) -> None:
        print(update.text(), file=sys.stderr, flush=True)

    job = await service.start(prepared, OPERATOR, progress=progress)
    status = await service.tasks[guild_id]
    print(f"Job {job.id}: {status}.")
    return NOTHING if status == "done" else REFUSED


def _fail(message: str) -> int:
    print(f"foundrycord: error: {message}", file=sys.stderr)
    return REFUSED
