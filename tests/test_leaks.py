"""tests/leaks.py: the warning about an aiosqlite connection nobody closed names the test
and the task that opened it."""

from __future__ import annotations

import asyncio
import gc

import aiosqlite
import pytest


async def test_an_unclosed_connection_is_named_by_the_test_and_task_that_opened_it() -> None:
    task = asyncio.current_task()
    assert task is not None
    task.set_name("opener")
    connection = await aiosqlite.connect(":memory:")
    expected = (
        r"opened by task 'opener' during tests/test_leaks.py::"
        r"test_an_unclosed_connection_is_named_by_the_test_and_task_that_opened_it"
    )
    with pytest.warns(ResourceWarning, match=expected):
        del connection
        gc.collect()
    await asyncio.sleep(0.05)  # its thread closes the connection and stops


async def test_a_closed_connection_warns_nothing() -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        connection = await aiosqlite.connect(":memory:")
        await connection.close()
        del connection
        gc.collect()
