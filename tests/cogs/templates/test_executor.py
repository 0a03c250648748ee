"""The job runner on a real database with a stand-in Discord: journal, progress, cancel,
failure, the lock, the audit entry, and adoption of a create that landed before a crash."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import select

from bot.database import Database
from bot.models import AuditEntry
from cogs.templates.executor import JobRunner, Progress, resolve
from cogs.templates.live import LiveGuild
from cogs.templates.models import ApplyJob
from cogs.templates.plan import Step
from cogs.templates.planning.model import OPERATOR
from cogs.templates.store import ApplyBusy, TemplateStore

GUILD = 100


class FakeApi:
    """Records calls; `slow` delays one, `fail_on` raises on one, `gate` holds each create."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.next_id = 1000
        self.slow: dict[str, float] = {}
        self.fail_on: str | None = None
        self.live = LiveGuild.from_api({"id": str(GUILD)}, [], [])
        self.called = asyncio.Event()

    async def _do(self, kind: str, payload: Any) -> int:
        await asyncio.sleep(self.slow.get(kind, 0))
        if kind == self.fail_on:
            raise RuntimeError("Discord said no")
        self.calls.append((kind, payload))
        self.called.set()
        self.next_id += 1
        return self.next_id

    async def create_role(self, payload: Any) -> int:
        return await self._do("create_role", payload)

    async def create_channel(self, payload: Any) -> int:
        return await self._do("create_channel", payload)

    async def edit_channel(self, target: int, payload: Any) -> None:
        await self._do("edit_channel", (target, payload))

    async def reorder_channels(self, payload: Any) -> None:
        await self._do("reorder_channels", payload)

    async def fetch(self) -> LiveGuild:
        return self.live


@pytest.fixture
async def store(migrated_db: Database) -> TemplateStore:
    """On SQLite and on PostgreSQL (tests/conftest.py)."""
    return TemplateStore(migrated_db)


STEPS = [
    Step("create_role", "create role Mod", {"name": "Mod"}, key="r:Mod"),
    Step("create_channel", "create category Staff", {"name": "Staff", "type": 4}, key="c:Staff"),
    Step(
        "create_channel",
        "create #mods",
        {
            "name": "mods",
            "type": 0,
            "parent_id": {"$ref": "c:Staff"},
            "permission_overwrites": [{"id": {"$ref": "r:Mod"}, "type": 0}],
        },
        key="c:mods",
    ),
    Step("reorder_channels", "reorder channels", [{"id": {"$ref": "c:mods"}, "position": 0}]),
]


async def new_job(store: TemplateStore) -> ApplyJob:
    return await store.create_job(
        ApplyJob(
            guild_id=GUILD,
            template_ref="test:t",
            template_name="t",
            actor_id=OPERATOR,
            status="running",
            steps=[s.to_json() for s in STEPS],
            done=0,
            id_map={},
            before=None,
            roles_created=0,
        )
    )


def test_placeholders_resolve_to_created_ids() -> None:
    assert resolve({"a": [{"$ref": "k"}], "b": 1}, {"k": 5}) == {"a": ["5"], "b": 1}


async def test_a_job_runs_in_order_reports_progress_and_writes_the_audit_log(
    store: TemplateStore,
) -> None:
    api = FakeApi()
    job = await new_job(store)
    updates: list[Progress] = []

    async def progress(update: Progress) -> None:
        updates.append(update)

    assert await JobRunner(store, api, job.id, progress=progress).run() == "done"
    role_id = 1001  # the role made in step 1
    assert api.calls[2][1]["parent_id"] == "1002"  # the category made in step 2
    assert api.calls[2][1]["permission_overwrites"][0]["id"] == str(role_id)
    assert api.calls[3][1] == [{"id": "1003", "position": 0}]
    assert updates[0].text() == "Step 1 of 4: create role Mod"
    assert "Step 2 of 4: create category Staff" in updates[1].text()
    assert "left" in updates[1].text()  # an ETA once one step has been timed
    assert updates[-1].status == "done"
    saved = await store.job(job.id)
    assert (saved.done, saved.roles_created) == (4, 1)
    assert saved.id_map == {"r:Mod": 1001, "c:Staff": 1002, "c:mods": 1003}
    assert await store.id_map("test:t", GUILD) == saved.id_map
    async with store.db.session() as session:
        audit = (await session.scalars(select(AuditEntry))).all()
    assert [(a.action, a.detail["status"], a.actor_id) for a in audit] == [
        ("template.apply", "done", OPERATOR)
    ]
    await new_job(store)  # the lock was released


async def test_one_job_per_guild(store: TemplateStore) -> None:
    first = await new_job(store)
    with pytest.raises(ApplyBusy) as busy:
        await new_job(store)
    assert busy.value.job_id == first.id


async def test_a_slow_step_is_reported_as_a_wait(store: TemplateStore) -> None:
    api = FakeApi()
    api.slow["create_channel"] = 0.2
    updates: list[Progress] = []

    async def progress(update: Progress) -> None:
        updates.append(update)

    job = await new_job(store)
    runner = JobRunner(store, api, job.id, progress=progress)
    runner.slow_step = 0.05
    await runner.run()
    assert any(u.waiting and "waiting on Discord" in u.text() for u in updates)


