"""Migration 0005 on both databases: a survey stored before it (tally and stream version in
its document, idempotency answers in ``idempotency_keys``) goes on as one stored after it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from uuid import uuid4

import pytest
import sqlalchemy as sa

from services.survey import handlers
from services.survey.domain.answers import ValidResponse
from services.survey.domain.iin import make_iin, resident_key
from services.survey.ingest import Accepted, ResponseWriter, Submission
from services.survey.readmodels import SURVEY, get_survey, get_tally
from shared.events import SYSTEM
from shared.migrations import upgrade
from shared.store import schema
from shared.store.eventstore import EventStore
from tests.unit.survey.builders import DURING, PEPPER, RULES, open_cmd

SID = str(open_cmd().survey_id)


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[EventStore]:
    s = EventStore("survey", store_url)
    yield s
    await s.close()


def answer(n: int, key: str | None = None) -> Submission:
    valid = ValidResponse(resident_key(make_iin(n), PEPPER), (4,) * RULES.rubric.size)
    return Submission(
        survey_id=SID,
        response_id=uuid4(),
        valid=valid,
        channel="api",
        idempotency_key=key,
        request_hash="h" if key else "",
    )


async def test_a_survey_from_before_0005_keeps_its_tally_and_its_stored_answers(
    store: EventStore,
) -> None:
    await upgrade(store.engine, "0004")
    async with store.transaction() as uow:  # opened as the code before 0005 stored it
        await handlers.open_survey(uow, open_cmd(), RULES, SYSTEM, "t", DURING)
        text = await uow.conn.scalar(
            sa.select(schema.documents.c.doc).where(
                schema.documents.c.model == SURVEY, schema.documents.c.key == SID
            )
        )
        old = {**json.loads(text), "version": 4, "count": 3, "sums": [7] * 16, "flagged": 1}
        await uow.docs.put(SURVEY, SID, old)
        await uow.conn.execute(
            schema.idempotency_keys.insert().values(
                scope="survey_response",
                key=f"{SID}:k-1",
                request_hash="h",
                status_code=201,
                response=json.dumps({"id": "r-1", "survey_id": SID, "event_ids": ["e-1"]}),
            )
        )
    await upgrade(store.engine)
    async with store.transaction() as uow:
        doc = await get_survey(uow, SID)  # parses: the moved fields are gone
        tally = await get_tally(uow, SID)
    assert doc is not None and doc.status == "open"
    assert (tally.count, tally.flagged, tally.sums) == (3, 1, (7,) * 16)
    writer = ResponseWriter(store, lambda: DURING)
    replayed, fresh = await writer.write([answer(1, key="k-1"), answer(2)])
    assert isinstance(replayed, Accepted) and replayed.replayed
    assert replayed.body == {"id": "r-1", "survey_id": SID, "event_ids": ["e-1"]}
    assert isinstance(fresh, Accepted)
    async with store.transaction() as uow:
        tally = await get_tally(uow, SID)
    assert (tally.count, tally.flagged, tally.sums) == (4, 1, (11,) * 16)
