"""Saved templates, id maps, apply jobs and locks in the database."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from bot.coalesce import VersionedReads
from bot.database import Database
from bot.locks import quota_lock
from bot.models import AuditEntry, utcnow
from cogs.templates.document import TemplateError, name_errors, text_errors
from cogs.templates.models import ApplyJob, ApplyLock, SavedTemplate, TemplateIdMap
from cogs.templates.planning.model import StepKind

ROLE_WINDOW = timedelta(hours=48)
CHANNEL_WINDOW = timedelta(hours=24)
# Each server keeps at most this many templates of at most this size (JSON as stored): a
# 500-channel server's snapshot is far smaller, and a server cannot fill the database.
MAX_TEMPLATES_PER_GUILD = 50
MAX_SAVED_BYTES = 512 * 1024


class TemplateLimit(TemplateError):
    """Saving would pass a server's template cap; the message says which and what to do."""

    def __init__(self, message: str) -> None:
        super().__init__([message])


class ApplyBusy(Exception):
    """Another apply holds this guild's lock."""

    def __init__(self, job_id: int) -> None:
        self.job_id = job_id
        super().__init__(f"an apply (job {job_id}) is already running in this server")


@dataclass(frozen=True)
class TemplateSummary:
    guild_id: int
    name: str
    shared: bool


