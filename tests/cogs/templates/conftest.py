"""The `foundry` fixture (FoundryCord against a sandbox) and helpers for the template tests."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from sandbox.driver import Answer, SandboxDriver
from tests.foundry import Foundry, approve

__all__ = ["approve"]  # test files import it from here


def service(foundry: Foundry):  # type: ignore[no-untyped-def]
    return foundry.bot.get_cog("TemplatesCog").service


# Who applies the built-ins: the owner. They create roles with permissions (Administrator,
# Kick Members, ...) that bob, a manager with Manage Server alone, does not have, and the
# bot, acting for the person who applies, refuses to give them for him as Discord would.
APPLIER = "alice"


async def run(driver: SandboxDriver, command: str, user: str = "bob", **options) -> Answer:  # type: ignore[no-untyped-def]
    return await driver.member(user).run(f"template {command}", options, channel="general")


async def last_job(foundry: Foundry):  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from cogs.templates.models import ApplyJob

    async with foundry.process.services.db.session() as session:
        return await session.scalar(select(ApplyJob).order_by(ApplyJob.id.desc()).limit(1))


async def wait_job(foundry: Foundry, after: int, timeout: float = 30) -> str:
    """Wait for a job newer than `after` to finish; its status."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        job = await last_job(foundry)
        if job is not None and job.id > after and job.status != "running":
            return job.status
        if loop.time() > deadline:
            raise TimeoutError(f"no finished apply job after job {after} (last: {job})")
        await asyncio.sleep(0.05)


async def last_job_id(foundry: Foundry) -> int:
    job = await last_job(foundry)
    return job.id if job is not None else 0


async def apply_and_confirm(  # type: ignore[no-untyped-def]
    driver: SandboxDriver, foundry: Foundry, name: str, *, user: str = APPLIER, **options
) -> str:
    answer = await run(driver, "apply", name=name, user=user, **options)
    assert answer.message is not None
    assert any(
        c.get("custom_id") == "template:confirm"
        for row in answer.message.components
        for c in row.get("components", [])
    ), answer.content
    before = await last_job_id(foundry)
    await driver.member(user).press(answer.message, "template:confirm")
    return await wait_job(foundry, before)


async def apply_from_editor(page: Any, foundry: Foundry) -> str:
    """Press Apply in the template editor (a Playwright page), wait for its progress line
    to say the apply is done and for the job to finish; the job's status."""
    before = await last_job_id(foundry)
    await page.get_by_role("button", name="Apply").click()
    await page.get_by_test_id("template-progress").get_by_text("Apply done").wait_for(timeout=15000)
    return await wait_job(foundry, before)


def nested_channels(depth: int) -> dict[str, Any]:
    """A template whose channels nest `depth` categories deep."""
    top: dict[str, Any] = {"name": "c0", "type": "category"}
    node = top
    for i in range(1, depth):
        child: dict[str, Any] = {"name": f"c{i}", "type": "category"}
        node["channels"] = [child]
        node = child
    return {"version": 2, "name": "deep", "channels": [top]}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
