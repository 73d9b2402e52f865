"""Issue 13 through the HTTP API: §3/§4 positions at formation, §14 order before the interview,
"no finalist" for a region without candidates (§16), materials to the Agency by the deadline
(§18)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.integration.scoring.world import Seat, World, districts_of

REGION = "630000000"  # East Kazakhstan region


async def test_a_commission_whose_chair_states_no_qualifying_position_is_refused(
    world: World,
) -> None:
    members = [{"person_id": f"p{i}", "name": f"Member {i}"} for i in range(9)]
    body = {
        "commission_id": f"rc-{world.edition_id[:8]}",
        "edition_id": world.edition_id,
        "level": "regional",
        "region": REGION,
        "members": [{**members[0], "position": "akimat_employee"}, *members[1:]],
        "chair_id": "p0",
        "secretary": {"person_id": "s", "name": "Secretary"},
    }
    organiser = world.bearer("organiser-1", ["organiser"])
    refused = await world.scoring.post("/v1/commissions", json=body, headers=organiser)
    assert refused.status_code == 422
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert [e["code"] for e in refused.json()["errors"]] == [
        "chair_position_not_allowed",
        "secretary_position_required",
    ]


async def interview_sitting(world: World, seat: Seat) -> str:
    sitting, _ = await world.sitting(seat, "stage1_interview")
    return sitting


async def test_interview_sheets_wait_for_the_assessments_and_the_essay(world: World) -> None:
    await world.announce()
    (district, rural), *_ = districts_of(REGION, 1, 1).items()
    cid = await world.admit(rural[0], district, REGION, score=12)
    seat = await world.form(REGION)
    await world.registered(cid)
    selection, _ = await world.sitting(seat, "stage1_selection")
    await world.score(seat, selection, seat.members[:6], {cid: 6})
    await world.ok(
        world.scoring.post(
            f"/v1/sittings/{selection}/nominations",
            json={"district": district},
            headers=world.secretary(seat),
        )
    )
    sitting = await interview_sitting(world, seat)
    early = await world.sheet(seat, sitting, seat.members[0], cid, "interview", 7)
    assert (early.status_code, early.json()["code"]) == (409, "interview_prerequisites_missing")
    assert [e["field"] for e in early.json()["errors"]] == ["ethics", "survey", "essay", "feedback"]
    finalist = await world.scoring.post(
        f"/v1/sittings/{sitting}/finalist", json={"candidate_id": cid}, headers=world.chair(seat)
    )
    assert (finalist.status_code, finalist.json()["code"]) == (409, "finalist_ethics_missing")
    ethics = world.bearer("ethics-1", ["ethics"], REGION, seat.commission_id)
    await world.ok(
        world.scoring.post(
            f"/v1/candidates/{cid}/ethics-results", json={"score": 8}, headers=ethics
        )
    )
    await world.ok(
        world.scoring.post(
            f"/v1/candidates/{cid}/feedback-assessments",
            json={"score": 7},
            headers=world.secretary(seat),
        )
    )
    await world.survey(cid, rural[0], REGION, "0", responses=0)  # nobody answered

    async def surveyed() -> bool:
        return (await world.candidate(cid))["survey"] is not None

    await world.until(surveyed)
    still = await world.sheet(seat, sitting, seat.members[0], cid, "interview", 7)
    assert [e["field"] for e in still.json()["errors"]] == ["essay"]
    await world.ok(world.sheet(seat, sitting, seat.members[1], cid, "essay", 6))
    await world.ok(world.sheet(seat, sitting, seat.members[0], cid, "interview", 7))
    ranking = await world.ok(
        world.scoring.post(
            f"/v1/sittings/{sitting}/regional-ranking", headers=world.secretary(seat)
        )
    )
    [entry] = ranking["entries"]
    survey = next(c for c in entry["components"] if c["name"] == "survey_mean")
    assert (survey["value"], survey["count"]) == (None, 0)  # "no responses", never 0
    interview = next(c for c in entry["components"] if c["name"] == "interview_mean")
    assert (
        entry["total"]
        == interview["value"]
        == f"{7 * len(await world.keys(seat, 'interview'))}.0000"
    )


async def test_a_region_without_candidates_records_no_finalist_closes_and_sends_materials(
    world: World,
) -> None:
    now = datetime.now(UTC)
    past = now - timedelta(hours=1)
    steps = ("stage_one", "interviews", "finalists", "materials")
    await world.announce(
        **{f"{s}_deadline": past - timedelta(hours=4 - i) for i, s in enumerate(steps)}
    )
    await world.extend("finalists", past - timedelta(hours=2), now + timedelta(days=1))
    seat = await world.form(REGION)

    async def finalists_open() -> bool:
        found = await world.ok(
            world.scoring.get(
                f"/v1/editions/{world.edition_id}", headers=world.bearer("a", ["auditor"])
            )
        )
        return bool(datetime.fromisoformat(found["deadlines"]["finalists"]) > now)

    await world.until(finalists_open)
    sitting = await interview_sitting(world, seat)
    close = f"/v1/commissions/{seat.commission_id}/stages/stage1_interview/close"
    early = await world.scoring.post(close, headers=world.secretary(seat))
    assert (early.status_code, early.json()["code"]) == (409, "finalist_not_selected")
    materials = f"/v1/commissions/{seat.commission_id}/materials"
    undecided = await world.scoring.post(materials, json={}, headers=world.secretary(seat))
    assert (undecided.status_code, undecided.json()["code"]) == (409, "regional_decision_missing")

    decided = await world.ok(
        world.scoring.post(
            f"/v1/sittings/{sitting}/no-finalist",
            json={"reason": "no admitted candidate in the region"},
            headers=world.chair(seat),
        ),
        201,
    )
    assert decided["decision"]["reason"] == "no admitted candidate in the region"
    await world.ok(world.scoring.post(close, headers=world.secretary(seat)), 201)

    late = await world.scoring.post(materials, json={}, headers=world.secretary(seat))
    assert (late.status_code, late.json()["code"]) == (422, "deadline_passed")
    await world.extend("materials", past, datetime.now(UTC) + timedelta(days=1))

    async def extended() -> bool:
        found = await world.ok(
            world.scoring.get(
                f"/v1/editions/{world.edition_id}", headers=world.bearer("a", ["auditor"])
            )
        )
        return bool(datetime.fromisoformat(found["deadlines"]["materials"]) > past)

    await world.until(extended)
    await world.ok(world.scoring.post(materials, json={}, headers=world.secretary(seat)), 201)
    view = await world.ok(
        world.scoring.get(
            f"/v1/commissions/{seat.commission_id}", headers=world.bearer("a", ["auditor"])
        )
    )
    assert view["no_finalist"]["reason"] == "no admitted candidate in the region"
    assert view["materials"]["finalist_id"] is None
    assert view["closed_stages"] == ["stage1_interview"]


async def test_no_finalist_is_refused_while_the_region_has_a_candidate(world: World) -> None:
    await world.announce()
    (district, rural), *_ = districts_of(REGION, 1, 1).items()
    cid = await world.admit(rural[0], district, REGION, score=12)
    seat = await world.form(REGION)
    await world.registered(cid)
    sitting = await interview_sitting(world, seat)
    refused = await world.scoring.post(
        f"/v1/sittings/{sitting}/no-finalist",
        json={"reason": "none"},
        headers=world.chair(seat),
    )
    assert (refused.status_code, refused.json()["code"]) == (409, "region_has_candidates")
