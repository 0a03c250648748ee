"""The one waiting rule of the end-to-end tests (tests.foundry.eventually): re-check until
truthy, return that value, awaiting checks that are coroutines; fail naming what it waited
for."""

from __future__ import annotations

import asyncio

import pytest

from tests.foundry import eventually


async def test_returns_the_first_truthy_result() -> None:
    results = iter([None, 0, "", [], {"id": 7}])
    assert await eventually(lambda: next(results), "a value") == {"id": 7}


async def test_awaits_a_coroutine_check() -> None:
    calls = 0

    async def check() -> int | None:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0)
        return calls if calls >= 3 else None

    assert await eventually(check, "the third call") == 3


async def test_times_out_naming_what_it_waited_for() -> None:
    with pytest.raises(AssertionError, match="waiting until the moon is green"):
        await eventually(lambda: False, "the moon is green", timeout=0.05)
