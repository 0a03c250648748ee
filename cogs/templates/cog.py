"""`/template save|list|show|apply|export|import|delete|undo|share|cancel` (Manage Server)."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import re
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import nextcord
from nextcord.ext import commands
from nextcord.http import Route
from nextcord.utils import escape_markdown

from bot import checks
from bot.answers import answer
from bot.checks import has_manage_guild, require_manage_guild
from bot.errors import UserError, guarded
from bot.guild_objects import ForeignObject, guild_of, text_channel_of
from bot.mentions import no_mentions
from cogs.templates.document import (
    MAX_DOCUMENT_BYTES,
    Template,
    TemplateError,
    load_document,
    to_document,
)
from cogs.templates.drift import (
    ACCEPT_ID,
    REVERT_ID,
    DriftService,
    DriftWatcher,
    drift_options,
    report_components,
    report_embed,
    who_changed,
)
from cogs.templates.history import CHECK_EVERY_S as SNAPSHOT_CHECK_S
from cogs.templates.history import due
from cogs.templates.planning.model import ApplyOptions, Plan
from cogs.templates.service import (
    Found,
    Prepared,
    TemplateService,
    builtin_names,
    shared_name,
)
from cogs.templates.store import ApplyBusy
from cogs.templates.views import CancelJob, Confirm, Pages, update_message

if TYPE_CHECKING:
    from bot.client import FoundryBot
    from cogs.templates.executor import Progress

log = logging.getLogger(__name__)

PAGE_LINES = 25
CONFIRM_TIMEOUT = 120.0  # seconds the Confirm and Cancel buttons of a preview stay usable
EDIT_EVERY = 2.0  # seconds between progress edits: 5 edits per 5 s per channel is Discord's cap
# The `name` option of the commands that read a template (nextcord only reads it).
NAME = nextcord.SlashOption(description="Template name")
NEW_NAME = nextcord.SlashOption(description="Template name", max_length=100)
OWN_NAME = nextcord.SlashOption(
    description="One of this server's own templates", max_length=100, autocomplete=True
)


def tree_lines(template: Template) -> list[str]:
    lines = [f"@{role.name}" for role in template.roles]
    for node in template.walk():
        if node.type == "category":
            lines.append(f"{node.name.upper()}")
        else:
            indent = "  " if node.parent is not None else ""
            lines.append(f"{indent}#{node.name} ({node.type})")
    return lines


def pages_of(title: str, lines: list[str]) -> list[nextcord.Embed]:
    chunks = [lines[i : i + PAGE_LINES] for i in range(0, len(lines), PAGE_LINES)] or [[]]
    return [
        nextcord.Embed(
            title=title[:256],
            description=("```\n" + "\n".join(chunk) + "\n```")[:4096] if chunk else "(empty)",
        ).set_footer(text=f"Page {i + 1} of {len(chunks)}")
        for i, chunk in enumerate(chunks)
    ]


def stored_text(verb: str, name: str, template: Template) -> str:
    """What /template save and import answer once the template is stored."""
    return (
        f"{verb} **{escape_markdown(name)}**: {len(template.roles)} roles, "
        f"{template.count()} channels."
    )


def export_filename(name: str) -> str:
    """A file name for the exported template: the name's letters, digits, dots and dashes
    (no path separators or markup), never empty."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.") or "template"
    return f"{stem[:80]}.json"


def errors_text(title: str, errors: list[str]) -> str:
    shown = "\n".join(f"- {e}" for e in errors[:25])
    more = f"\n...and {len(errors) - 25} more" if len(errors) > 25 else ""
    return f"{title}\n{shown}{more}"[:2000]


def preview_embed(prepared: Prepared, origin: str | None = None) -> nextcord.Embed:
    """The plan as a diff; `origin` names the server that shared the template, if any."""
    plan = prepared.plan
    body = "\n".join(plan.tree)
    if len(body) > 3600:
        body = body[:3600] + "\n..."
    where = (
        f"**From another server:** shared by {origin}. Check it before you confirm.\n"
        if origin
        else ""
    )
    embed = nextcord.Embed(
        title=f"Apply {prepared.template.name}: {plan.summary()}"[:256],
        description=f"{where}```diff\n{body}\n```",
    )
    embed.set_footer(text="+ create  ~ update  > move  - delete  ! kept  = unchanged")
    return embed


