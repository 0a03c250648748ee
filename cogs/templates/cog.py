"""`/template save|list|show|apply|export|import|delete|undo|share|cancel` (Manage Server)."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
import time
from typing import TYPE_CHECKING, Any

import nextcord
from nextcord.ext import commands
from nextcord.utils import escape_markdown

from bot import checks
from bot.answers import answer
from bot.checks import has_manage_guild, require_manage_guild
from bot.errors import UserError, guarded
from bot.guild_objects import ForeignObject, guild_of
from bot.mentions import no_mentions
from cogs.templates.document import (
    MAX_DOCUMENT_BYTES,
    Template,
    TemplateError,
    load_document,
    to_document,
)
from cogs.templates.planning.model import ApplyOptions
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
    def __init__(self, bot: FoundryBot, service: TemplateService) -> None:
        self.bot = bot
        self.service = service
        self._resumed = False
        self._resume_task: asyncio.Task[None] | None = None
        self.cancel_view = CancelJob(guarded(self._cancel_pressed))

    def cog_unload(self) -> None:
        if self._resume_task is not None:
            self._resume_task.cancel()
        for task in self.service.tasks.values():
            task.cancel()

    async def cog_stop(self) -> None:
        """At shutdown: running jobs stop between steps and are released, so the next
        start, of this process or another, resumes them without waiting for the lease."""
        if self._resume_task is not None:
            self._resume_task.cancel()
        await self.service.stop()

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        if self._resumed:
            return
        self._resumed = True
        self.bot.add_view(self.cancel_view)
        self._resume_task = asyncio.create_task(self._resume_jobs(), name="template-resume")

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
        prepared = await self.service.prepare(guild_id, ref, template, options)
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
            fresh = await self.service.prepare(guild_id, ref, template, options)
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


__all__ = ["TemplatesCog"]
