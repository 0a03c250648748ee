"""Saved templates in the database: each server's caps, and deleting only its own."""

from __future__ import annotations

import asyncio

import pytest

from bot.database import Database
from cogs.templates.document import TemplateError
from cogs.templates.store import (
    MAX_SAVED_BYTES,
    MAX_TEMPLATES_PER_GUILD,
    TemplateLimit,
    TemplateStore,
)

GUILD, OTHER = 100, 200


def doc(name: str, padding: int = 0) -> dict:
    return {"version": 2, "name": name, "description": "x" * padding, "channels": []}


@pytest.fixture
async def store(migrated_db: Database) -> TemplateStore:
    return TemplateStore(migrated_db)


async def test_a_server_keeps_at_most_the_cap_of_templates(store: TemplateStore) -> None:
    for i in range(MAX_TEMPLATES_PER_GUILD):
        await store.save(GUILD, f"t{i}", doc(f"t{i}"), 1)
    with pytest.raises(TemplateLimit) as refused:
        await store.save(GUILD, "one-more", doc("one-more"), 1)
    assert f"already keeps {MAX_TEMPLATES_PER_GUILD} templates" in refused.value.errors[0]
    assert "/template delete" in refused.value.errors[0]
    await store.save(GUILD, "t0", doc("t0", 10), 1)  # replacing one is fine at the cap
    await store.save(OTHER, "theirs", doc("theirs"), 1)  # the cap is per server
    assert await store.remove(GUILD, "t1")
    await store.save(GUILD, "one-more", doc("one-more"), 1)  # room again after a delete
    assert len(await store.own_names(GUILD)) == MAX_TEMPLATES_PER_GUILD


async def test_a_template_over_the_size_cap_is_refused_and_not_stored(
    store: TemplateStore,
) -> None:
    with pytest.raises(TemplateLimit, match=f"at most {MAX_SAVED_BYTES // 1024} KiB"):
        await store.save(GUILD, "huge", doc("huge", MAX_SAVED_BYTES), 1)
    assert await store.find(GUILD, "huge") is None


async def test_a_server_deletes_only_its_own_templates(store: TemplateStore) -> None:
    await store.save(OTHER, "shared", doc("shared"), 1)
    await store.set_shared(OTHER, "shared", True)
    await store.save(GUILD, "mine", doc("mine"), 1)
    row = await store.find(GUILD, "mine")
    await store.merge_id_map(f"db:{row.id}", GUILD, {"c:x": 5})
    assert not await store.remove(GUILD, "shared")
    assert not await store.remove(GUILD, f"shared@{OTHER}")
    assert await store.find_shared(OTHER, "shared") is not None
    assert await store.remove(GUILD, "mine")
    assert await store.find(GUILD, "mine") is None
    assert await store.id_map(f"db:{row.id}", GUILD) == {}
    assert await store.own_names(GUILD) == []


async def _running_job(store: TemplateStore, runner: str | None = None):  # type: ignore[no-untyped-def]
    from datetime import timedelta

    from bot.guild_access import GuildAccess
    from bot.models import utcnow
    from cogs.templates.models import ApplyJob

    await GuildAccess(store.db, auto_approve=True).joined(GUILD, "G")
    return await store.create_job(
        ApplyJob(
            guild_id=GUILD,
            template_ref="builtin:lab",
            template_name="lab",
            actor_id=1,
            status="running",
            steps=[],
            done=0,
            id_map={},
            roles_created=0,
            runner=runner,
            lease_until=utcnow() + timedelta(seconds=60) if runner else None,
        )
    )


