"""Stage II's budget limit and the protocol's signatures, through HTTP (§19, §3, §4)."""

from __future__ import annotations

import copy
from random import Random

from demo.scoring import steps as demo_steps
from services.scoring.domain.signatures import generate_key_pair, sign_digest
from tests.integration.scoring.world import World, admit_region, survey_nominees

REGION = "430000000"  # Kyzylorda region


async def test_a_budget_of_5_000_001_tenge_is_refused(world: World) -> None:
    await world.announce()
    ids = await admit_region(world, REGION, 1, 2)
    rng = Random(19)
    boards = await demo_steps.form_commissions(
        world.scoring, world.bearer, rng, world.edition_id, [REGION]
    )
    await world.registered(*ids)
    await demo_steps.stage1(world.scoring, world.bearer, rng, boards)
    await survey_nominees(world, [boards.regional[REGION].commission_id])
    await demo_steps.wait_for_surveys(world.scoring, world.bearer, boards, within=30)
    final = await demo_steps.regional_final(world.scoring, world.bearer, rng, boards)
    finalist = final.finalists[REGION]["candidate_id"]
    headers = boards.republican.as_secretary(world.bearer)
    path = f"/v1/candidates/{finalist}/defences"
    body = {
        "title": "A water supply for every village",
        "budget_tenge": 5_000_001,
        "talk_seconds": 300,
    }

    over = await world.scoring.post(path, json=body, headers=headers)
    assert over.status_code == 422, over.text
    assert over.json()["code"] == "budget_over_limit"
    assert over.json()["detail"] == "budget 5 000 001 tenge exceeds 5 000 000 tenge"
    long_talk = await world.scoring.post(
        path, json={**body, "budget_tenge": 10, "talk_seconds": 301}, headers=headers
    )
    assert (long_talk.status_code, long_talk.json()["code"]) == (422, "talk_too_long")
    by_member = await world.scoring.post(
        path,
        json={**body, "budget_tenge": 5_000_000},
        headers=boards.republican.as_member(world.bearer, boards.republican.members[2]),
    )
    assert (by_member.status_code, by_member.json()["code"]) == (403, "role_not_allowed")
    await world.ok(
        world.scoring.post(path, json={**body, "budget_tenge": 5_000_000}, headers=headers), 201
    )
    republican = await world.ok(
        world.scoring.get(f"/v1/commissions/{boards.republican.commission_id}", headers=headers)
    )
    assert [(d["candidate_id"], d["budget_tenge"]) for d in republican["defences"]] == [
        (finalist, 5_000_000)
    ]