class TemplateStore:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._versions = VersionedReads(self._read_version)
        self._summaries = VersionedReads(self._read_summaries)

    # templates -----------------------------------------------------------------------------

    async def save(
        self,
        guild_id: int,
        name: str,
        document: dict[str, Any],
        actor_id: int,
        *,
        shared: bool | None = None,
    ) -> SavedTemplate:
        """Save (or replace) this server's template `name`, and with `shared` set whether
        other servers may use it, in one transaction; TemplateError for a name or text that
        cannot be stored, TemplateLimit past the caps."""
        errors = name_errors(name) + text_errors(document)
        if errors:
            raise TemplateError(errors)
        size = len(json.dumps(document, ensure_ascii=False).encode())
        if size > MAX_SAVED_BYTES:
            raise TemplateLimit(
                f"{name}: the template is {size // 1024} KiB; a saved template holds at most "
                f"{MAX_SAVED_BYTES // 1024} KiB"
            )
        async with self.db.session() as session, session.begin():
            # concurrent saves would each count 49 and all insert: one counts at a time
            await quota_lock(session, "templates", guild_id)
            row = await session.scalar(
                select(SavedTemplate).where(
                    SavedTemplate.guild_id == guild_id, SavedTemplate.name == name
                )
            )
            if row is None:
                count = await session.scalar(
                    select(func.count())
                    .select_from(SavedTemplate)
                    .where(SavedTemplate.guild_id == guild_id)
                )
                if (count or 0) >= MAX_TEMPLATES_PER_GUILD:
                    raise TemplateLimit(
                        f"This server already keeps {MAX_TEMPLATES_PER_GUILD} templates, the "
                        "most it may; delete one (/template delete, or Delete on the web "
                        "list) to save another"
                    )
                row = SavedTemplate(
                    guild_id=guild_id,
                    name=name,
                    document=document,
                    created_by=actor_id,
                    shared=bool(shared),
                )
                session.add(row)
            else:
                row.document = document
                row.updated_at = utcnow()
                if shared is not None:
                    row.shared = shared
        return row

    async def find(self, guild_id: int, name: str) -> SavedTemplate | None:
        """This server's own template called `name` (never another server's)."""
        async with self.db.session() as session:
            return await session.scalar(
                select(SavedTemplate).where(
                    SavedTemplate.guild_id == guild_id, SavedTemplate.name == name
                )
            )

    async def find_shared(self, origin_guild_id: int, name: str) -> SavedTemplate | None:
        """The template `name` that server `origin_guild_id` shares, if it shares it."""
        async with self.db.session() as session:
            return await session.scalar(
                select(SavedTemplate).where(
                    SavedTemplate.guild_id == origin_guild_id,
                    SavedTemplate.name == name,
                    SavedTemplate.shared.is_(True),
                )
            )

    async def version(
        self, guild_id: int, name: str, counter: int | None = None
    ) -> tuple[int, datetime] | None:
        """(id, updated_at) of this server's own template `name`: every save changes it, so
        a copy made from the document it names is current (a light query, no document,
        shared by the requests asking at once; see bot.coalesce). With `counter`, the
        'templates' counter read before this call, the answer is read again only after
        the counter moved."""
        return await self._versions((guild_id, name), counter)

    async def _read_version(self, key: tuple[int, str]) -> tuple[int, datetime] | None:
        guild_id, name = key
        async with self.db.session() as session:
            row = (
                await session.execute(
                    select(SavedTemplate.id, SavedTemplate.updated_at).where(
                        SavedTemplate.guild_id == guild_id, SavedTemplate.name == name
                    )
                )
            ).first()
        return (row.id, row.updated_at) if row is not None else None

    async def summaries(self, guild_id: int, version: int | None = None) -> list[TemplateSummary]:
        """Like `list`, without the documents: what a list of names shows (one read shared
        by the requests asking at once). `version` is the 'templates' counter (migration
        templates_0005) read before this call: while it stays, the copy in memory is
        returned, since no template was written."""
        return await self._summaries(guild_id, version)

    async def _read_summaries(self, guild_id: int) -> list[TemplateSummary]:
        async with self.db.session() as session:
            rows = await session.execute(
                select(SavedTemplate.guild_id, SavedTemplate.name, SavedTemplate.shared)
                .where(or_(SavedTemplate.guild_id == guild_id, SavedTemplate.shared.is_(True)))
                .order_by(SavedTemplate.guild_id != guild_id, SavedTemplate.name)
            )
            return [TemplateSummary(r.guild_id, r.name, bool(r.shared)) for r in rows]

    async def list(self, guild_id: int) -> list[SavedTemplate]:
        async with self.db.session() as session:
            return list(
                (
                    await session.scalars(
                        select(SavedTemplate)
                        .where(
                            or_(
                                SavedTemplate.guild_id == guild_id,
                                SavedTemplate.shared.is_(True),
                            )
                        )
                        .order_by(SavedTemplate.guild_id != guild_id, SavedTemplate.name)
                    )
                ).all()
            )

    async def set_shared(self, guild_id: int, name: str, shared: bool) -> bool:
        async with self.db.session() as session:
            row = await session.scalar(
                select(SavedTemplate).where(
                    SavedTemplate.guild_id == guild_id, SavedTemplate.name == name
                )
            )
            if row is None:
                return False
            row.shared = shared
            await session.commit()
            return True

    async def own_names(self, guild_id: int) -> list[str]:
        """This server's own templates' names (never another server's)."""
        async with self.db.session() as session:
            return list(
                (
                    await session.scalars(
                        select(SavedTemplate.name)
                        .where(SavedTemplate.guild_id == guild_id)
                        .order_by(SavedTemplate.name)
                    )
                ).all()
            )

    async def remove(self, guild_id: int, name: str) -> bool:
        """Delete this server's own template `name` and the id maps kept for it."""
        async with self.db.session() as session:
            row = await session.scalar(
                select(SavedTemplate).where(
                    SavedTemplate.guild_id == guild_id, SavedTemplate.name == name
                )
            )
            if row is None:
                return False
            await session.execute(
                delete(TemplateIdMap).where(TemplateIdMap.template_ref == f"db:{row.id}")
            )
            await session.delete(row)
            await session.commit()
            return True

    # id maps -------------------------------------------------------------------------------

    async def id_map(self, template_ref: str, guild_id: int) -> dict[str, int]:
        async with self.db.session() as session:
            row = await session.get(TemplateIdMap, (template_ref, guild_id))
            return dict(row.mapping) if row is not None else {}

    async def merge_id_map(self, template_ref: str, guild_id: int, new: dict[str, int]) -> None:
        async with self.db.session() as session:
            row = await session.get(TemplateIdMap, (template_ref, guild_id))
            if row is None:
                session.add(
                    TemplateIdMap(template_ref=template_ref, guild_id=guild_id, mapping=new)
                )
            else:
                row.mapping = {**row.mapping, **new}
            await session.commit()

    # jobs ----------------------------------------------------------------------------------

    async def create_job(self, job: ApplyJob) -> ApplyJob:
        """Store the job and take the guild's lock, or raise ApplyBusy."""
        async with self.db.session() as session:
            holder = await session.get(ApplyLock, job.guild_id)
            if holder is not None:
                raise ApplyBusy(holder.job_id)
            session.add(job)
            await session.flush()
            session.add(ApplyLock(guild_id=job.guild_id, job_id=job.id))
            try:
                await session.commit()
            except IntegrityError:
                await session.rollback()
                async with self.db.session() as again:
                    holder = await again.get(ApplyLock, job.guild_id)
                raise ApplyBusy(holder.job_id if holder else 0) from None
            return job

    # the runner's lease (several bot processes) ----------------------------------------------

    async def claim_job(self, job_id: int, runner: str, lease_s: float) -> bool:
        """Take a running job to run it: only when nobody runs it (no runner, or a lease
        that has lapsed) or it is already this runner's. A guarded update, so of two
        processes asking at once one gets it."""
        now = utcnow()
        async with self.db.session() as session, session.begin():
            result = await session.execute(
                update(ApplyJob)
                .where(
                    ApplyJob.id == job_id,
                    ApplyJob.status == "running",
                    or_(
                        ApplyJob.runner.is_(None),
                        ApplyJob.runner == runner,
                        ApplyJob.lease_until.is_(None),
                        ApplyJob.lease_until < now,
                    ),
                )
                .values(runner=runner, lease_until=now + timedelta(seconds=lease_s))
            )
        return bool(result.rowcount)

    async def renew(self, job_id: int, runner: str, lease_s: float) -> tuple[bool, bool]:
        """Extend this runner's lease; (still ours, cancel asked)."""
        now = utcnow()
        async with self.db.session() as session, session.begin():
            result = await session.execute(
                update(ApplyJob)
                .where(
                    ApplyJob.id == job_id,
                    ApplyJob.runner == runner,
                    ApplyJob.status == "running",
                )
                .values(lease_until=now + timedelta(seconds=lease_s))
            )
            cancel = await session.scalar(
                select(ApplyJob.cancel_requested).where(ApplyJob.id == job_id)
            )
        return bool(result.rowcount), bool(cancel)

    async def release(self, job_id: int, runner: str) -> None:
        """Let another process take the job at once (this one is stopping)."""
        async with self.db.session() as session, session.begin():
            await session.execute(
                update(ApplyJob)
                .where(ApplyJob.id == job_id, ApplyJob.runner == runner)
                .values(runner=None, lease_until=None)
            )

    async def request_cancel(self, guild_id: int) -> bool:
        """Ask the guild's running apply to stop, whichever process runs it."""
        async with self.db.session() as session, session.begin():
            result = await session.execute(
                update(ApplyJob)
                .where(ApplyJob.guild_id == guild_id, ApplyJob.status == "running")
                .values(cancel_requested=True)
            )
        return bool(result.rowcount)

    async def job(self, job_id: int) -> ApplyJob | None:
        async with self.db.session() as session:
            return await session.get(ApplyJob, job_id)

    async def newest_job(self, guild_id: int) -> ApplyJob | None:
        """The guild's most recent apply job (running or not)."""
        async with self.db.session() as session:
            return await session.scalar(
                select(ApplyJob)
                .where(ApplyJob.guild_id == guild_id)
                .order_by(ApplyJob.id.desc())
                .limit(1)
            )

    async def step_done(
        self, job_id: int, done: int, id_map: dict[str, int], roles_created: int
    ) -> None:
        """The journal: one commit per finished step, so a restart skips it."""
        async with self.db.session() as session:
            job = await session.get(ApplyJob, job_id)
            assert job is not None
            job.done = done
            job.id_map = dict(id_map)
            job.roles_created = roles_created
            job.updated_at = utcnow()
            await session.commit()

    async def set_progress_message(self, job_id: int, channel_id: int, message_id: int) -> None:
        async with self.db.session() as session:
            job = await session.get(ApplyJob, job_id)
            if job is not None:
                job.progress_channel_id = channel_id
                job.progress_message_id = message_id
                await session.commit()

    async def finish(self, job_id: int, status: str, error: str | None = None) -> ApplyJob:
        """Close the job, release the lock, keep the ids it made, write the audit entry; a
        finished undo marks the apply it undid in the same transaction, so the job is never
        seen done while that apply still looks undoable."""
        async with self.db.session() as session:
            job = await session.get(ApplyJob, job_id)
            assert job is not None
            if status == "done" and job.template_ref.startswith("undo:"):
                undone = await session.get(ApplyJob, int(job.template_ref.removeprefix("undo:")))
                if undone is not None:
                    undone.status = "undone"
            job.status = status
            job.error = error[:2000] if error else None
            job.updated_at = utcnow()
            await session.execute(delete(ApplyLock).where(ApplyLock.job_id == job_id))
            session.add(
                AuditEntry(
                    guild_id=job.guild_id,
                    actor_id=job.actor_id,
                    action="template.apply",
                    detail={
                        "job": job.id,
                        "template": job.template_name,
                        "status": status,
                        "steps_done": job.done,
                        "steps": len(job.steps),
                        "error": error,
                    },
                )
            )
            await session.commit()
        if job.id_map:
            await self.merge_id_map(job.template_ref, job.guild_id, job.id_map)
        return job

    async def running(self) -> list[ApplyJob]:
        async with self.db.session() as session:
            return list(
                (
                    await session.scalars(
                        select(ApplyJob).where(ApplyJob.status == "running").order_by(ApplyJob.id)
                    )
                ).all()
            )

    async def last_applied(self, guild_id: int) -> ApplyJob | None:
        """The newest finished apply with a snapshot to go back to (undo itself excluded)."""
        async with self.db.session() as session:
            return await session.scalar(
                select(ApplyJob)
                .where(
                    ApplyJob.guild_id == guild_id,
                    ApplyJob.before.is_not(None),
                    ApplyJob.status.in_(("done", "cancelled", "failed")),
                    ~ApplyJob.template_ref.startswith("undo:"),
                )
                .order_by(ApplyJob.id.desc())
                .limit(1)
            )

    async def roles_created_recently(self, guild_id: int) -> int:
        async with self.db.session() as session:
            total = await session.scalar(
                select(func.coalesce(func.sum(ApplyJob.roles_created), 0)).where(
                    ApplyJob.guild_id == guild_id, ApplyJob.created_at >= utcnow() - ROLE_WINDOW
                )
            )
            return int(total or 0)

    async def channels_created_recently(self, guild_id: int) -> int:
        """Channels this bot's applies created in the guild in the last 24 hours: the
        create steps each job's journal counts as done (an adopted create is counted too,
        erring towards refusing)."""
        async with self.db.session() as session:
            jobs = (
                await session.execute(
                    select(ApplyJob.steps, ApplyJob.done).where(
                        ApplyJob.guild_id == guild_id,
                        ApplyJob.updated_at >= utcnow() - CHANNEL_WINDOW,
                    )
                )
            ).all()
        return sum(
            1
            for steps, done in jobs
            for step in steps[:done]
            if isinstance(step, dict) and step.get("kind") == StepKind.CREATE_CHANNEL
        )