async def read_import(http: Any, file: Any, code: str | None) -> Template:
    """A template from an uploaded JSON file (size checked before reading) or from a
    Discord server template code or link; raises TemplateError or LookupError."""
    if file is not None:
        if file.size > MAX_DOCUMENT_BYTES:
            raise TemplateError(
                [f"$: the file is {file.size} bytes; at most {MAX_DOCUMENT_BYTES} are accepted"]
            )
        return load_document(await file.read())
    from cogs.templates.api import fetch_server_template
    from cogs.templates.discord_template import from_discord_template, template_code

    parsed = template_code(code or "")
    if parsed is None:
        raise TemplateError([f"code: {code!r} is not a server template code or link"])
    try:
        data = await fetch_server_template(http, parsed)
    except nextcord.NotFound:
        raise LookupError(f"no server template with code {parsed!r}") from None
    return from_discord_template(data)


class TemplatesCog(commands.Cog):
    def __init__(
        self, bot: FoundryBot, service: TemplateService, drift: DriftService | None = None
    ) -> None:
        self.bot = bot
        self.service = service
        self._resumed = False
        self._resume_task: asyncio.Task[None] | None = None
        self.cancel_view = CancelJob(guarded(self._cancel_pressed))
        self.drifts = drift or DriftService(service)
        self.pins = self.drifts.pins
        self.drift = DriftWatcher(self._check_drift, lambda g: g in self.service.runners)
        self.drifts.watcher = self.drift
        self.drift_view = DriftButtons(guarded(self._revert_pressed), guarded(self._accept_pressed))
        self.audit_reads = 0  # audit-log pages read (the bench counts REST reads)
        self._snapshot_task: asyncio.Task[None] | None = None

    def cog_unload(self) -> None:
        for timer in self.drift._timers.values():
            timer.cancel()
        if self._snapshot_task is not None:
            self._snapshot_task.cancel()
        if self._resume_task is not None:
            self._resume_task.cancel()
        for task in self.service.tasks.values():
            task.cancel()

    async def cog_stop(self) -> None:
        """At shutdown: running jobs stop between steps and are released, so the next
        start, of this process or another, resumes them without waiting for the lease."""
        if self._resume_task is not None:
            self._resume_task.cancel()
        if self._snapshot_task is not None:
            self._snapshot_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._snapshot_task
        await self.drift.close()
        await self.service.stop()

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        if self._resumed:
            return
        self._resumed = True
        self.bot.add_view(self.cancel_view)
        self.bot.add_view(self.drift_view)
        self._resume_task = asyncio.create_task(self._resume_jobs(), name="template-resume")
        try:
            self.drift.pinned = await self.pins.pinned_guilds()
        except Exception:
            log.exception("Could not read the pinned templates")
        self._snapshot_task = asyncio.create_task(self._snapshot_loop(), name="template-snapshots")

    async def _snapshot_loop(self) -> None:
        while True:  # first a while after the start, so start-up work goes first
            await asyncio.sleep(SNAPSHOT_CHECK_S)
            try:
                await self.take_due_snapshots()
            except Exception:
                log.exception("Scheduled template snapshots failed")

    async def take_due_snapshots(self, now: datetime | None = None) -> int:
        """A snapshot of every approved server whose snapshot is due, and those older than
        the days kept deleted; how many were taken."""
        now = now or datetime.now(UTC)
        services = self.bot.services
        hours = self.drifts.settings.template_snapshot_hours
        days = self.drifts.settings.template_snapshot_days
        access = getattr(services, "guild_access", None)
        store = self.drifts.snapshots
        taken = 0
        for guild in list(self.bot.guilds):
            if access is not None and await access.status(guild.id) != "approved":
                continue
            if due(await store.last_at(guild.id), hours, now):
                from cogs.templates.snapshot import snapshot

                live = await self.service.api(guild.id).fetch()
                document = to_document(snapshot(live, f"{guild.name} {now:%Y-%m-%d %H:%M}"))
                await store.add(guild.id, document, now)
                taken += 1
            await store.prune(guild.id, days, now)
        return taken

    async def _resume_jobs(self) -> None:
        """Interrupted applies continue from their journal: at ready, then whenever a job of
        a guild this process holds has a lapsed lease (its runner, here or in another bot
        process, died)."""
        while True:
            try:
                await self._resume_once()
            except Exception:
                log.exception("Looking for template jobs to resume failed")
            await asyncio.sleep(self.service.lease_s / 3)

    async def _resume_once(self) -> None:
        for job in await self.service.store.running():
            # Only the process holding the guild (bot.shards) runs its jobs.
            if self.bot.get_guild(job.guild_id) is None:
                continue
            progress = self._progress_to(
                job.guild_id, job.progress_channel_id, job.progress_message_id
            )
            if await self.service.resume(job, progress):
                log.info(
                    "Resuming template job %s at step %d of %d",
                    job.id,
                    job.done + 1,
                    len(job.steps),
                )

    # drift: the gateway's channel and role changes -----------------------------------------

    @commands.Cog.listener()
    async def on_guild_channel_create(self, channel: nextcord.abc.GuildChannel) -> None:
        self.drift.touch(channel.guild.id)

    @commands.Cog.listener()
    async def on_guild_channel_delete(self, channel: nextcord.abc.GuildChannel) -> None:
        self.drift.touch(channel.guild.id)

    @commands.Cog.listener()
    async def on_guild_channel_update(self, _: Any, after: nextcord.abc.GuildChannel) -> None:
        self.drift.touch(after.guild.id)

    @commands.Cog.listener()
    async def on_guild_role_create(self, role: nextcord.Role) -> None:
        self.drift.touch(role.guild.id)

    @commands.Cog.listener()
    async def on_guild_role_delete(self, role: nextcord.Role) -> None:
        self.drift.touch(role.guild.id)

    @commands.Cog.listener()
    async def on_guild_role_update(self, _: Any, after: nextcord.Role) -> None:
        self.drift.touch(after.guild.id)

    async def _compare(self, guild_id: int, name: str) -> tuple[Found, Plan, None]:
        found, plan = await self.drifts.compare(guild_id, name)
        return found, plan, None

    async def _who(self, guild_id: int, plan: Plan) -> list[str] | None:
        """Who changed what the plan would change back, from one audit-log page; None when
        the bot may not read the audit log."""
        self.audit_reads += 1
        route = Route("GET", "/guilds/{guild_id}/audit-logs", guild_id=guild_id)
        try:
            log_page = await self.bot.http.request(route, params={"limit": 100})
        except nextcord.HTTPException:
            return None
        targets = {s.target for s in plan.steps if isinstance(s.target, int)}
        return who_changed(
            log_page.get("audit_log_entries") or [],
            log_page.get("users") or [],
            targets,
            self.bot.user.id,
        )

    async def _check_drift(self, guild_id: int) -> None:
        """Compare a pinned server with its template; report (or edit the report), or close
        the episode when it matches again."""
        pin = await self.pins.get(guild_id)
        if pin is None or self.bot.get_guild(guild_id) is None:
            return
        try:
            _, plan, _ = await self._compare(guild_id, pin.template_name)
        except (LookupError, TemplateError) as exc:
            log.warning("Pinned template of %s cannot be compared: %s", guild_id, exc)
            return
        if plan.empty:
            if pin.report_message_id is not None:
                await self._close_report(pin, "the changes are undone")
            return
        who = await self._who(guild_id, plan)
        try:
            channel = text_channel_of(self.bot, guild_id, pin.channel_id)
        except ForeignObject as exc:
            log.warning("Drift report of %s not sent: %s", guild_id, exc.message)
            return
        report_id = pin.report_message_id
        if report_id is None and pin.report_nonce:
            # a report was being posted when the bot stopped: adopt it if Discord has it
            report_id = await self._posted_with(channel, pin.report_nonce)
            if report_id is not None:
                await self.pins.set_report(guild_id, report_id)
        nonce = pin.report_nonce or f"d{time.time_ns() % 10**20}"
        payload = {
            "embeds": [report_embed(pin.template_name, plan, who, ref=nonce)],
            "components": report_components(),
            "allowed_mentions": no_mentions().to_dict(),
        }
        if report_id is not None:
            try:
                await self._edit_report(channel.id, report_id, payload)
                return
            except nextcord.NotFound:
                nonce = f"d{time.time_ns() % 10**20}"  # the report was deleted: a new one
                payload["embeds"] = [report_embed(pin.template_name, plan, who, ref=nonce)]
        # Exactly once: the nonce is recorded before the send; Discord answers a repeated
        # nonce with the message it made, and after a stop the report is found by it.
        await self.pins.claim(guild_id, nonce)
        route = Route("POST", "/channels/{channel_id}/messages", channel_id=channel.id)
        message = await self.bot.http.request(
            route, json={**payload, "nonce": nonce, "enforce_nonce": True}
        )
        await self.pins.set_report(guild_id, int(message["id"]))

    async def _posted_with(self, channel: nextcord.TextChannel, nonce: str) -> int | None:
        """The id of the bot's recent report carrying `nonce` (in its footer), if any."""
        try:
            async for message in channel.history(limit=50):
                if message.author.id != self.bot.user.id:
                    continue
                if any(f"ref {nonce}" in (e.footer.text or "") for e in message.embeds):
                    return message.id
        except nextcord.HTTPException as exc:
            log.warning("Cannot read #%s to look for drift report %s: %s", channel.id, nonce, exc)
        return None

    async def _edit_report(self, channel_id: int, message_id: int, payload: dict) -> None:
        route = Route(
            "PATCH",
            "/channels/{channel_id}/messages/{message_id}",
            channel_id=channel_id,
            message_id=message_id,
        )
        await self.bot.http.request(route, json=payload)

    async def _close_report(self, pin: Any, how: str) -> None:
        await self.pins.set_report(pin.guild_id, None)
        try:
            channel = text_channel_of(self.bot, pin.guild_id, pin.channel_id)
            await self._edit_report(
                channel.id,
                pin.report_message_id,
                {
                    "embeds": [report_embed(pin.template_name, None, None, closed=how)],
                    "components": [],
                    "allowed_mentions": no_mentions().to_dict(),
                },
            )
        except (ForeignObject, nextcord.HTTPException) as exc:
            log.info("Drift report of %s not closed: %s", pin.guild_id, exc)

    async def _report_pin(self, interaction: nextcord.Interaction) -> Any:
        """The pin whose current report was pressed, for a manager; UserError otherwise."""
        guild_id = require_manage_guild(interaction)
        pin = await self.pins.get(guild_id)
        message = interaction.message
        if pin is None or message is None or pin.report_message_id != message.id:
            raise UserError("This drift report is no longer current.")
        return pin

    async def _revert_pressed(self, interaction: nextcord.Interaction) -> None:
        pin = await self._report_pin(interaction)
        found = await self._find(pin.guild_id, pin.template_name)
        # a private preview (a button's plain defer would update the report itself)
        await interaction.response.defer(ephemeral=True, with_message=True)
        await self._preview_and_confirm(interaction, found.ref, found.template, drift_options())

    async def _accept_pressed(self, interaction: nextcord.Interaction) -> None:
        pin = await self._report_pin(interaction)
        name = pin.template_name

        async def confirmed(press: nextcord.Interaction) -> None:
            await update_message(press, "Saving the server as the template...")
            try:
                await self.service.save_snapshot(pin.guild_id, name, press.user.id)
            except TemplateError as exc:
                await press.edit_original_message(
                    content=errors_text("Not saved:", exc.errors), allowed_mentions=no_mentions()
                )
                return
            current = await self.pins.get(pin.guild_id)
            if current is not None and current.report_message_id is not None:
                await self._close_report(current, f"accepted by {press.user.name}")
            await press.edit_original_message(
                content=f"Saved this server as **{escape_markdown(name)}**; it is pinned still.",
                allowed_mentions=no_mentions(),
            )

        view = Confirm(interaction.user.id, confirmed, timeout=CONFIRM_TIMEOUT)
        await interaction.response.send_message(
            f"Save this server as the new version of **{escape_markdown(name)}**? "
            "The template's old version is replaced.",
            view=view,
            ephemeral=True,
            allowed_mentions=no_mentions(),
        )

    # helpers -------------------------------------------------------------------------------

    async def _find(self, guild_id: int, name: str) -> Found:
        """The template `name` as this server sees it; UserError when there is none or it
        cannot be used."""
        try:
            return await self.service.lookup(guild_id, name)
        except TemplateError as exc:
            message = errors_text(f"The template {name!r} cannot be used:", exc.errors)
            raise UserError(message) from None
        except LookupError as exc:
            raise UserError(str(exc)[:2000]) from None

    async def _save(self, guild_id: int, name: str, template: Template, actor_id: int) -> None:
        try:
            await self.service.store.save(guild_id, name, to_document(template), actor_id)
        except TemplateError as exc:
            raise UserError(errors_text("Not saved:", exc.errors)) from None

    def _server_label(self, guild_id: int) -> str:
        """Another server, named so a manager knows where a shared template comes from."""
        guild = self.bot.get_guild(guild_id)
        name = escape_markdown(guild.name) if guild is not None else "a server"
        return f"{name} (server id {guild_id})"

    def _progress_channel(self, guild_id: int, channel_id: int | None) -> int | None:
        """`channel_id` when it is a channel (or thread) of `guild_id`, else None: a job's
        progress message is only ever edited in the server the job changes."""
        if channel_id is None:
            return None
        try:
            guild = guild_of(self.bot, guild_id)
        except ForeignObject:
            return None
        return channel_id if guild.get_channel_or_thread(channel_id) is not None else None

    def _progress_to(self, guild_id: int, channel_id: int | None, message_id: int | None):
        last = 0.0

        async def report(update: Progress) -> None:
            nonlocal last
            if message_id is None or self._progress_channel(guild_id, channel_id) is None:
                return
            now = time.monotonic()
            final = update.status != "running"
            if not final and now - last < EDIT_EVERY:
                return
            last = now
            payload: dict[str, Any] = {
                "content": update.text(),
                "allowed_mentions": no_mentions().to_dict(),
            }
            if final:
                payload["components"] = []
            await self.bot.http.edit_message(channel_id, message_id, **payload)

        return report

    async def _cancel_pressed(self, interaction: nextcord.Interaction) -> None:
        guild_id = require_manage_guild(interaction)
        text = (
            "Cancelling after the current step; finished steps stay."
            if await self.service.request_cancel(guild_id)
            else "No apply is running here."
        )
        await answer(interaction, text)

    # commands ------------------------------------------------------------------------------

    @checks.manager_command("template", "Save, preview and apply channel templates.")
    async def template(self, interaction: nextcord.Interaction) -> None:
        """Parent of the /template subcommands."""

    @checks.manager_subcommand(template, "list", "Templates you can use here.")
    async def list_(self, interaction: nextcord.Interaction) -> None:
        rows = await self.service.store.list(interaction.guild_id)
        lines = [
            f"**{escape_markdown(row.name)}**" + (" (shared)" if row.shared else "")
            for row in rows
            if row.guild_id == interaction.guild_id
        ]
        lines += [
            f"**{escape_markdown(shared_name(row.name, row.guild_id))}** "
            f"(shared by {self._server_label(row.guild_id)})"
            for row in rows
            if row.guild_id != interaction.guild_id
        ]
        lines += [f"**{name}** (built in)" for name in builtin_names()]
        await answer(interaction, "\n".join(lines)[:2000])

    @checks.manager_subcommand(template, "save", "Snapshot this server into a template.")
    async def save(self, interaction: nextcord.Interaction, name: str = NEW_NAME) -> None:
        await interaction.response.defer(ephemeral=True)
        try:
            template = await self.service.save_snapshot(
                interaction.guild_id, name, interaction.user.id
            )
        except TemplateError as exc:
            raise UserError(errors_text("Not saved:", exc.errors)) from None
        await answer(interaction, stored_text("Saved", name, template))

    @checks.manager_subcommand(template, "show", "A template's roles and channel tree.")
    async def show(self, interaction: nextcord.Interaction, name: str = NAME) -> None:
        found = await self._find(interaction.guild_id, name)
        template = found.template
        title = f"Template {template.name}"
        if found.origin_guild_id is not None:
            title += f", shared by {self._server_label(found.origin_guild_id)}"
        pages = pages_of(title, tree_lines(template))
        view = Pages(interaction.user.id, pages) if len(pages) > 1 else nextcord.utils.MISSING
        await answer(interaction, embed=pages[0], view=view)

    @checks.manager_subcommand(template, "export", "Download a template as JSON.")
    async def export(self, interaction: nextcord.Interaction, name: str = NAME) -> None:
        template = (await self._find(interaction.guild_id, name)).template
        data = json.dumps(to_document(template), indent=2, ensure_ascii=False).encode()
        await answer(
            interaction,
            f"Template **{escape_markdown(template.name)}**.",
            file=nextcord.File(io.BytesIO(data), filename=export_filename(template.name)),
        )

    @checks.manager_subcommand(template, "import", "Import a JSON file or a Discord template.")
    async def import_(
        self,
        interaction: nextcord.Interaction,
        name: str = nextcord.SlashOption(description="Save it under this name", max_length=100),
        file: nextcord.Attachment = nextcord.SlashOption(  # noqa: B008
            description="A template JSON file", required=False
        ),
        code: str = nextcord.SlashOption(
            description="A Discord server template code or link", required=False
        ),
    ) -> None:
        if (file is None) == (code is None):
            raise UserError("Give either a JSON file or a server template code, not both.")
        await interaction.response.defer(ephemeral=True)
        try:
            template = await read_import(self.bot.http, file, code)
        except TemplateError as exc:
            raise UserError(errors_text("The template was refused:", exc.errors)) from None
        except (nextcord.HTTPException, LookupError) as exc:
            raise UserError(f"Could not read it: {exc}"[:2000]) from None
        template.name = name
        await self._save(interaction.guild_id, name, template, interaction.user.id)
        await answer(interaction, stored_text("Imported", name, template))

    @checks.manager_subcommand(template, "delete", "Delete one of this server's templates.")
    async def delete(self, interaction: nextcord.Interaction, name: str = OWN_NAME) -> None:
        if not await self.service.store.remove(interaction.guild_id, name):
            raise UserError(
                f"This server has no template called {name!r} (built-in and other servers' "
                "templates cannot be deleted here)."
            )
        await answer(interaction, f"Deleted **{escape_markdown(name)}**.")

    @delete.on_autocomplete("name")
    async def delete_names(self, interaction: nextcord.Interaction, current: str) -> None:
        """Only this server's own templates, and only for its managers."""
        names: list[str] = []
        if has_manage_guild(interaction) and interaction.guild_id is not None:
            typed = (current or "").lower()
            own = await self.service.store.own_names(interaction.guild_id)
            names = [n for n in own if typed in n.lower()]
        await interaction.response.send_autocomplete(names[:25])

    @checks.manager_subcommand(template, "share", "Let other servers use a template, or stop.")
    async def share(
        self,
        interaction: nextcord.Interaction,
        name: str = NAME,
        shared: bool = nextcord.SlashOption(description="Shared with other servers"),
    ) -> None:
        if not await self.service.store.set_shared(interaction.guild_id, name, shared):
            raise UserError(f"This server has no template called {name!r}.")
        state = "shared" if shared else "private to this server"
        await answer(interaction, f"**{escape_markdown(name)}** is now {state}.")

    @checks.manager_subcommand(template, "apply", "Preview, then make this server match it.")
    async def apply(
        self,
        interaction: nextcord.Interaction,
        name: str = NAME,
        prune: bool = nextcord.SlashOption(
            description="Delete channels and roles the template lacks",
            required=False,
            default=False,
        ),
        roles: bool = nextcord.SlashOption(
            description="Apply roles too (default yes)", required=False, default=True
        ),
        delete_with_messages: str = nextcord.SlashOption(
            description="With prune: channels holding messages that may go (comma-separated)",
            required=False,
            default="",
        ),
    ) -> None:
        found = await self._find(interaction.guild_id, name)  # before the public deferral
        await interaction.response.defer()
        origin = (
            None if found.origin_guild_id is None else self._server_label(found.origin_guild_id)
        )
        confirm = frozenset(
            n.strip().lstrip("#") for n in (delete_with_messages or "").split(",") if n.strip()
        )
        options = ApplyOptions(prune=prune, roles=roles, confirm_deletes=confirm)
        await self._preview_and_confirm(
            interaction, found.ref, found.template, options, origin=origin
        )

    @checks.manager_subcommand(template, "undo", "Restore the server as before the last apply.")
    async def undo(self, interaction: nextcord.Interaction) -> None:
        found = await self.service.undo_target(interaction.guild_id)
        if found is None:
            raise UserError("There is no apply to undo here.")
        await interaction.response.defer()
        job, template = found
        options = ApplyOptions(prune=True, roles=True)
        await self._preview_and_confirm(interaction, f"undo:{job.id}", template, options)

    @checks.manager_subcommand(template, "cancel", "Stop the running apply after its step.")
    async def cancel(self, interaction: nextcord.Interaction) -> None:
        await self._cancel_pressed(interaction)

    @template.subcommand(name="pin", description="Keep this server in a template's shape.")
    @checks.manage_guild()
    async def pin(
        self,
        interaction: nextcord.Interaction,
        name: str = nextcord.SlashOption(description="Template name (own or built in)"),
        channel: nextcord.abc.GuildChannel = nextcord.SlashOption(  # noqa: B008
            description="Where drift reports go", channel_types=[nextcord.ChannelType.text]
        ),
    ) -> None:
        guild_id = require_manage_guild(interaction)
        target = text_channel_of(self.bot, guild_id, channel.id)
        await self._find(guild_id, name)  # a clear answer for an unknown name
        await interaction.response.defer(ephemeral=True)
        try:
            plan = await self.drifts.pin(guild_id, name, target.id, interaction.user.id)
        except TemplateError as exc:
            raise UserError(errors_text("Not pinned:", exc.errors)) from None
        state = (
            "It matches now."
            if plan.empty
            else f"It differs already ({plan.summary()}); a report follows."
        )
        await interaction.edit_original_message(
            content=f"Pinned **{escape_markdown(name)}**; drift is reported in "
            f"{target.mention}. {state}",
            allowed_mentions=no_mentions(),
        )

    @template.subcommand(name="unpin", description="Stop watching this server for drift.")
    @checks.manage_guild()
    async def unpin(self, interaction: nextcord.Interaction) -> None:
        guild_id = require_manage_guild(interaction)
        removed = await self.drifts.unpin(guild_id)
        await interaction.response.send_message(
            "Unpinned; drift is no longer reported." if removed else "No template is pinned.",
            ephemeral=True,
            allowed_mentions=no_mentions(),
        )

    @template.subcommand(name="drift", description="How this server differs from its pin.")
    @checks.manage_guild()
    async def drift_now(self, interaction: nextcord.Interaction) -> None:
        guild_id = require_manage_guild(interaction)
        pin = await self.pins.get(guild_id)
        if pin is None:
            raise UserError("No template is pinned here; pin one with /template pin.")
        await interaction.response.defer(ephemeral=True)
        _, plan, _ = await self._compare(guild_id, pin.template_name)
        if plan.empty:
            text = f"This server matches **{escape_markdown(pin.template_name)}**."
            await interaction.edit_original_message(content=text, allowed_mentions=no_mentions())
            return
        embed = report_embed(pin.template_name, plan, await self._who(guild_id, plan))
        await interaction.edit_original_message(
            embed=nextcord.Embed.from_dict(embed), allowed_mentions=no_mentions()
        )

    # the apply flow ------------------------------------------------------------------------

    async def _preview_and_confirm(
        self,
        interaction: nextcord.Interaction,
        ref: str,
        template: Template,
        options: ApplyOptions,
        *,
        origin: str | None = None,
    ) -> None:
        guild_id = interaction.guild_id
        # checked for who asks: the bot makes only the changes they could make themselves
        actor_id = interaction.user.id
        prepared = await self.service.prepare(guild_id, ref, template, options, actor_id=actor_id)
        if prepared.refused:
            await interaction.edit_original_message(
                content=errors_text("Nothing was changed:", prepared.refused),
                allowed_mentions=no_mentions(),
            )
            return
        if prepared.plan.empty:
            text = "This server already matches the template; nothing to do."
            if prepared.plan.kept:
                text += f" Kept (they hold messages or members): {', '.join(prepared.plan.kept)}."
            await interaction.edit_original_message(
                content=text[:2000], allowed_mentions=no_mentions()
            )
            return

        async def confirmed(press: nextcord.Interaction) -> None:
            # Answer the button at once (3 s rule), then plan again: the server may have
            # changed since the preview.
            await update_message(press, "Checking the server again...")
            fresh = await self.service.prepare(
                guild_id, ref, template, options, actor_id=press.user.id
            )
            if fresh.refused or fresh.plan.empty:
                text = (
                    errors_text("Nothing was changed:", fresh.refused)
                    if fresh.refused
                    else "The server already matches the template now; nothing to do."
                )
                await press.edit_original_message(
                    content=text, embed=None, allowed_mentions=no_mentions()
                )
                return
            await press.edit_original_message(
                content=f"Applying **{template.name}**: {fresh.plan.summary()}.",
                allowed_mentions=no_mentions(),
            )
            progress = await press.channel.send(
                f"Starting: {len(fresh.plan.steps)} steps.",
                view=self.cancel_view,
                allowed_mentions=no_mentions(),
            )
            report = self._progress_to(guild_id, progress.channel.id, progress.id)

            try:
                job = await self.service.start(fresh, press.user.id, progress=report)
            except ApplyBusy as exc:
                await progress.edit(
                    content=f"Not started: {exc}.", view=None, allowed_mentions=no_mentions()
                )
                return
            if self._progress_channel(guild_id, progress.channel.id) is not None:
                await self.service.store.set_progress_message(
                    job.id, progress.channel.id, progress.id
                )

        view = Confirm(interaction.user.id, confirmed, timeout=CONFIRM_TIMEOUT)
        view.origin = interaction
        await interaction.edit_original_message(
            content="Review the changes, then confirm.",
            embed=preview_embed(prepared, origin),
            view=view,
            allowed_mentions=no_mentions(),
        )


class DriftButtons(nextcord.ui.View):
    """Revert and Accept on every drift report (persistent: fixed ids, no timeout)."""

    def __init__(self, on_revert: Any, on_accept: Any) -> None:
        super().__init__(timeout=None)
        self.on_revert = on_revert
        self.on_accept = on_accept

    @nextcord.ui.button(label="Revert", style=nextcord.ButtonStyle.danger, custom_id=REVERT_ID)
    async def revert(self, _: nextcord.ui.Button, interaction: nextcord.Interaction) -> None:
        await self.on_revert(interaction)

    @nextcord.ui.button(label="Accept", style=nextcord.ButtonStyle.success, custom_id=ACCEPT_ID)
    async def accept(self, _: nextcord.ui.Button, interaction: nextcord.Interaction) -> None:
        await self.on_accept(interaction)


__all__ = ["TemplatesCog"]
