"""Runs an apply job step by step from its journal: resumable, cancellable, observable."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from cogs.templates.api import GuildApi
from cogs.templates.models import ApplyJob
from cogs.templates.plan import Step, StepKind
from cogs.templates.planning.model import CREATE_KINDS, OPERATOR
from cogs.templates.store import TemplateStore

log = logging.getLogger(__name__)

SLOW_STEP = 1.5  # a step slower than this is waiting on Discord (rate limit or slowness)


@dataclass
class Progress:
    done: int
    total: int
    label: str
    eta: float | None = None
    waiting: float = 0.0  # seconds the current request has been waiting
    status: str = "running"
    error: str | None = None

    def text(self) -> str:
        if self.status != "running":
            tail = f": {self.error}" if self.error else ""
            return f"Apply {self.status} after step {self.done} of {self.total}{tail}"
        line = f"Step {min(self.done + 1, self.total)} of {self.total}: {self.label}"
        if self.eta is not None:
            line += f" · about {max(self.eta, 0):.0f} s left"
        if self.waiting:
            line += f" · waiting on Discord for {self.waiting:.0f} s (rate limit or slow reply)"
        return line


ProgressCallback = Callable[[Progress], Awaitable[None]]


def stored_progress(job: ApplyJob) -> Progress:
    """A job's progress as its row tells it (what any process sees, whichever runs it): the
    journal's `done` is written as each step finishes, the step under way is the next one in
    its `steps`, and `status` and `error` are written when it ends. Only the ETA and the
    wait on Discord live in the runner alone."""
    total = len(job.steps)
    label = ""
    if job.status == "running" and job.done < total:
        label = Step.from_json(job.steps[job.done]).label
    return Progress(job.done, total, label, status=job.status, error=job.error)


def resolve(value: Any, id_map: dict[str, int]) -> Any:
    """Replace {"$ref": key} placeholders with the ids created earlier in the job."""
    if isinstance(value, dict):
        if set(value) == {"$ref"}:
            return str(id_map[value["$ref"]])
        return {k: resolve(v, id_map) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, id_map) for v in value]
    return value


class JobRunner:
    slow_step = SLOW_STEP

    def __init__(
        self,
        store: TemplateStore,
        api: GuildApi,
        job_id: int,
        *,
        progress: ProgressCallback | None = None,
        fresh: bool = False,
        runner_id: str | None = None,
        lease_s: float = 30.0,
    ) -> None:
        """`fresh`: this runner starts a job it just created, so nothing of it can have
        reached Discord yet. Otherwise (a resume) the first step it runs may already have:
        a process killed after Discord accepted a create but before the journal recorded
        it, at any step, the first included."""
        self.store = store
        self.api = api
        self.job_id = job_id
        self.progress = progress
        self.fresh = fresh
        self.cancelled = asyncio.Event()
        # With a runner id the job's lease is renewed before every step (and while a step
        # waits): a runner that lost it (another process took the job over) stops.
        self.runner_id = runner_id
        self.lease_s = lease_s

    def cancel(self) -> None:
        self.cancelled.set()

    async def _report(self, update: Progress) -> None:
        if self.progress is None:
            return
        try:
            await self.progress(update)
        except Exception:  # a failed progress edit must not fail the apply
            log.warning("Progress update for job %s failed", self.job_id, exc_info=True)

    async def run(self) -> str:
        job = await self.store.job(self.job_id)
        assert job is not None
        steps = [Step.from_json(raw) for raw in job.steps]
        id_map: dict[str, int] = dict(job.id_map)
        roles_created = job.roles_created
        total = len(steps)
        if job.actor_id != OPERATOR and job.done < total:
            try:
                refused = await self._refused_to_actor(job.actor_id, steps[job.done :], id_map)
            except Exception as exc:  # the job must end, its lock released, either way
                log.warning("Template job %s: checking its member failed", job.id, exc_info=True)
                text = f"could not check what the member applying may change: {exc}"
                return await self._finish(job.done, total, "failed", text)
            if refused:
                # nothing of it ran here: not an apply to undo (unless earlier steps ran)
                status = "failed" if job.done else "refused"
                text = "not yours to change now (Discord would refuse you): " + "; ".join(refused)
                return await self._finish(job.done, total, status, text)
        started = time.monotonic()
        first = job.done
        for index in range(job.done, total):
            if self.runner_id is not None:
                held, cancel = await self.store.renew(self.job_id, self.runner_id, self.lease_s)
                if not held:
                    log.warning("Template job %s was taken over; this runner stops", self.job_id)
                    return "handed over"
                if cancel:
                    self.cancelled.set()
            if self.cancelled.is_set():
                return await self._finish(index, total, "cancelled")
            step = steps[index]
            elapsed = time.monotonic() - started
            done_here = index - first
            eta = elapsed / done_here * (total - index) if done_here else None
            await self._report(Progress(index, total, step.label, eta))
            watcher = asyncio.create_task(self._watch(index, total, step.label, eta))
            try:
                adopt = not self.fresh and index == first
                created = await self._execute(step, id_map, adopt=adopt)
            except Exception as exc:
                watcher.cancel()
                log.warning(
                    "Template job %s failed at step %d", self.job_id, index + 1, exc_info=True
                )
                return await self._finish(index, total, "failed", f"{step.label}: {exc}")
            finally:
                watcher.cancel()
            if created is not None and step.key is not None:
                id_map[step.key] = created
                if step.kind is StepKind.CREATE_ROLE:
                    roles_created += 1
            await self.store.step_done(self.job_id, index + 1, id_map, roles_created)
        return await self._finish(total, total, "done")

    async def _refused_to_actor(
        self, actor_id: int, steps: list[Step], id_map: dict[str, int]
    ) -> list[str]:
        """The preview checked the member who applies; the server (their roles, the roles'
        permissions and order) may have changed since, or while a resumed job waited."""
        from cogs.templates.checks import member_of, member_refusals

        live = await self.api.fetch()
        return member_refusals(steps, live, await member_of(self.api, actor_id), id_map)

    async def _watch(self, index: int, total: int, label: str, eta: float | None) -> None:
        begun = time.monotonic()
        renewed = begun
        with contextlib.suppress(asyncio.CancelledError):
            while True:
                await asyncio.sleep(self.slow_step)
                waited = time.monotonic() - begun
                await self._report(Progress(index, total, label, eta, waiting=waited))
                if self.runner_id is not None and time.monotonic() - renewed > self.lease_s / 3:
                    renewed = time.monotonic()  # a long step keeps the lease too
                    try:
                        await self.store.renew(self.job_id, self.runner_id, self.lease_s)
                    except Exception:
                        log.warning("Renewing the lease of job %s failed", self.job_id)

    async def _finish(self, done: int, total: int, status: str, error: str | None = None) -> str:
        await self.store.finish(self.job_id, status, error)
        await self._report(Progress(done, total, "", status=status, error=error))
        return status

    async def _adopt(self, step: Step, id_map: dict[str, int]) -> int | None:
        """After a restart the first pending create may have reached Discord already:
        the object it would make, not yet in the journal, is taken instead of made twice."""
        live = await self.api.fetch()
        known = set(id_map.values())
        payload = resolve(step.payload, id_map)
        if step.kind is StepKind.CREATE_ROLE:
            return next(
                (r.id for r in live.roles if r.name == payload["name"] and r.id not in known),
                None,
            )
        parent = int(payload["parent_id"]) if payload.get("parent_id") else None
        for channel in live.channels:
            if (
                channel.id not in known
                and channel.type == payload["type"]
                and channel.parent_id == parent
                and channel.name.lower() == payload["name"].lower()
            ):
                return channel.id
        return None

    async def _execute(self, step: Step, id_map: dict[str, int], *, adopt: bool) -> int | None:
        api = self.api
        if step.kind in CREATE_KINDS:
            if adopt:
                existing = await self._adopt(step, id_map)
                if existing is not None:
                    log.info("Job %s: adopting %s made before the restart", self.job_id, step.label)
                    return existing
            payload = resolve(step.payload, id_map)
            if step.kind is StepKind.CREATE_ROLE:
                return await api.create_role(payload)
            return await api.create_channel(payload)
        payload = resolve(step.payload, id_map)
        target = (
            step.target if step.target is not None else (id_map.get(step.key) if step.key else None)
        )
        match step.kind:
            case StepKind.EDIT_CHANNEL:
                await api.edit_channel(target, payload)  # type: ignore[arg-type]
            case StepKind.EDIT_ROLE:
                await api.edit_role(target, payload)  # type: ignore[arg-type]
            case StepKind.EDIT_GUILD:
                await api.edit_guild(payload)
            case StepKind.REORDER_CHANNELS:
                await api.reorder_channels(payload)
            case StepKind.REORDER_ROLES:
                await api.reorder_roles(payload)
            case StepKind.DELETE_CHANNEL:
                await api.delete_channel(target)  # type: ignore[arg-type]
            case StepKind.DELETE_ROLE:
                await api.delete_role(target)  # type: ignore[arg-type]
            case _:
                raise ValueError(f"unknown step kind {step.kind!r}")
        return None
