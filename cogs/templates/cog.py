"""`/template save|list|show|apply|export|import|undo|share|cancel` (Manage Server)."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import time
from typing import TYPE_CHECKING, Any

import nextcord
from nextcord.ext import commands

from cogs.templates.api import fetch_server_template
from cogs.templates.discord_template import from_discord_template, template_code
from cogs.templates.document import (
    MAX_DOCUMENT_BYTES,
    Template,
    TemplateError,
    load_document,
    to_document,
)
from cogs.templates.executor import Progress
from cogs.templates.plan import ApplyOptions
from cogs.templates.service import Prepared, TemplateService, builtin_names
from cogs.templates.store import ApplyBusy
from cogs.templates.views import CancelJob, Confirm, Pages

if TYPE_CHECKING:
    from bot.client import FoundryBot

log = logging.getLogger(__name__)

NEEDS_MANAGE = "You need the Manage Server permission in this server to use /template."
PAGE_LINES = 25
CONFIRM_TIMEOUT = 120.0  # seconds the Confirm and Cancel buttons of a preview stay usable
EDIT_EVERY = 2.0  # seconds between progress edits: 5 edits per 5 s per channel is Discord's cap


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


def errors_text(title: str, errors: list[str]) -> str:
    shown = "\n".join(f"- {e}" for e in errors[:25])
    more = f"\n...and {len(errors) - 25} more" if len(errors) > 25 else ""
    return f"{title}\n{shown}{more}"[:2000]


def preview_embed(prepared: Prepared) -> nextcord.Embed:
    plan = prepared.plan
    body = "\n".join(plan.tree)
    if len(body) > 3900:
        body = body[:3900] + "\n..."
    embed = nextcord.Embed(
        title=f"Apply {prepared.template.name}: {plan.summary()}"[:256],
        description=f"```diff\n{body}\n```",
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
        self.cancel_view = CancelJob(self._cancel_pressed)

    def cog_unload(self) -> None:
        if self._resume_task is not None:
            self._resume_task.cancel()
        for task in self.service.tasks.values():
            task.cancel()

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        if self._resumed:
            return
        self._resumed = True
        self.bot.add_view(self.cancel_view)
        self._resume_task = asyncio.create_task(self._resume_jobs(), name="template-resume")

    async def _resume_jobs(self) -> None:
        """Interrupted applies continue from their journal."""
        for job in await self.service.store.running():
            if self.bot.get_guild(job.guild_id) is None:
                continue
            log.info(
                "Resuming template job %s at step %d of %d", job.id, job.done + 1, len(job.steps)
            )
            self.service.launch(
                job, self._progress_to(job.progress_channel_id, job.progress_message_id)
            )

    # helpers -------------------------------------------------------------------------------

    async def _allowed(self, interaction: nextcord.Interaction) -> bool:
        member = interaction.user
        perms = getattr(member, "guild_permissions", None)
        if interaction.guild_id is not None and perms is not None and perms.manage_guild:
            return True
        await interaction.response.send_message(NEEDS_MANAGE, ephemeral=True)
        return False

    def _progress_to(self, channel_id: int | None, message_id: int | None):
        last = 0.0

        async def report(update: Progress) -> None:
            nonlocal last
            if channel_id is None or message_id is None:
                return
            now = time.monotonic()
            final = update.status != "running"
            if not final and now - last < EDIT_EVERY:
                return
            last = now
            payload = {"content": update.text(), "allowed_mentions": {"parse": []}}
            if final:
                payload["components"] = []
            await self.bot.http.edit_message(channel_id, message_id, **payload)

        return report

    async def _cancel_pressed(self, interaction: nextcord.Interaction) -> None:
        if not await self._allowed(interaction):
            return
        if self.service.cancel(interaction.guild_id or 0):
            await interaction.response.send_message(
                "Cancelling after the current step; finished steps stay.", ephemeral=True
            )
        else:
            await interaction.response.send_message("No apply is running here.", ephemeral=True)

    # commands ------------------------------------------------------------------------------

    @nextcord.slash_command(
        name="template",
        description="Save, preview and apply channel templates.",
        default_member_permissions=nextcord.Permissions(manage_guild=True),
        contexts=[nextcord.InteractionContextType.guild],
    )
    async def template(self, interaction: nextcord.Interaction) -> None:
        """Parent of the /template subcommands."""

    @template.subcommand(name="save", description="Snapshot this server into a template.")
    async def save(
        self,
        interaction: nextcord.Interaction,
        name: str = nextcord.SlashOption(description="Template name", max_length=100),
    ) -> None:
        if not await self._allowed(interaction):
            return
        await interaction.response.defer(ephemeral=True)
        template = await self.service.save_snapshot(interaction.guild_id, name, interaction.user.id)
        await interaction.edit_original_message(
            content=f"Saved **{name}**: {len(template.roles)} roles, {template.count()} channels."
        )

    @template.subcommand(name="list", description="Templates you can use here.")
    async def list_(self, interaction: nextcord.Interaction) -> None:
        if not await self._allowed(interaction):
            return
        rows = await self.service.store.list(interaction.guild_id)
        lines = [
            f"**{row.name}**"
            + (" (shared)" if row.shared else "")
            + ("" if row.guild_id == interaction.guild_id else " from another server")
            for row in rows
        ]
        lines += [f"**{name}** (built in)" for name in builtin_names()]
        await interaction.response.send_message("\n".join(lines)[:2000], ephemeral=True)

    @template.subcommand(name="show", description="A template's roles and channel tree.")
    async def show(
        self,
        interaction: nextcord.Interaction,
        name: str = nextcord.SlashOption(description="Template name"),
    ) -> None:
        if not await self._allowed(interaction):
            return
        try:
            _, template = await self.service.find(interaction.guild_id, name)
        except (LookupError, TemplateError) as exc:
            await interaction.response.send_message(str(exc)[:2000], ephemeral=True)
            return
        pages = pages_of(f"Template {template.name}", tree_lines(template))
        view = Pages(interaction.user.id, pages) if len(pages) > 1 else nextcord.utils.MISSING
        await interaction.response.send_message(embed=pages[0], view=view, ephemeral=True)

    @template.subcommand(name="export", description="Download a template as JSON.")
    async def export(
        self,
        interaction: nextcord.Interaction,
        name: str = nextcord.SlashOption(description="Template name"),
    ) -> None:
        if not await self._allowed(interaction):
            return
        try:
            _, template = await self.service.find(interaction.guild_id, name)
        except (LookupError, TemplateError) as exc:
            await interaction.response.send_message(str(exc)[:2000], ephemeral=True)
            return
        data = json.dumps(to_document(template), indent=2, ensure_ascii=False).encode()
        await interaction.response.send_message(
            f"Template **{template.name}**.",
            file=nextcord.File(io.BytesIO(data), filename=f"{template.name}.json"),
            ephemeral=True,
        )

    @template.subcommand(name="import", description="Import a JSON file or a Discord template.")
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
        if not await self._allowed(interaction):
            return
        if (file is None) == (code is None):
            await interaction.response.send_message(
                "Give either a JSON file or a server template code, not both.", ephemeral=True
            )
            return
        await interaction.response.defer(ephemeral=True)
        try:
            template = await read_import(self.bot.http, file, code)
        except TemplateError as exc:
            await interaction.edit_original_message(
                content=errors_text("The template was refused:", exc.errors)
            )
            return
        except (nextcord.HTTPException, LookupError) as exc:
            await interaction.edit_original_message(content=f"Could not read it: {exc}"[:2000])
            return
        template.name = name
        await self.service.store.save(
            interaction.guild_id, name, to_document(template), interaction.user.id
        )
        await interaction.edit_original_message(
            content=f"Imported **{name}**: {len(template.roles)} roles, "
            f"{template.count()} channels."
        )

    @template.subcommand(name="share", description="Let other servers use a template, or stop.")
    async def share(
        self,
        interaction: nextcord.Interaction,
        name: str = nextcord.SlashOption(description="Template name"),
        shared: bool = nextcord.SlashOption(description="Shared with other servers"),
    ) -> None:
        if not await self._allowed(interaction):
            return
        found = await self.service.store.set_shared(interaction.guild_id, name, shared)
        text = (
            f"**{name}** is now {'shared' if shared else 'private to this server'}."
            if found
            else f"This server has no template called {name!r}."
        )
        await interaction.response.send_message(text, ephemeral=True)

    @template.subcommand(name="apply", description="Preview, then make this server match it.")
    async def apply(
        self,
        interaction: nextcord.Interaction,
        name: str = nextcord.SlashOption(description="Template name"),
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
        if not await self._allowed(interaction):
            return
        await interaction.response.defer()
        try:
            ref, template = await self.service.find(interaction.guild_id, name)
        except (LookupError, TemplateError) as exc:
            await interaction.edit_original_message(content=str(exc)[:2000])
            return
        confirm = frozenset(
            n.strip().lstrip("#") for n in (delete_with_messages or "").split(",") if n.strip()
        )
        options = ApplyOptions(prune=prune, roles=roles, confirm_deletes=confirm)
        await self._preview_and_confirm(interaction, ref, template, options)

    @template.subcommand(name="undo", description="Restore the server as before the last apply.")
    async def undo(self, interaction: nextcord.Interaction) -> None:
        if not await self._allowed(interaction):
            return
        await interaction.response.defer()
        found = await self.service.undo_target(interaction.guild_id)
        if found is None:
            await interaction.edit_original_message(content="There is no apply to undo here.")
            return
        job, template = found
        options = ApplyOptions(prune=True, roles=True)
        await self._preview_and_confirm(interaction, f"undo:{job.id}", template, options)

    @template.subcommand(name="cancel", description="Stop the running apply after its step.")
    async def cancel(self, interaction: nextcord.Interaction) -> None:
        await self._cancel_pressed(interaction)

    # the apply flow ------------------------------------------------------------------------

    async def _preview_and_confirm(
        self,
        interaction: nextcord.Interaction,
        ref: str,
        template: Template,
        options: ApplyOptions,
    ) -> None:
        guild_id = interaction.guild_id
        prepared = await self.service.prepare(guild_id, ref, template, options)
        if prepared.refused:
            await interaction.edit_original_message(
                content=errors_text("Nothing was changed:", prepared.refused)
            )
            return
        if prepared.plan.empty:
            text = "This server already matches the template; nothing to do."
            if prepared.plan.kept:
                text += f" Kept (they hold messages or members): {', '.join(prepared.plan.kept)}."
            await interaction.edit_original_message(content=text[:2000])
            return

        async def confirmed(press: nextcord.Interaction) -> None:
            # Answer the button at once (3 s rule), then plan again: the server may have
            # changed since the preview.
            await press.response.edit_message(content="Checking the server again...", view=None)
            fresh = await self.service.prepare(guild_id, ref, template, options)
            if fresh.refused or fresh.plan.empty:
                text = (
                    errors_text("Nothing was changed:", fresh.refused)
                    if fresh.refused
                    else "The server already matches the template now; nothing to do."
                )
                await press.edit_original_message(content=text, embed=None)
                return
            await press.edit_original_message(
                content=f"Applying **{template.name}**: {fresh.plan.summary()}."
            )
            progress = await press.channel.send(
                f"Starting: {len(fresh.plan.steps)} steps.", view=self.cancel_view
            )
            report = self._progress_to(progress.channel.id, progress.id)

            try:
                job = await self.service.start(fresh, press.user.id, progress=report)
            except ApplyBusy as exc:
                await progress.edit(content=f"Not started: {exc}.", view=None)
                return
            await self.service.store.set_progress_message(job.id, progress.channel.id, progress.id)

        view = Confirm(interaction.user.id, confirmed, timeout=CONFIRM_TIMEOUT)
        view.origin = interaction
        await interaction.edit_original_message(
            content="Review the changes, then confirm.", embed=preview_embed(prepared), view=view
        )


__all__ = ["TemplatesCog"]
