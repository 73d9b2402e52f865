"""Sittings, quorum and sheets through HTTP, with the candidates arriving from nominations over
Kafka (DOMAIN "Commissions" and "What must hold whatever the input")."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from services.scoring.adapters.repository import stream_of
from tests.integration.scoring.world import World, districts_of

REGION = "190000000"  # Almaty region
OTHER_REGION = "310000000"  # Zhambyl region


async def one_candidate(world: World, region: str = REGION) -> tuple[str, str]:
    (district, rural), *_ = districts_of(region, 1, 1).items()
    candidate = await world.admit(rural[0], district, region, score=12)
    return candidate, district


async def test_five_of_nine_present_is_not_quorate_and_its_scores_are_refused(world: World) -> None:
    await world.announce()
    seat = await world.form(REGION)
    candidate, district = await one_candidate(world)
    await world.registered(candidate)

    sitting, attendance = await world.sitting(seat, "stage1_selection", seat.members[:5])
    assert (attendance["quorate"], attendance["required"], attendance["members"]) == (False, 6, 9)
    assert "5 of 9 members present; at least 6 are required" in attendance["detail"]

    refused = await world.sheet(seat, sitting, seat.members[0], candidate, "project", 7)
    assert refused.status_code == 409, refused.text
    problem = refused.json()
    assert problem["code"] == "sitting_not_quorate"
    assert problem["detail"] == "5 of 9 members present; at least 6 are required."
    nominate = await world.scoring.post(
        f"/v1/sittings/{sitting}/nominations",
        json={"district": district},
        headers=world.secretary(seat),
    )
    assert (nominate.status_code, nominate.json()["code"]) == (409, "sitting_not_quorate")
    view = await world.ok(
        world.scoring.get(f"/v1/sittings/{sitting}", headers=world.secretary(seat))
    )
    assert view["quorate"] is False and "nothing scored or decided counts" in view["quorum"]


async def test_six_of_nine_present_is_quorate_and_scores(world: World) -> None:
    await world.announce()
    seat = await world.form(REGION)
    candidate, _ = await one_candidate(world)
    await world.registered(candidate)

    sitting, attendance = await world.sitting(seat, "stage1_selection", seat.members[:6])
    assert attendance["quorate"] is True
    recorded = await world.sheet(seat, sitting, seat.members[5], candidate, "project", 7)
    assert recorded.status_code == 201, recorded.text
    assert recorded.json()["total"] == 70 and recorded.json()["member_id"] == seat.members[5]
    absent = await world.sheet(seat, sitting, seat.members[6], candidate, "project", 7)
    assert (absent.status_code, absent.json()["code"]) == (409, "member_absent")
    out_of_range = await world.sheet(seat, sitting, seat.members[4], candidate, "project", 11)
    assert (out_of_range.status_code, out_of_range.json()["code"]) == (422, "score_out_of_range")
    keys = await world.keys(seat, "project")
    batch = {
        "sheets": [
            {"candidate_id": candidate, "kind": "project", "scores": dict.fromkeys(keys, 5)},
            {"candidate_id": candidate, "kind": "essay", "scores": {}},
        ]
    }
    path = f"/v1/sittings/{sitting}/sheets/batch"
    refused = await world.scoring.post(
        path, json=batch, headers=world.member(seat, seat.members[4])
    )
    assert (refused.status_code, refused.json()["index"]) == (422, 1), refused.text
    assert refused.json()["errors"][0]["field"] == "sheets.1"
    history = await world.ok(
        world.scoring.get(f"/v1/candidates/{candidate}/sheets", headers=world.secretary(seat))
    )
    assert [s["member_id"] for s in history["sheets"]] == [seat.members[5]]  # all or nothing


async def test_a_correction_keeps_both_sheets_in_the_history(world: World, system: Any) -> None:
    await world.announce()
    seat = await world.form(REGION)
    candidate, _ = await one_candidate(world)
    await world.registered(candidate)
    sitting, _ = await world.sitting(seat, "stage1_selection")
    member = seat.members[2]
    first = await world.ok(world.sheet(seat, sitting, member, candidate, "project", 4))
    keys = await world.keys(seat, "project")
    again = await world.sheet(seat, sitting, member, candidate, "project", 5)
    assert (again.status_code, again.json()["code"]) == (409, "sheet_already_recorded")

    body = {
        "sitting_id": sitting,
        "scores": dict.fromkeys(keys, 8),
        "reason": "misread criterion 3",
    }
    corrected = await world.ok(
        world.scoring.post(
            f"/v1/sheets/{first['sheet_id']}/corrections",
            json=body,
            headers=world.member(seat, member),
        )
    )
    assert corrected["supersedes"] == first["sheet_id"] and corrected["total"] == 80
    other = await world.scoring.post(
        f"/v1/sheets/{corrected['sheet_id']}/corrections",
        json=body,
        headers=world.member(seat, seat.members[3]),
    )
    assert (other.status_code, other.json()["code"]) == (403, "not_sheet_owner")

    history = await world.ok(
        world.scoring.get(f"/v1/candidates/{candidate}/sheets", headers=world.secretary(seat))
    )
    by_id = {s["sheet_id"]: s for s in history["sheets"]}
    assert by_id[first["sheet_id"]]["live"] is False
    assert by_id[first["sheet_id"]]["superseded_by"] == corrected["sheet_id"]
    assert by_id[corrected["sheet_id"]]["reason"] == "misread criterion 3"
    assert (by_id[first["sheet_id"]]["total"], by_id[corrected["sheet_id"]]["total"]) == (40, 80)

    # and in the event store itself: both facts, who gave them, in order
    store = system.runtimes["scoring"].store
    async with store.engine.connect() as conn:
        rows = await conn.execute(
            sa.text(
                "SELECT event_type, payload, metadata FROM events WHERE stream_id = :s "
                "AND event_type IN ('ScoreRecorded', 'ScoreCorrected') ORDER BY stream_version"
            ),
            {"s": stream_of(seat.commission_id)},
        )
        facts = [(r.event_type, json.loads(r.payload), json.loads(r.metadata)) for r in rows]
    assert [(t, p["sheet_id"], p["total"]) for t, p, _ in facts] == [
        ("ScoreRecorded", first["sheet_id"], 40),
        ("ScoreCorrected", corrected["sheet_id"], 80),
    ]
    assert {m["actor"]["id"] for _, _, m in facts} == {member}


async def test_a_member_of_one_region_cannot_score_a_candidate_of_another(world: World) -> None:
    await world.announce()
    seat = await world.form(REGION)
    other_seat = await world.form(OTHER_REGION)
    mine, _ = await one_candidate(world)
    theirs, _ = await one_candidate(world, OTHER_REGION)
    await world.registered(mine, theirs)
    sitting, _ = await world.sitting(seat, "stage1_selection")
    their_sitting, _ = await world.sitting(other_seat, "stage1_selection")
    member = seat.members[1]

    foreign = await world.sheet(seat, sitting, member, theirs, "project", 6)
    assert (foreign.status_code, foreign.json()["code"]) == (403, "candidate_out_of_scope")
    elsewhere = await world.sheet(seat, their_sitting, member, theirs, "project", 6)
    assert (elsewhere.status_code, elsewhere.json()["code"]) == (403, "region_not_allowed")
    keys = await world.keys(seat, "project")
    body = {"candidate_id": theirs, "kind": "project", "scores": dict.fromkeys(keys, 6)}
    no_region = world.bearer(member, ["member"], None, seat.commission_id)
    claim = await world.scoring.post(
        f"/v1/sittings/{their_sitting}/sheets", json=body, headers=no_region
    )
    # a regional member's token without a region is refused before its commission is read
    assert (claim.status_code, claim.json()["code"]) == (403, "region_required")
    forged = world.bearer(member, ["member"], OTHER_REGION, other_seat.commission_id)
    impostor = await world.scoring.post(
        f"/v1/sittings/{their_sitting}/sheets", json=body, headers=forged
    )
    assert (impostor.status_code, impostor.json()["code"]) == (403, "not_a_member")
    assert (await world.sheet(seat, sitting, member, mine, "project", 6)).status_code == 201


async def test_nothing_changes_after_the_stage_is_closed(world: World) -> None:
    await world.announce()
    seat = await world.form(REGION)
    candidate, district = await one_candidate(world)
    await world.registered(candidate)
    sitting, _ = await world.sitting(seat, "stage1_selection")
    await world.score(seat, sitting, seat.members[:6], {candidate: 6})
    before = await world.ok(
        world.scoring.get(f"/v1/commissions/{seat.commission_id}", headers=world.secretary(seat))
    )
    close = f"/v1/commissions/{seat.commission_id}/stages/stage1_selection/close"
    await world.ok(world.scoring.post(close, headers=world.secretary(seat)), 201)

    late = await world.sheet(seat, sitting, seat.members[7], candidate, "project", 9)
    assert (late.status_code, late.json()["code"]) == (409, "stage_closed")
    attempts = [
        world.scoring.post(
            f"/v1/sittings/{sitting}/nominations",
            json={"district": district},
            headers=world.secretary(seat),
        ),
        world.scoring.post(
            f"/v1/sittings/{sitting}/attendance",
            json={"present": seat.members},
            headers=world.secretary(seat),
        ),
        world.scoring.post(
            "/v1/sittings",
            json={
                "commission_id": seat.commission_id,
                "stage": "stage1_selection",
                "purpose": "again",
            },
            headers=world.secretary(seat),
        ),
        world.scoring.post(close, headers=world.secretary(seat)),
    ]
    for attempt in attempts:
        response = await attempt
        assert (response.status_code, response.json()["code"]) == (409, "stage_closed"), (
            response.text
        )
    after = await world.ok(
        world.scoring.get(f"/v1/commissions/{seat.commission_id}", headers=world.secretary(seat))
    )
    assert {**after, "closed_stages": []} == {**before, "closed_stages": []}

    reopen = f"/v1/commissions/{seat.commission_id}/stages/stage1_selection/reopen"
    refused = await world.scoring.post(reopen, json={"reason": "x"}, headers=world.secretary(seat))
    assert (refused.status_code, refused.json()["code"]) == (403, "role_not_allowed")
    await world.ok(
        world.scoring.post(reopen, json={"reason": "a sheet was lost"}, headers=world.chair(seat)),
        201,
    )
    assert (
        await world.sheet(seat, sitting, seat.members[7], candidate, "project", 9)
    ).status_code == 201


async def test_a_sheet_after_the_stage_one_deadline_is_refused_until_it_is_extended(
    world: World,
) -> None:
    past = datetime.now(UTC) - timedelta(hours=1)
    await world.announce(stage_one_deadline=past)
    seat = await world.form(REGION)
    candidate, _ = await one_candidate(world)
    await world.registered(candidate)
    body = {"commission_id": seat.commission_id, "stage": "stage1_selection", "purpose": "late"}
    late = await world.scoring.post("/v1/sittings", json=body, headers=world.secretary(seat))
    assert late.status_code == 422, late.text
    assert (late.json()["code"], late.json()["step"]) == ("deadline_passed", "stage_one")
    assert "unless the organiser extends the deadline" in late.json()["detail"]

    await world.extend("stage_one", past, datetime.now(UTC) + timedelta(days=3))

    async def extended() -> bool:
        r = await world.scoring.post("/v1/sittings", json=body, headers=world.secretary(seat))
        return r.status_code == 201

    await world.until(extended)


async def test_an_idempotency_key_is_its_senders_own(world: World) -> None:
    """Two members who send the same sheet under the same Idempotency-Key each record their
    own: the second is not answered with the first one's sheet (nor is it lost)."""
    await world.announce()
    seat = await world.form(REGION)
    candidate, _ = await one_candidate(world)
    await world.registered(candidate)
    sitting, _ = await world.sitting(seat, "stage1_selection", seat.members[:6])
    keys = await world.keys(seat, "project")
    body = {"candidate_id": candidate, "kind": "project", "scores": dict.fromkeys(keys, 6)}
    path, key = f"/v1/sittings/{sitting}/sheets", {"Idempotency-Key": "sheet-1"}
    answers = []
    for member in (seat.members[0], seat.members[1], seat.members[0]):
        headers = {**world.member(seat, member), **key}
        answers.append(await world.scoring.post(path, json=body, headers=headers))
    first, second, again = answers
    assert [a.status_code for a in answers] == [201, 201, 201], [a.text for a in answers]
    assert first.json()["member_id"] == seat.members[0]
    assert second.json()["member_id"] == seat.members[1]
    assert "idempotent-replayed" not in second.headers
    assert again.headers["idempotent-replayed"] == "true" and again.json() == first.json()
    too_long = await world.scoring.post(
        path,
        json=body,
        headers={**world.member(seat, seat.members[2]), "Idempotency-Key": "k" * 129},
    )
    assert (too_long.status_code, too_long.json()["code"]) == (422, "idempotency_key_invalid")