async def test_cancel_stops_between_steps_and_keeps_what_is_done(store: TemplateStore) -> None:
    api = FakeApi()
    api.slow["create_channel"] = 0.1
    job = await new_job(store)
    runner = JobRunner(store, api, job.id)
    task = asyncio.create_task(runner.run())
    await api.called.wait()
    runner.cancel()
    assert await task == "cancelled"
    saved = await store.job(job.id)
    assert saved.status == "cancelled" and 1 <= saved.done < 4
    assert len(api.calls) == saved.done


async def test_a_failed_step_ends_the_job_and_releases_the_lock(store: TemplateStore) -> None:
    api = FakeApi()
    api.fail_on = "reorder_channels"
    job = await new_job(store)
    assert await JobRunner(store, api, job.id).run() == "failed"
    saved = await store.job(job.id)
    assert saved.done == 3 and "reorder channels: Discord said no" in saved.error
    await new_job(store)


async def test_resume_skips_finished_steps_and_adopts_a_create_that_landed(
    store: TemplateStore,
) -> None:
    job = await new_job(store)
    await store.step_done(job.id, 2, {"r:Mod": 1001, "c:Staff": 1002}, 1)  # then a crash
    api = FakeApi()
    # step 3's request reached Discord before the crash: #mods exists under Staff already
    api.live = LiveGuild.from_api(
        {"id": str(GUILD)},
        [{"id": "1500", "type": 0, "name": "mods", "parent_id": "1002", "position": 0}],
        [],
    )
    assert await JobRunner(store, api, job.id).run() == "done"
    assert [kind for kind, _ in api.calls] == ["reorder_channels"]  # nothing made twice
    assert (await store.job(job.id)).id_map["c:mods"] == 1500


class KilledAfterFirstCreate(FakeApi):
    """Discord accepts the first create, then the process dies before the journal write."""

    async def create_role(self, payload: Any) -> int:
        made = await super().create_role(payload)
        self.live = LiveGuild.from_api(
            {"id": str(GUILD)}, [], [{"id": str(made), "name": payload["name"], "position": 1}]
        )
        raise asyncio.CancelledError  # the kill: nothing after the POST ran


async def test_a_kill_right_after_the_first_create_resumes_without_a_duplicate(
    store: TemplateStore,
) -> None:
    job = await new_job(store)
    first = KilledAfterFirstCreate()
    with pytest.raises(asyncio.CancelledError):
        await JobRunner(store, first, job.id, fresh=True).run()
    saved = await store.job(job.id)
    assert (saved.status, saved.done) == ("running", 0)  # the journal never saw step 1

    again = FakeApi()  # the restarted process, as the cog resumes it
    again.live = first.live
    again.next_id = 2000
    assert await JobRunner(store, again, job.id).run() == "done"
    assert [kind for kind, _ in first.calls + again.calls].count("create_role") == 1
    saved = await store.job(job.id)
    assert saved.id_map["r:Mod"] == 1001  # the role Discord made before the kill
    assert again.calls[1][1]["permission_overwrites"][0]["id"] == "1001"


async def test_a_fresh_job_does_not_look_for_objects_to_adopt(store: TemplateStore) -> None:
    api = FakeApi()
    fetched = 0

    async def fetch() -> LiveGuild:
        nonlocal fetched
        fetched += 1
        return api.live

    api.fetch = fetch  # type: ignore[method-assign]
    job = await new_job(store)
    assert await JobRunner(store, api, job.id, fresh=True).run() == "done"
    assert fetched == 0


async def test_another_process_sees_a_jobs_progress_from_its_row(store: TemplateStore) -> None:
    """Progress lives in the database: a second service (another process, or this one after
    a restart) shows the done/total/step/status the runner reports."""
    from cogs.templates.service import TemplateService

    gate = asyncio.Event()
    api = FakeApi()
    make_channel = api.create_channel

    async def held_channel(payload: Any) -> int:
        await gate.wait()
        return await make_channel(payload)

    api.create_channel = held_channel  # type: ignore[method-assign]
    here = TemplateService(store.db, None, lambda: 1)  # type: ignore[arg-type]
    elsewhere = TemplateService(store.db, None, lambda: 1)  # type: ignore[arg-type]
    here.api = lambda guild_id, reason=None: api  # type: ignore[assignment,method-assign,misc]
    job = await new_job(store)
    assert await store.claim_job(job.id, here.runner_id, here.lease_s)
    task = here.launch(job, None, fresh=True)
    for _ in range(400):  # the role is made (and journalled); the category waits on Discord
        reported = here.latest.get(GUILD)
        if reported is not None and reported[1].done == 1:
            break
        await asyncio.sleep(0.01)

    def seen(found: tuple[int, Progress] | None) -> tuple[int, int, int, str, str]:
        assert found is not None
        job_id, update = found
        return job_id, update.done, update.total, update.label, update.status

    running = (job.id, 1, 4, "create category Staff", "running")
    assert seen(await here.progress(GUILD)) == running  # the runner's own report
    assert seen(await elsewhere.progress(GUILD)) == running  # the same, from the row
    gate.set()
    assert await task == "done"
    finished = (job.id, 4, 4, "", "done")
    assert seen(await elsewhere.progress(GUILD)) == finished
    assert seen(await here.progress(GUILD)) == finished
    assert await TemplateService(store.db, None, lambda: 1).progress(GUILD + 1) is None  # type: ignore[arg-type]
