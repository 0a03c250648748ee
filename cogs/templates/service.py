"""The apply workflow shared by the slash commands, the web pages and the command line:
find a template, plan it against the live guild, check the bot's rights, run it as a job."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from nextcord.http import HTTPClient

from bot.database import Database
from bot.guild_objects import parse_snowflake
from bot.models import utcnow
from cogs.templates.document import Template, TemplateError, load_document, to_document
from cogs.templates.live import LiveGuild
from cogs.templates.models import ApplyJob
from cogs.templates.planning.model import (
    CHANNEL_CREATES_PER_DAY,
    OPERATOR,
    ApplyOptions,
    Plan,
)
from cogs.templates.store import TemplateStore

if TYPE_CHECKING:
    from cogs.templates.api import GuildApi
    from cogs.templates.executor import JobRunner, Progress, ProgressCallback

# The planner, the executor, the permission checks and the snapshot are imported by the
# methods that use them: a bot that applies no template never holds them (issue 16).

log = logging.getLogger(__name__)

BUILTIN_DIR = Path(__file__).with_name("builtin")


@functools.cache
def _builtin_names() -> tuple[str, ...]:
    return tuple(sorted(path.stem for path in BUILTIN_DIR.glob("*.json")))


def builtin_names() -> list[str]:
    """The built-in templates (files shipped with the package: read once)."""
    return list(_builtin_names())


def load_builtin(name: str) -> Template:
    return load_document((BUILTIN_DIR / f"{name}.json").read_text())


# Another server's shared template is always named `name@<that server's id>`: an id cannot
# be chosen or changed by the server that shares, so the name says exactly where it comes
# from and can never equal a built-in's or this server's own plain name.
ORIGIN_MARK = "@"


def shared_name(name: str, origin_guild_id: int) -> str:
    """How a server names a template that another server shares."""
    return f"{name}{ORIGIN_MARK}{origin_guild_id}"


def split_shared_name(qualified: str) -> tuple[str, int] | None:
    """(name, origin server id) of `name@<id>`, else None."""
    name, mark, origin = qualified.rpartition(ORIGIN_MARK)
    if not mark or not name:
        return None
    origin_id = parse_snowflake(origin)
    return (name, origin_id) if origin_id is not None else None


@dataclass(frozen=True)
class Found:
    """A template found by name: its reference, the template, and the server that shared
    it (None for this server's own templates and the built-ins)."""

    ref: str
    template: Template
    origin_guild_id: int | None = None


@dataclass
class Prepared:
    """A plan ready to show: refused when `errors` or `missing` is non-empty."""

    template_ref: str
    template: Template
    live: LiveGuild
    plan: Plan
    missing: list[str]
    options: ApplyOptions
    # what the member applying may not do themselves (Discord's rules), and who they are
    forbidden: list[str] = field(default_factory=list)
    actor_id: int = OPERATOR

    @property
    def refused(self) -> list[str]:
        needs = [f"I need: {'; '.join(self.missing)}"] if self.missing else []
        yours = (
            [f"Not yours to change (Discord would refuse you): {'; '.join(self.forbidden)}"]
            if self.forbidden
            else []
        )
        return self.plan.errors + needs + yours


JOB_LEASE_S = 15.0  # a job whose runner stopped renewing this long may be taken over


class TemplateService:
    def __init__(self, db: Database, http: HTTPClient, bot_user_id: Callable[[], int]) -> None:
        self.store = TemplateStore(db)
        self.http = http
        self.bot_user_id = bot_user_id
        self.runners: dict[int, JobRunner] = {}
        self.tasks: dict[int, asyncio.Task[str]] = {}
        self.latest: dict[int, tuple[int, Progress]] = {}
        # Who runs a job: this process (its cluster id when there are several), holding a
        # lease it renews; another process resumes the job only once the lease lapses.
        self.runner_id = secrets.token_hex(8)
        self.lease_s = JOB_LEASE_S

    def api(self, guild_id: int, reason: str | None = "FoundryCord template") -> GuildApi:
        from cogs.templates.api import GuildApi

        return GuildApi(self.http, guild_id, reason=reason)

    async def find(self, guild_id: int, name: str) -> tuple[str, Template]:
        """(reference, template) for `name` as `lookup` finds it."""
        found = await self.lookup(guild_id, name)
        return found.ref, found.template

    async def lookup(self, guild_id: int, name: str) -> Found:
        """This server's own template, else a built-in; another server's shared template
        only by its full name `name@<server id>`, so it never shadows either.
        LookupError if none."""
        row = await self.store.find(guild_id, name)
        if row is not None:
            return Found(f"db:{row.id}", load_document(row.document))
        if name in builtin_names():
            return Found(f"builtin:{name}", load_builtin(name))
        qualified = split_shared_name(name)
        if qualified is not None and qualified[1] != guild_id:
            row = await self.store.find_shared(qualified[1], qualified[0])
            if row is not None:
                return Found(f"db:{row.id}", load_document(row.document), row.guild_id)
        raise LookupError(f"No template called {name!r} here (see /template list).")

    async def save_snapshot(self, guild_id: int, name: str, actor_id: int) -> Template:
        from cogs.templates.snapshot import snapshot

        live = await self.api(guild_id).fetch()
        template = snapshot(live, name)
        row = await self.store.save(guild_id, name, to_document(template), actor_id)
        await self.store.merge_id_map(f"db:{row.id}", guild_id, {})
        return template

    async def prepare(
        self,
        guild_id: int,
        template_ref: str,
        template: Template,
        options: ApplyOptions,
        *,
        actor_id: int,
    ) -> Prepared:
        """The plan, what the bot lacks for it and what the member `actor_id` (who applies:
        the web session's user, the command's invoker) may not do themselves; OPERATOR
        only for the command line, which holds the bot's token. No default: a caller that
        forgot who applies must not skip the member's check."""
        from cogs.templates.checks import member_of, member_refusals, missing_for_plan
        from cogs.templates.plan import make_plan

        api = self.api(guild_id)
        live = await api.fetch()
        used = await self.store.roles_created_recently(guild_id)
        options.role_quota = max(0, 250 - used)
        made = await self.store.channels_created_recently(guild_id)
        options.channel_quota = max(0, CHANNEL_CREATES_PER_DAY - made)
        if options.prune and options.roles:
            options.assigned_roles = await self._assigned_roles(api)
        id_map = await self.store.id_map(template_ref, guild_id)
        plan = make_plan(template, live, id_map, options)
        member = await api.member(self.bot_user_id())
        bot_roles = [int(r) for r in member.get("roles", [])]
        missing = missing_for_plan(plan, live, bot_roles)
        forbidden: list[str] = []
        if actor_id != OPERATOR:
            actor = await member_of(api, actor_id)
            forbidden = member_refusals(plan.steps, live, actor)
        return Prepared(template_ref, template, live, plan, missing, options, forbidden, actor_id)

    @staticmethod
    async def _assigned_roles(api: GuildApi) -> frozenset[int] | None:
        """Roles some member holds (prune keeps them); None when members cannot be listed."""
        try:
            members = await api.members()
        except Exception:
            log.info("Cannot list members of %s; prune keeps every role", api.guild_id)
            return None
        return frozenset(int(r) for m in members for r in m.get("roles", []))

    async def start(
        self,
        prepared: Prepared,
        actor_id: int,
        *,
        progress: ProgressCallback | None = None,
    ) -> ApplyJob:
        """Store the job (taking the guild's lock) and run it in the background."""
        from cogs.templates.snapshot import snapshot

        if prepared.refused:
            raise TemplateError(prepared.refused)
        if actor_id != prepared.actor_id:
            raise ValueError("a plan checked for one member cannot be started by another")
        before = to_document(snapshot(prepared.live, f"before {prepared.template.name}"))
        job = await self.store.create_job(
            ApplyJob(
                guild_id=prepared.live.id,
                template_ref=prepared.template_ref,
                template_name=prepared.template.name,
                actor_id=actor_id,
                status="running",
                steps=[step.to_json() for step in prepared.plan.steps],
                done=0,
                id_map={k: v for k, v in prepared.plan.matches.items()},
                before=None if prepared.template_ref.startswith("undo:") else before,
                roles_created=0,
                runner=self.runner_id,
                lease_until=utcnow() + timedelta(seconds=self.lease_s),
            )
        )
        self.launch(job, progress, fresh=True)
        return job

    def launch(
        self, job: ApplyJob, progress: ProgressCallback | None, *, fresh: bool = False
    ) -> asyncio.Task[str]:
        """Run `job` in the background; `fresh` only for a job created just now (anything
        else is a resume, whose first step may have reached Discord before a crash)."""
        from cogs.templates.executor import JobRunner

        async def record(update: Progress) -> None:
            self.latest[job.guild_id] = (job.id, update)  # what the web page polls
            if progress is not None:
                await progress(update)

        runner = JobRunner(
            self.store,
            self.api(job.guild_id),
            job.id,
            progress=record,
            fresh=fresh,
            runner_id=self.runner_id,
            lease_s=self.lease_s,
        )
        self.runners[job.guild_id] = runner
        task = asyncio.create_task(runner.run(), name=f"template-job-{job.id}")
        self.tasks[job.guild_id] = task

        def forget(_: asyncio.Task[str]) -> None:
            if self.runners.get(job.guild_id) is runner:
                del self.runners[job.guild_id]
                del self.tasks[job.guild_id]

        task.add_done_callback(forget)
        return task

    async def progress(self, guild_id: int) -> tuple[int, Progress] | None:
        """(job id, progress) of the guild's newest apply: this process's runner's own
        report while it runs the job here (with its ETA and wait on Discord), else the
        job's row, which shows a job run by any process."""
        here = self.latest.get(guild_id)
        runner = self.runners.get(guild_id)
        if here is not None and runner is not None and here[0] == runner.job_id:
            return here
        job = await self.store.newest_job(guild_id)
        if job is None:
            return here
        from cogs.templates.executor import stored_progress

        return job.id, stored_progress(job)

    def cancel(self, guild_id: int) -> bool:
        runner = self.runners.get(guild_id)
        if runner is None:
            return False
        runner.cancel()
        return True

    async def request_cancel(self, guild_id: int) -> bool:
        """Stop the guild's running apply, here or in whichever process runs it (its runner
        sees the request at its next step)."""
        here = self.cancel(guild_id)
        return await self.store.request_cancel(guild_id) or here

    async def resume(self, job: ApplyJob, progress: ProgressCallback | None) -> bool:
        """Take over an interrupted job (its lease lapsed, or it was released) and run it;
        False when another runner holds it."""
        if job.guild_id in self.runners:
            return False
        if not await self.store.claim_job(job.id, self.runner_id, self.lease_s):
            return False
        self.launch(job, progress)
        return True

    async def undo_target(self, guild_id: int) -> tuple[ApplyJob, Template] | None:
        job = await self.store.last_applied(guild_id)
        if job is None or job.before is None:
            return None
        return job, load_document(job.before)

    async def stop(self) -> None:
        """Leave running jobs in the journal, released: the next start (of this process or
        another) resumes them at once."""
        jobs = [runner.job_id for runner in self.runners.values()]
        for task in list(self.tasks.values()):
            task.cancel()
        for task in list(self.tasks.values()):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for job_id in jobs:
            with contextlib.suppress(Exception):
                await self.store.release(job_id, self.runner_id)