async def test_a_job_is_run_by_one_runner_until_its_lease_lapses(store: TemplateStore) -> None:
    """Of two processes, only the one holding the lease runs a job; the other takes it over
    once the lease has lapsed (its runner died), and the first then finds it lost."""
    job = await _running_job(store, runner="first")
    assert not await store.claim_job(job.id, "second", 60)  # first holds a live lease
    assert await store.renew(job.id, "first", 60) == (True, False)
    assert await store.renew(job.id, "first", -1) == (True, False)  # lapsed, for the test
    assert await store.claim_job(job.id, "second", 60)
    assert await store.renew(job.id, "first", 60) == (False, False)  # it was taken over
    await store.release(job.id, "second")
    assert await store.claim_job(job.id, "first", 60)  # released: taken at once


async def test_a_cancel_asked_anywhere_reaches_the_runner(store: TemplateStore) -> None:
    job = await _running_job(store, runner="first")
    assert await store.request_cancel(GUILD)
    assert await store.renew(job.id, "first", 60) == (True, True)
    assert not await store.request_cancel(OTHER)  # no apply runs there


async def test_a_finished_undo_marks_the_apply_it_undid_in_the_same_commit(
    store: TemplateStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The undo job is never seen done while the apply it undid still looks undoable (a
    second undo would undo it again): both change in one transaction, so even a crash
    right after it (here: keeping the ids fails) leaves them agreeing."""
    apply = await _running_job(store)
    await store.finish(apply.id, "done")
    undo = await _running_job(store)
    async with store.db.session() as session:
        from cogs.templates.models import ApplyJob

        row = await session.get(ApplyJob, undo.id)
        assert row is not None
        row.template_ref, row.id_map = f"undo:{apply.id}", {"c:x": 5}
        await session.commit()

    async def crash(*_: object) -> None:
        raise RuntimeError("the process died here")

    monkeypatch.setattr(store, "merge_id_map", crash)
    with pytest.raises(RuntimeError):
        await store.finish(undo.id, "done")
    async with store.db.session() as session:
        assert (await session.get(ApplyJob, undo.id)).status == "done"
        assert (await session.get(ApplyJob, apply.id)).status == "undone"


async def test_concurrent_saves_stop_at_the_cap(store: TemplateStore) -> None:
    """60 saves at once of new names: the count and the insert are one step per server."""
    await store.save(OTHER, "theirs", doc("theirs"), 1)

    async def save(i: int) -> bool:
        try:
            await store.save(GUILD, f"c{i}", doc(f"c{i}"), 1)
        except TemplateLimit:
            return False
        return True

    saved = await asyncio.gather(*(save(i) for i in range(MAX_TEMPLATES_PER_GUILD + 10)))
    assert saved.count(True) == MAX_TEMPLATES_PER_GUILD
    assert len(await store.own_names(GUILD)) == MAX_TEMPLATES_PER_GUILD
    assert await store.own_names(OTHER) == ["theirs"]


async def test_names_that_would_hide_a_shared_template_are_refused(store: TemplateStore) -> None:
    await store.save(OTHER, "shared", doc("shared"), 1, shared=True)
    for name in (f"shared@{OTHER}", "a@b"):
        with pytest.raises(TemplateError) as refused:
            await store.save(GUILD, name, doc(name), 1)
        assert refused.value.errors[0].startswith(f"name: {name!r} contains '@'")
    assert await store.own_names(GUILD) == []
    assert (await store.find_shared(OTHER, "shared")).shared


async def test_text_that_is_not_utf8_is_refused_not_a_crash(store: TemplateStore) -> None:
    """A snapshot of a live server is saved without load_document: the store checks too."""
    bad = {**doc("t"), "channels": [{"name": "a\udc00b", "type": "text"}]}
    with pytest.raises(TemplateError) as refused:
        await store.save(GUILD, "t", bad, 1)
    assert refused.value.errors == [
        "$.channels[0].name: 'a\\udc00b' holds a lone surrogate (half of a UTF-16 pair), "
        "which is not text; remove it"
    ]
    with pytest.raises(TemplateError, match="name: 'x\\\\ud800' holds a lone surrogate"):
        await store.save(GUILD, "x\ud800", doc("x"), 1)
    assert await store.own_names(GUILD) == []
