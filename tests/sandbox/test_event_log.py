"""The sandbox's call and dispatch logs: unbounded for tests, a ring for long runs, with
positions that stay valid as the oldest entries go."""

from __future__ import annotations

import pytest

from sandbox.event_log import EventLog


def test_an_unbounded_log_behaves_like_a_list() -> None:
    log = EventLog()
    for i in range(5):
        log.append({"i": i})
    assert len(log) == 5
    assert [e["i"] for e in log] == [0, 1, 2, 3, 4]
    assert [e["i"] for e in log[2:]] == [2, 3, 4]
    assert log[-1] == {"i": 4} and log[0] == {"i": 0}


def test_a_ring_keeps_the_newest_entries_and_marks_stay_absolute() -> None:
    log = EventLog(limit=3)
    for i in range(4):
        log.append({"i": i})
    mark = len(log)  # 4, as with a list
    for i in range(4, 7):
        log.append({"i": i})
    assert len(log) == 7
    assert [e["i"] for e in log] == [4, 5, 6]
    assert [e["i"] for e in log[mark:]] == [4, 5, 6]
    assert [e["i"] for e in log[5:]] == [5, 6]
    assert [e["i"] for e in log[0:]] == [4, 5, 6]  # dropped entries are simply gone
    assert log[-1] == {"i": 6} and log[6] == {"i": 6}
    with pytest.raises(IndexError, match="not kept"):
        log[1]


def test_a_long_run_keeps_memory_bounded() -> None:
    log = EventLog(limit=100)
    for i in range(20_000):
        log.append({"method": "GET", "i": i})
    assert len(log) == 20_000 and len(list(log)) == 100


def test_a_limit_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        EventLog(limit=0)