async def test_a_protocol_whose_digest_changed_fails_verification(world: World) -> None:
    await world.announce()
    seat = await world.form(REGION)
    (candidate,) = await admit_region(world, REGION, 1, 1)
    await world.registered(candidate)
    sitting, _ = await world.sitting(seat, "stage1_selection")
    await world.score(seat, sitting, seat.members[:3], {candidate: 7})
    chair_key, chair_public = generate_key_pair()
    secretary_key, secretary_public = generate_key_pair()
    path = f"/v1/sittings/{sitting}/protocol"

    read = await world.ok(world.scoring.get(path, headers=world.secretary(seat)))
    old = read["digest"]
    assert [r["event_type"] for r in read["document"]["records"]] == [
        "AttendanceRecorded",
        *["ScoreRecorded"] * 3,
    ]
    chair_signs = {
        "digest": old,
        "public_key": chair_public,
        "signature": sign_digest(chair_key, old),
    }
    first = await world.ok(
        world.scoring.post(f"{path}/signatures", json=chair_signs, headers=world.chair(seat)), 201
    )
    assert (first["signed"], first["waiting_for"]) == (False, ["secretary"])

    await world.score(seat, sitting, seat.members[3:4], {candidate: 2})  # the protocol changes
    changed = await world.ok(world.scoring.get(path, headers=world.secretary(seat)))
    # the chair signed the old digest: asked again (it is not counted as given)
    assert changed["digest"] != old and changed["pending_signatures"] == []
    late = {
        "digest": old,
        "public_key": secretary_public,
        "signature": sign_digest(secretary_key, old),
    }
    refused = await world.scoring.post(
        f"{path}/signatures", json=late, headers=world.secretary(seat)
    )
    assert (refused.status_code, refused.json()["code"]) == (409, "protocol_digest_mismatch")
    assert refused.json()["digest"] == changed["digest"]

    # an auditor holding the old signature and the current document: the digest does not match
    stale = {
        "document": changed["document"],
        "signed": {
            "digest": old,
            "signatures": [{"role": "chair", "person_id": seat.chair, **chair_signs}],
        },
    }
    stale["signed"]["signatures"][0].pop("digest")
    verdict = await world.ok(
        world.scoring.post("/v1/protocols/verification", json=stale, headers=world.secretary(seat))
    )
    assert verdict["valid"] is False and "digest_mismatch" in verdict["problems"]

    new = changed["digest"]
    forged = {
        "digest": new,
        "public_key": secretary_public,
        "signature": sign_digest(chair_key, new),
    }
    bad = await world.scoring.post(f"{path}/signatures", json=forged, headers=world.secretary(seat))
    assert (bad.status_code, bad.json()["code"]) == (422, "signature_invalid")
    for key, public, headers in (
        (chair_key, chair_public, world.chair(seat)),
        (secretary_key, secretary_public, world.secretary(seat)),
    ):
        body = {"digest": new, "public_key": public, "signature": sign_digest(key, new)}
        done = await world.ok(
            world.scoring.post(f"{path}/signatures", json=body, headers=headers), 201
        )
    assert done["signed"] is True and len(done["event_ids"]) == 1

    sealed = await world.ok(world.scoring.get(path, headers=world.secretary(seat)))
    assert sealed["verification"] == {"valid": True, "problems": []}
    assert {s["role"] for s in sealed["signed"]["signatures"]} == {"chair", "secretary"}
    published = {
        "document": sealed["document"],
        "signed": {"digest": new, "signatures": sealed["signed"]["signatures"]},
    }
    ok = await world.ok(
        world.scoring.post(
            "/v1/protocols/verification", json=published, headers=world.secretary(seat)
        )
    )
    assert ok == {"valid": True, "problems": []}
    tampered = copy.deepcopy(published)
    tampered["document"]["records"][1]["payload"]["total"] = 100
    forged_doc = await world.ok(
        world.scoring.post(
            "/v1/protocols/verification", json=tampered, headers=world.secretary(seat)
        )
    )
    assert forged_doc == {"valid": False, "problems": ["digest_mismatch"]}
    after = await world.sheet(seat, sitting, seat.members[5], candidate, "project", 5)
    assert (after.status_code, after.json()["code"]) == (409, "protocol_signed")


async def test_with_two_finalists_the_third_place_is_not_awarded_and_the_answer_says_why(
    world: World,
) -> None:
    await world.announce()
    regions = [REGION, "470000000"]  # Kyzylorda, Mangystau
    ids = [cid for region in regions for cid in await admit_region(world, region, 1, 1)]
    rng = Random(21)
    boards = await demo_steps.form_commissions(
        world.scoring, world.bearer, rng, world.edition_id, regions
    )
    await world.registered(*ids)
    await demo_steps.stage1(world.scoring, world.bearer, rng, boards)
    await survey_nominees(world, [b.commission_id for b in boards.regional.values()])
    await demo_steps.wait_for_surveys(world.scoring, world.bearer, boards, within=30)
    final = await demo_steps.regional_final(world.scoring, world.bearer, rng, boards)
    second = await demo_steps.stage2(world.scoring, world.bearer, rng, boards, final)
    assert [w["place"] for w in second.winners] == [1, 2]
    assert second.not_awarded == [3]
    assert second.not_awarded_reason == "only 2 finalist(s) defended for 3 places (§21)"
    rankings = await world.ok(
        world.scoring.get(
            f"/v1/commissions/{boards.republican.commission_id}/rankings",
            headers=boards.republican.as_secretary(world.bearer),
        )
    )
    [ranking] = rankings["rankings"]
    assert (ranking["seats"], len(ranking["selected"]), ranking["seats_left"]) == (3, 2, 1)
