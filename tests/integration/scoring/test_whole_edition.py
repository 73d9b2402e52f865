"""The whole of stage I and stage II through the scoring API, on PostgreSQL and Kafka, with the
demo's own steps: three regional commissions (one with several districts), the survey results
arriving from the survey service, three finalists, the Republican commission, three winners."""

from __future__ import annotations

from random import Random

from demo.scoring import steps as demo_steps
from tests.integration.scoring.world import World, admit_region, survey_nominees

REGIONS = {"100000000": (3, 4), "390000000": (1, 2), "590000000": (1, 3)}  # districts × akims


async def test_stage_one_and_stage_two_run_through_the_api(world: World) -> None:
    await world.announce()
    ids = [c for region, (d, n) in REGIONS.items() for c in await admit_region(world, region, d, n)]
    rng = Random(2020)
    boards = await demo_steps.form_commissions(
        world.scoring, world.bearer, rng, world.edition_id, list(REGIONS)
    )
    await world.registered(*ids)

    first = await demo_steps.stage1(world.scoring, world.bearer, rng, boards)
    nominees = {region: len(n) for region, n in first.nominees.items()}
    assert nominees == {"100000000": 9, "390000000": 2, "590000000": 3}  # ≤ 3 per district
    headers = world.bearer("auditor-1", ["auditor"])
    sheets = [(await world.candidate(c))["live_sheets"]["project"] for c in ids]
    assert min(sheets) >= 6 and sum(sheets) == first.sheets.sheets  # every present member

    assert await survey_nominees(world, [b.commission_id for b in boards.regional.values()]) == 14
    await demo_steps.wait_for_surveys(world.scoring, world.bearer, boards, within=30)

    final = await demo_steps.regional_final(world.scoring, world.bearer, rng, boards)
    assert sorted(final.finalists) == sorted(REGIONS)
    for finalist in final.finalists.values():
        weights = {c["name"]: c["weight"] for c in finalist["components"]}
        assert weights == {  # issue 13, "Reading (revised)": the interview mean ranks
            "stage1_points": "0",  # the others are shown beside it, not added again (was 1)
            "survey_mean": "0",
            "essay_mean": "0",
            "interview_mean": "1",
            "feedback": "0",
            "ethics": "0",
        }
        interview = next(c for c in finalist["components"] if c["name"] == "interview_mean")
        assert finalist["regional_total"] == interview["value"]
        survey = next(c for c in finalist["components"] if c["name"] == "survey_mean")
        assert survey["count"] is not None

    second = await demo_steps.stage2(world.scoring, world.bearer, rng, boards, final)
    assert [w["place"] for w in second.winners] == [1, 2, 3]
    assert {w["candidate_id"] for w in second.winners} == {
        f["candidate_id"] for f in final.finalists.values()
    }
    means = [float(w["mean"]) for w in second.winners]
    assert means == sorted(means, reverse=True)

    for board in [*boards.regional.values(), boards.republican]:
        view = await world.ok(
            world.scoring.get(f"/v1/commissions/{board.commission_id}", headers=headers)
        )
        expected = ["stage2"] if board.region is None else ["stage1_interview", "stage1_selection"]
        assert view["closed_stages"] == expected
        for sitting in view["sittings"]:
            protocol = await world.ok(
                world.scoring.get(f"/v1/sittings/{sitting}/protocol", headers=headers)
            )
            assert protocol["signed"]["digest"] == protocol["digest"]
            assert protocol["verification"] == {"valid": True, "problems": []}
    republican = await world.ok(
        world.scoring.get(f"/v1/commissions/{boards.republican.commission_id}", headers=headers)
    )
    assert [w["candidate_id"] for w in republican["winners"]["winners"]] == [
        w["candidate_id"] for w in second.winners
    ]
