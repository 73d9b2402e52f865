"""The cross-service path over Kafka: nominations admits → scoring registers the candidate (with
the edition's own scoring rules, after waiting for its commission) → nomination → the survey
service opens the nominee's survey and closes it → scoring receives the result. Redelivered
events append nothing."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from services.scoring.adapters import lookups
from services.survey.domain.iin import make_iin
from services.survey.handlers import survey_id_for
from shared.relay import topic_for
from tests.harness import Distributed
from tests.integration.scoring.world import World, districts_of

REGION = "550000000"  # Pavlodar region


async def waiting(system: Distributed) -> int:
    store = system.runtimes["scoring"].store
    async with store.engine.connect() as conn:
        value: Any = await conn.scalar(
            sa.text("SELECT count(*) FROM documents WHERE model = :m"), {"m": lookups.WAITING}
        )
        return int(value)


async def test_admitted_candidates_reach_the_survey_and_its_result_comes_back(
    world: World, system: Distributed
) -> None:
    await world.announce(scoring={"nominees_per_district": 2})
    (district, rural), *_ = districts_of(REGION, 1, 3).items()
    before = await waiting(system)
    ids = [
        await world.admit(
            rural[0], district, REGION, score=20, trilingual=True, complex_projects=2
        ),
        await world.admit(rural[1], district, REGION, score=14),
        await world.admit(rural[2], district, REGION, score=9),
    ]
    await world.until(lambda: _more(system, before + 3))  # no commission yet: they wait

    seat = await world.form(REGION)  # the formation registers them
    await world.registered(*ids)
    first = await world.candidate(ids[0])
    assert (  # §12 (1) is yes/no (issue 13; was the count of projects, 2)
        first["questionnaire_score"],
        first["trilingual"],
        first["implements_complex_projects"],
    ) == (20, True, True)
    assert (first["justified_complaints"], first["complaints_source"]) == (None, None)
    assert first["name"].startswith("Akimov") and first["commission_id"] == seat.commission_id

    sitting, _ = await world.sitting(seat, "stage1_selection")
    await world.score(seat, sitting, seat.members, dict.fromkeys(ids, 5))
    decision = await world.ok(
        world.scoring.post(
            f"/v1/sittings/{sitting}/nominations",
            json={"district": district},
            headers=world.secretary(seat),
        )
    )
    assert [n["candidate_id"] for n in decision["nominated"]] == ids[:2]  # the edition's rule: 2

    survey, organiser = world.clients["survey"], world.bearer("organiser-1", ["organiser"])
    surveys = [str(survey_id_for(cid)) for cid in ids[:2]]

    async def opened() -> bool:
        return [(await survey.get(f"/v1/surveys/{s}")).status_code for s in surveys] == [200, 200]

    await world.until(opened)
    for n, answers in enumerate(([8] * 16, [6] * 16)):
        body = {"iin": make_iin(4242 + n), "answers": answers}
        await world.ok(survey.post(f"/v1/surveys/{surveys[0]}/responses", json=body))
    for s in surveys:
        await world.ok(survey.post(f"/v1/surveys/{s}/closure", headers=organiser), 201)

    async def received() -> bool:
        return None not in [(await world.candidate(cid))["survey"] for cid in ids[:2]]

    await world.until(received)
    answered, silent = [(await world.candidate(cid))["survey"] for cid in ids[:2]]
    assert (answered["survey_id"], answered["responses"], answered["mean_total"]) == (
        surveys[0],
        2,
        "112.0000",
    )
    assert answered["mean_per_criterion"] == ["7.0000"] * 16
    assert (silent["responses"], silent["mean_total"], silent["mean_per_criterion"]) == (
        0,
        None,
        None,
    )

    # redelivery appends nothing: Kafka's again (deduplicated), and even applied afresh
    scoring = system.runtimes["scoring"]
    consumer = scoring.consumers[0]
    mine = {f"application-{cid}" for cid in ids} | {f"survey-{s}" for s in surveys}
    delivered = [
        e
        for name in ("nominations", "survey")
        for e in await system.runtimes[name].store.read_all(limit=100_000)
        if e.stream_id in mine or e.event_type == "EditionAnnounced"
    ]
    head = await scoring.store.head()
    assert await consumer.handle_batch(delivered) == 0
    async with scoring.store.transaction() as uow:
        for envelope in delivered:
            if consumer.wants(envelope):
                await consumer.handlers[envelope.event_type](uow, envelope)
    assert await scoring.store.head() == head
    assert topic_for("scoring", system.settings.topic_prefix).endswith(".scoring.events")


async def _more(system: Distributed, count: int) -> bool:
    return await waiting(system) >= count
