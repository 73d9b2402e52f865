"""The commission streams' state cache is always checked against the database (PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.scoring import handlers
from services.scoring.adapters.repository import Repository
from services.scoring.domain import Scoring
from services.scoring.domain import commands as c
from services.scoring.events import Person
from shared.events import Actor
from shared.handlers import Cause
from shared.migrations import upgrade
from shared.store.eventstore import EventStore, open_store

SECRETARY = Cause(Actor(id="sec", role="secretary"), "corr", datetime(2020, 6, 20, tzinfo=UTC))
MEMBERS = (
    Person(person_id="m1", name="Member 1", position="head_of_regional_department"),
    *(Person(person_id=f"m{i}", name=f"Member {i}") for i in range(2, 10)),
)


class Boom(Exception):
    pass


async def formed(store: EventStore, repo: Repository) -> str:
    command = c.FormCommission(
        commission_id="rc-19",
        edition_id="e",
        level="regional",
        region="190000000",
        members=MEMBERS,
        chair_id="m1",
        secretary=Person(person_id="sec", name="Secretary", position="akimat_employee"),
    )
    async with store.transaction() as uow:
        await handlers.form_commission(uow, command, SECRETARY, repo=repo)
    return command.commission_id


async def open_sitting(store: EventStore, repo: Repository, sitting_id: str) -> None:
    command = c.OpenSitting(sitting_id, "stage1_selection", "scoring", SECRETARY.at)
    async with store.transaction() as uow:
        await handlers.open_sitting(uow, command, SECRETARY, repo=repo, commission_id="rc-19")


async def state_of(store: EventStore, repo: Repository) -> Scoring:
    async with store.reader() as uow:
        return (await repo.load(uow, "rc-19")).state


async def test_another_process_appending_and_a_rolled_back_append_are_both_noticed(
    pg_url: str,
) -> None:
    store = open_store("scoring", pg_url)
    await upgrade(store.engine)
    mine, theirs = Repository(), Repository()
    await formed(store, mine)
    await open_sitting(store, mine, "s1")
    await open_sitting(store, theirs, "s2")  # another process, its own cache
    assert set((await state_of(store, mine)).sittings) == {"s1", "s2"}

    with pytest.raises(Boom):
        async with store.transaction() as uow:
            command = c.OpenSitting("s3", "stage1_selection", "scoring", SECRETARY.at)
            await handlers.open_sitting(uow, command, SECRETARY, repo=mine, commission_id="rc-19")
            raise Boom  # rolled back after the cache saw the append
    await open_sitting(store, theirs, "s4")  # the same version, another event
    cached = await state_of(store, mine)
    assert set(cached.sittings) == {"s1", "s2", "s4"}
    assert cached == await state_of(store, Repository())  # the same as a fold from scratch
    await store.close()
