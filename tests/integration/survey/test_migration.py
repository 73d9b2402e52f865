"""Migrations 0005, 0006 and 0008 on both databases: a survey stored before them (tally and stream
version in its document, idempotency answers in ``idempotency_keys``, then in
``survey_idempotent`` documents) goes on as one stored after them."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from dataclasses import replace
from uuid import uuid4

import pytest
import sqlalchemy as sa

from services.survey import handlers
from services.survey.adapters.ingest import ResponseWriter
from services.survey.adapters.ingest_plan import Accepted, Submission
from services.survey.adapters.readmodels import IDEMPOTENT, SURVEY, get_survey, get_tally
from services.survey.domain.answers import ValidResponse
from services.survey.domain.iin import make_iin, resident_key
from shared.errors import DomainError
from shared.events import SYSTEM
from shared.handlers import Cause
from shared.migrations import upgrade
from shared.store import schema
from shared.store.eventstore import EventStore, open_store
from tests.unit.survey.builders import DURING, PEPPER, RULES, open_cmd

SID = str(open_cmd().survey_id)
# the table of idempotency answers as it was until 0008
IDEMPOTENCY_KEYS = sa.table(
    "idempotency_keys",
    sa.column("scope"),
    sa.column("key"),
    sa.column("request_hash"),
    sa.column("status_code"),
    sa.column("response"),
)


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[EventStore]:
    s = open_store("survey", store_url)
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
        await handlers.open_survey(uow, open_cmd(), Cause(SYSTEM, "t", DURING), rules=RULES)
        text = await uow.conn.scalar(
            sa.select(schema.documents.c.doc).where(
                schema.documents.c.model == SURVEY, schema.documents.c.key == SID
            )
        )
        old = {**json.loads(text), "version": 4, "count": 3, "sums": [7] * 16, "flagged": 1}
        await uow.docs.put(SURVEY, SID, old)
        await uow.conn.execute(
            IDEMPOTENCY_KEYS.insert().values(
                scope="survey_response",
                key=f"{SID}:k-1",
                request_hash="h",
                status_code=201,
                response=json.dumps({"id": "r-1", "survey_id": SID, "event_ids": ["e-1"]}),
            )
        )
    await upgrade(store.engine)  # 0005 moves the answer, 0006 blanks its digest, 0008 moves it
    async with store.transaction() as uow:
        doc = await get_survey(uow, SID)  # parses: the moved fields are gone
        tally = await get_tally(uow, SID)
    assert doc is not None and doc.status == "open"
    assert (tally.count, tally.flagged, tally.sums) == (3, 1, (7,) * 16)
    async with store.engine.connect() as conn:
        moved = await conn.scalar(
            sa.select(schema.documents.c.doc).where(
                schema.documents.c.model == IDEMPOTENT,
                schema.documents.c.key == f"survey.respond:{SID}|k-1",
            )
        )
    assert json.loads(moved) == {  # 0006 blanked the digest: the old key replays nothing
        "request_hash": "",
        "status": 201,
        "response": {"id": "r-1", "survey_id": SID, "event_ids": ["e-1"]},
    }
    writer = ResponseWriter(store, lambda: DURING)
    retried, fresh = await writer.write([answer(1, key="k-1"), answer(2)])
    assert isinstance(retried, DomainError) and retried.code == "idempotency_key_reused"
    assert isinstance(fresh, Accepted)
    async with store.transaction() as uow:
        tally = await get_tally(uow, SID)
    assert (tally.count, tally.flagged, tally.sums) == (4, 1, (11,) * 16)


async def test_0006_leaves_no_plain_request_digest_and_an_old_key_replays_nothing(
    store: EventStore,
) -> None:
    await upgrade(store.engine, "0005")
    digest = hashlib.sha256(b'{"iin": "860101300126", "answers": []}').hexdigest()
    file_digest = hashlib.sha256(b"iin,a1\n860101300126,1\n").hexdigest()
    async with store.transaction() as uow:
        await handlers.open_survey(uow, open_cmd(), Cause(SYSTEM, "t", DURING), rules=RULES)
        answer_doc = {"request_hash": digest, "response": {"id": "r-1", "survey_id": SID}}
        await uow.docs.put("survey_idempotent", f"{SID}:k-1", answer_doc)
        rows = [
            ("roll:" + SID, "k-2", {"id": SID, "event_ids": []}),
            ("paper_import:" + SID, "k-3", {"id": "i-1", "sha256": file_digest, "accepted": 1}),
        ]
        for scope, key, response in rows:
            await uow.conn.execute(
                IDEMPOTENCY_KEYS.insert().values(
                    scope=scope,
                    key=key,
                    request_hash=digest,
                    status_code=201,
                    response=json.dumps(response),
                )
            )
    await upgrade(store.engine)
    async with store.engine.connect() as conn:
        dumped = repr(list(await conn.execute(sa.select(schema.documents))))
        moved = await conn.scalar(
            sa.select(schema.documents.c.doc).where(
                schema.documents.c.model == IDEMPOTENT,
                schema.documents.c.key == f"paper_import:{SID}|k-3",
            )
        )
    assert digest not in dumped and file_digest not in dumped
    assert json.loads(moved)["response"]["accepted"] == 1  # the rest of the answer is kept
    writer = ResponseWriter(store, lambda: DURING)
    (retried,) = await writer.write([replace(answer(1, key="k-1"), request_hash=digest)])
    assert isinstance(retried, DomainError) and retried.code == "idempotency_key_reused"
