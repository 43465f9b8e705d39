"""Group commit: callers waiting together share a commit, each answered with its own result."""

from __future__ import annotations

import asyncio

import pytest

from mailcast.group_commit import GroupCommit


class _Log:
    def __init__(self, refuse: str | None = None) -> None:
        self.groups: list[list[str]] = []
        self.refuse = refuse

    async def commit(self, items: list[str]) -> list[str]:
        await asyncio.sleep(0)  # as a database round trip: others may submit meanwhile
        if self.refuse in items:
            raise ValueError(f"refused {self.refuse}")
        self.groups.append(list(items))
        return [item.upper() for item in items]


def _run(
    group: GroupCommit[str, str], items: list[str], spacing: float = 0.0, within: float = 30.0
) -> list[object]:
    async def one(item: str, delay: float) -> object:
        await asyncio.sleep(delay)
        try:
            return await group.submit(item)
        except ValueError as exc:
            return exc

    async def all_of_them() -> list[object]:
        together = asyncio.gather(*(one(x, i * spacing) for i, x in enumerate(items)))
        return await asyncio.wait_for(together, within)

    return asyncio.run(all_of_them())


def test_items_submitted_together_go_in_one_commit_each_with_its_result() -> None:
    log = _Log()
    results = _run(GroupCommit(log.commit, lambda n: None), ["a", "b", "c"])
    assert results == ["A", "B", "C"]
    assert log.groups == [["a", "b", "c"]]


def test_a_refused_item_costs_only_its_own_caller() -> None:
    log = _Log(refuse="b")
    results = _run(GroupCommit(log.commit, lambda n: None), ["a", "b", "c"])
    assert results[0::2] == ["A", "C"]
    assert isinstance(results[1], ValueError)
    assert log.groups == [["a"], ["c"]]


def test_a_commit_gathers_the_items_of_callers_still_on_their_way() -> None:
    # Without gathering, the first item goes alone and the later ones after it.
    alone = _Log()
    _run(GroupCommit(alone.commit, lambda n: None), ["a", "b", "c"], spacing=0.002)
    assert len(alone.groups) == 3
    gathered = _Log()
    group = GroupCommit(gathered.commit, lambda n: None, gather_seconds=30, callers=lambda: 3)
    # The three callers are all in long before 30 s: the commit goes as soon as they are.
    _run(group, ["a", "b", "c"], spacing=0.002, within=5.0)
    assert gathered.groups == [["a", "b", "c"]]


@pytest.mark.parametrize("callers", [1, 2])
def test_a_commit_does_not_wait_when_every_caller_is_in(callers: int) -> None:
    log = _Log()
    group = GroupCommit(log.commit, lambda n: None, gather_seconds=30, callers=lambda: callers)
    items = ["a", "b"][:callers]

    async def within_a_second() -> list[str]:
        return await asyncio.wait_for(
            asyncio.gather(*(group.submit(x) for x in items)), timeout=1.0
        )

    assert asyncio.run(within_a_second()) == [x.upper() for x in items]
    assert log.groups == [items]
