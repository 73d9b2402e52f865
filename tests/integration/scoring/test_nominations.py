"""Stage-I nomination per district through HTTP (§12): points, the tie-break chain step by step,
and the chair's casting vote on a tie that survives it."""

from __future__ import annotations

from typing import Any

from tests.integration.scoring.world import Seat, World, districts_of

REGION = "350000000"  # Karaganda region


async def district_of_four(
    world: World, facts: list[dict[str, Any]]
) -> tuple[Seat, str, list[str], str]:
    """Four candidates of one district with the given questionnaire scores and tie facts; each
    present member gives all four the same project sheet, so the questionnaire decides."""
    await world.announce()
    seat = await world.form(REGION)
    (district, rural), *_ = districts_of(REGION, 1, 4).items()
    ids = [await world.admit(rural[i], district, REGION, **f) for i, f in enumerate(facts)]
    await world.registered(*ids)
    sitting, _ = await world.sitting(seat, "stage1_selection", seat.members[:7])
    await world.score(seat, sitting, seat.members[:7], dict.fromkeys(ids, 6))
    return seat, district, ids, sitting


async def test_a_tie_of_the_third_and_fourth_is_settled_by_the_first_separating_tie_break(
    world: World,
) -> None:
    c1, c2, c3, c4 = range(4)
    seat, district, ids, sitting = await district_of_four(
        world,
        [
            {"score": 20},
            {"score": 15},
            {"score": 10, "complex_projects": 1},
            {"score": 10, "complex_projects": 1, "trilingual": True},
        ],
    )
    decision = await world.ok(
        world.scoring.post(
            f"/v1/sittings/{sitting}/nominations",
            json={"district": district},
            headers=world.secretary(seat),
        ),
        201,
    )
    assert decision["status"] == "complete"
    assert [(e["candidate_id"], e["rank"], e["total"]) for e in decision["entries"]] == [
        (ids[c1], 1, "80.0000"),
        (ids[c2], 2, "75.0000"),
        *sorted([(ids[c3], 3, "70.0000"), (ids[c4], 3, "70.0000")]),
    ]
    assert [c["name"] for c in decision["entries"][0]["components"]] == [
        "questionnaire",
        "project_mean",
    ]
    first, second = decision["tie_break_steps"][:2]
    assert (first["criterion"], first["applied"], first["advanced"]) == (
        "complex_projects",
        True,
        [],
    )
    assert sorted(first["still_tied"]) == sorted([ids[c3], ids[c4]])
    assert (second["criterion"], second["advanced"], second["eliminated"]) == (
        "trilingual",
        [ids[c4]],
        [ids[c3]],
    )
    assert second["values"] == {ids[c3]: "0", ids[c4]: "1"}
    nominated = {n["candidate_id"]: n["basis"] for n in decision["nominated"]}
    assert nominated == {ids[c1]: "points", ids[c2]: "points", ids[c4]: "tie_break"}
    assert (await world.candidate(ids[c4]))["nomination"]["basis"] == "tie_break"
    assert (await world.candidate(ids[c3]))["nomination"] is None


async def test_a_tie_through_the_whole_chain_waits_for_the_casting_vote(world: World) -> None:
    same = {"score": 10, "complex_projects": 2, "trilingual": True}
    seat, district, ids, sitting = await district_of_four(
        world, [{"score": 20}, {"score": 15}, same, same]
    )
    tied = sorted(ids[2:])
    decision = await world.ok(
        world.scoring.post(
            f"/v1/sittings/{sitting}/nominations",
            json={"district": district},
            headers=world.secretary(seat),
        )
    )
    assert (decision["status"], sorted(decision["tied"]), decision["seats_left"]) == (
        "pending_casting_vote",
        tied,
        1,
    )
    assert [s["criterion"] for s in decision["tie_break_steps"]] == [
        "complex_projects",
        "trilingual",
        "feedback",
        "fewest_complaints",
    ]
    assert decision["tie_break_steps"][2]["applied"] is False  # no feedback assessment yet
    assert {n["candidate_id"] for n in decision["nominated"]} == set(ids[:2])

    close = f"/v1/commissions/{seat.commission_id}/stages/stage1_selection/close"
    waiting = await world.scoring.post(close, headers=world.secretary(seat))
    assert (waiting.status_code, waiting.json()["code"]) == (409, "casting_vote_pending")
    vote = {"purpose": "nomination", "scope": district, "chosen": [tied[1]]}
    path = f"/v1/sittings/{sitting}/casting-votes"
    by_member = await world.scoring.post(
        path, json=vote, headers=world.member(seat, seat.members[1])
    )
    assert (by_member.status_code, by_member.json()["code"]) == (403, "role_not_allowed")
    too_many = await world.scoring.post(
        path, json={**vote, "chosen": tied}, headers=world.chair(seat)
    )
    assert (too_many.status_code, too_many.json()["code"]) == (422, "casting_vote_invalid")

    settled = await world.ok(world.scoring.post(path, json=vote, headers=world.chair(seat)), 201)
    assert settled["status"] == "complete" and settled["casting_vote"]["chosen"] == [tied[1]]
    assert [(n["candidate_id"], n["basis"]) for n in settled["nominated"]] == [
        (tied[1], "casting_vote")
    ]
    again = await world.scoring.post(
        f"/v1/sittings/{sitting}/nominations",
        json={"district": district},
        headers=world.secretary(seat),
    )
    assert (again.status_code, again.json()["code"]) == (409, "district_already_nominated")
    rankings = await world.ok(
        world.scoring.get(
            f"/v1/commissions/{seat.commission_id}/rankings", headers=world.chair(seat)
        )
    )
    assert [r["status"] for r in rankings["rankings"]] == ["pending_casting_vote"]
    assert rankings["casting_votes"][0]["chair_id"] == seat.chair
    await world.ok(world.scoring.post(close, headers=world.secretary(seat)), 201)


async def test_akims_who_both_implement_complex_projects_share_step_one_whatever_the_count(
    world: World,
) -> None:
    """§12 (1) is yes/no: three projects do not beat one; the languages separate them."""
    seat, district, ids, sitting = await district_of_four(
        world,
        [
            {"score": 20},
            {"score": 15},
            {"score": 10, "complex_projects": 3},
            {"score": 10, "complex_projects": 1, "trilingual": True},
        ],
    )
    decision = await world.ok(
        world.scoring.post(
            f"/v1/sittings/{sitting}/nominations",
            json={"district": district},
            headers=world.secretary(seat),
        )
    )
    first, second = decision["tie_break_steps"][:2]
    assert (first["criterion"], first["advanced"], first["eliminated"]) == (
        "complex_projects",
        [],
        [],
    )
    assert first["values"] == {ids[2]: "1", ids[3]: "1"}
    assert (second["criterion"], second["advanced"]) == ("trilingual", [ids[3]])
