"""The scoring part of the whole-edition demo, driven only through the scoring HTTP API.

The scenario calls, in this order (the survey runs between the second and the third):

1. :func:`form_commissions` — the 17 regional commissions and the Republican one (any time;
   candidates admitted before their commission sits register with it when it is formed);
2. :func:`stage1` — per region: a quorate sitting, every present member's Annex 4 sheet for
   every candidate, the nominations per district (the chair's casting vote where a tie
   survives the §12 chain), the signed protocol, ``stage1_selection`` closed;
3. (the survey service surveys the nominees; its results reach scoring as events —
   :func:`wait_for_surveys` waits for them in the distributed mode);
4. :func:`regional_final` — per region, in the §14 order: ethics and feedback (the survey's
   result is already in), the essay sheets, then the interview sheets; the regional ranking
   (the mean interview sheet total, the other components shown), the finalist (the top of the
   ranking), the signed protocol, closed;
5. :func:`stage2` — the Republican commission: defences (budget ≤ 5,000,000 tenge, talk
   ≤ 5 min), Annex 7 sheets, the three winners (a casting vote if needed), signed, closed.

Business time matters (``ServiceContext.now``): scoring refuses a fact after its step's deadline
(``deadline_passed``), so with the 2020 calendar run :func:`stage1` before 1 July 2020 00:00,
:func:`regional_final` before 31 July and the defences of :func:`stage2` before 21 September
(Asia/Almaty). Forming commissions and signing protocols are not bound by the calendar.

Every random choice comes from per-region generators seeded from the caller's ``Random`` before
any request, so a run is reproducible whatever the interleaving of the concurrent regions. Ed25519
keys are derived from it too. Each step returns a summary with its timings; :func:`summary`
renders the three as lines for the console.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from random import Random
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from demo.http import DemoStepFailed, call, gather
from demo.scoring.api import (
    Bearer,
    Board,
    Commissions,
    Json,
    Timing,
    candidates,
    close_stage,
    decide,
    open_quorate_sitting,
    rubric_keys,
    score_all,
    sign_protocol,
)

__all__ = [
    "Bearer",
    "Board",
    "Commissions",
    "DemoStepFailed",
    "RegionalFinal",
    "Stage1",
    "Stage2",
    "Timing",
    "candidates",
    "form_commissions",
    "regional_final",
    "regions_2020",
    "stage1",
    "stage2",
    "summary",
    "wait_for_surveys",
]

CONCURRENCY = 4


@dataclass
class Stage1:
    nominees: dict[str, list[Json]] = field(default_factory=dict)  # region -> nominations
    casting_votes: int = 0
    districts: int = 0
    candidates: int = 0
    total: Timing = field(default_factory=Timing)
    sheets: Timing = field(default_factory=Timing)


@dataclass
class RegionalFinal:
    finalists: dict[str, Json] = field(default_factory=dict)  # region -> FinalistSelected + name
    no_finalist: list[str] = field(default_factory=list)  # regions without candidates (§16)
    total: Timing = field(default_factory=Timing)
    sheets: Timing = field(default_factory=Timing)
    assessments: Timing = field(default_factory=Timing)  # ethics + feedback, one request each


@dataclass
class Stage2:
    winners: list[Json] = field(default_factory=list)
    by_casting_vote: bool = False
    not_awarded: list[int] = field(default_factory=list)  # §21: fewer finalists than places
    not_awarded_reason: str | None = None
    total: Timing = field(default_factory=Timing)
    sheets: Timing = field(default_factory=Timing)


# --- 1. commissions ---------------------------------------------------------------------------


def regions_2020() -> list[str]:
    """The 17 regions (oblys) that have rural districts (the three cities have none)."""
    from shared.territory import Level, load_territory

    territory = load_territory()
    return sorted(u.kato for u in territory.of_level(Level.region) if _has_rural(territory, u.kato))


def _has_rural(territory: Any, region: str) -> bool:
    from shared.territory import Level

    return any(u.kato[:2] == region[:2] for u in territory.of_level(Level.rural_district))


async def form_commissions(
    client: httpx.AsyncClient,
    bearer: Bearer,
    rng: Random,
    edition_id: str,
    regions: Sequence[str] | None = None,
    members: int = 9,
    batch: bool = True,
) -> Commissions:
    """Every regional commission and the Republican one (organiser; the Agency for the latter).
    ``batch``: members post their sheets of a sitting in one request (else one per sheet)."""
    chosen = sorted(regions if regions is not None else regions_2020())
    boards = {region: _board(rng, edition_id, region, members, batch) for region in chosen}
    republic = _board(rng, edition_id, None, members, batch)
    for board in [*boards.values(), republic]:
        body = {
            "commission_id": board.commission_id,
            "edition_id": edition_id,
            "level": "regional" if board.region else "republican",
            "region": board.region,
            "members": [
                {"person_id": m, **_person(m), **_position(board, m)} for m in board.members
            ],
            "chair_id": board.chair,
            "secretary": {
                "person_id": board.secretary,
                **_person(board.secretary),
                **_position(board, board.secretary),
            },
        }
        headers = bearer("organiser-1", ["organiser"], None, None)
        await call(client.post("/v1/commissions", json=body, headers=headers))
    return Commissions(edition_id, boards, republic)


def _position(board: Board, person_id: str) -> dict[str, str]:
    """§3/§4: the regional chair heads the regional Department, the Republican chair is the
    Agency's deputy chairperson, the Republican secretary an Agency employee."""
    regional = board.region is not None
    if person_id == board.chair:
        return {
            "position": "head_of_regional_department" if regional else "agency_deputy_chairperson"
        }
    if person_id == board.secretary:
        return {"position": "regional_department_employee" if regional else "agency_employee"}
    return {}


def _board(rng: Random, edition_id: str, region: str | None, size: int, batch: bool) -> Board:
    where = region or "republic"
    ids = [_uuid(rng) for _ in range(size + 1)]
    keys = {ids[0]: _key(rng), ids[-1]: _key(rng)}
    return Board(
        commission_id=str(uuid.uuid5(uuid.UUID(_uuid(rng)), f"{edition_id}/{where}")),
        region=region,
        members=ids[:size],
        chair=ids[0],
        secretary=ids[-1],
        keys=keys,
        batch=batch,
    )


def _uuid(rng: Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _key(rng: Random) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(rng.randbytes(32))


def _person(person_id: str) -> dict[str, str]:
    """A commission member's (synthetic) full name and gender, fixed by the person's id."""
    from demo.nominations.data import FATHERS, FEMALE, MALE, SURNAMES, patronymic

    rng = Random(person_id)
    female = rng.random() < 0.35
    name = " ".join(
        (
            rng.choice(SURNAMES) + ("а" if female else ""),
            rng.choice(FEMALE if female else MALE),
            patronymic(rng.choice(FATHERS), female),
        )
    )
    return {"name": name, "gender": "female" if female else "male"}


# --- 2. stage I: selection and nomination (§12) -----------------------------------------------


async def stage1(
    client: httpx.AsyncClient,
    bearer: Bearer,
    rng: Random,
    commissions: Commissions,
    concurrency: int = CONCURRENCY,
) -> Stage1:
    """Every region's selection sitting: project sheets, nominations, signed protocol, closed."""
    started, result = time.perf_counter(), Stage1()
    seeds = {region: rng.getrandbits(64) for region in sorted(commissions.regional)}

    async def region(board: Board) -> None:
        await _select(client, bearer, Random(seeds[board.region or ""]), board, result)

    await gather(region, commissions.regional.values(), concurrency)
    result.total.seconds = time.perf_counter() - started
    return result


async def _select(
    client: httpx.AsyncClient, bearer: Bearer, rng: Random, board: Board, result: Stage1
) -> None:
    field = await candidates(client, bearer, board)
    if not field:
        return
    sitting, present = await open_quorate_sitting(client, bearer, rng, board, "stage1_selection")
    quality = {c["candidate_id"]: rng.uniform(3.0, 9.5) for c in field}
    keys = await rubric_keys(client, bearer, board, ["project"])
    await score_all(
        client, bearer, rng, board, sitting, present, quality, ["project"], keys, result.sheets
    )
    result.candidates += len(field)
    nominees: list[Json] = []
    for district in sorted({c["district"] for c in field}):
        decision = await decide(
            client, bearer, rng, board, sitting, "nominations", {"district": district}
        )
        nominees += decision["nominated"]
        result.casting_votes += decision["casting_vote"] is not None
        result.districts += 1
    names = {c["candidate_id"]: c["name"] for c in field}
    result.nominees[board.region or ""] = [
        {**n, "name": names[n["candidate_id"]]} for n in nominees
    ]
    await sign_protocol(client, bearer, board, sitting)
    await close_stage(client, bearer, board, "stage1_selection")


# --- 3. between the stages: the survey -----------------------------------------------------


async def wait_for_surveys(
    client: httpx.AsyncClient,
    bearer: Bearer,
    commissions: Commissions,
    within: float = 120.0,
    poll: float = 0.25,
) -> int:
    """Wait until every nominee has a survey result (consumed from the survey service)."""
    deadline = time.monotonic() + within
    while True:
        missing = 0
        for board in commissions.regional.values():
            nominees = await candidates(client, bearer, board, nominated=True)
            missing += sum(1 for c in nominees if c["survey"] is None)
        if missing == 0:
            return 0
        if time.monotonic() > deadline:
            raise DemoStepFailed(f"{missing} nominee(s) still without a survey result")
        await asyncio.sleep(poll)


# --- 4. stage I: assessments, interview and the regional finalist (§14–§16) -------------------


async def regional_final(
    client: httpx.AsyncClient,
    bearer: Bearer,
    rng: Random,
    commissions: Commissions,
    concurrency: int = CONCURRENCY,
) -> RegionalFinal:
    """Every region: ethics, feedback, essay and interview sheets, ranking, finalist, closed."""
    started, result = time.perf_counter(), RegionalFinal()
    seeds = {region: rng.getrandbits(64) for region in sorted(commissions.regional)}

    async def region(board: Board) -> None:
        await _interview(client, bearer, Random(seeds[board.region or ""]), board, result)

    await gather(region, commissions.regional.values(), concurrency)
    result.total.seconds = time.perf_counter() - started
    return result


async def _interview(
    client: httpx.AsyncClient, bearer: Bearer, rng: Random, board: Board, result: RegionalFinal
) -> None:
    nominees = await candidates(client, bearer, board, nominated=True)
    if not nominees:
        if not await candidates(client, bearer, board):
            await _no_finalist(client, bearer, rng, board, result)
        return
    sitting, present = await open_quorate_sitting(client, bearer, rng, board, "stage1_interview")
    await _assess(client, bearer, rng, board, nominees, result.assessments)
    quality = {c["candidate_id"]: rng.uniform(3.0, 9.5) for c in nominees}
    keys = await rubric_keys(client, bearer, board, ["essay", "interview"])
    for kind in ("essay", "interview"):  # §14: the essay before the interview
        await score_all(
            client, bearer, rng, board, sitting, present, quality, [kind], keys, result.sheets
        )
    ranking = await call(
        client.post(f"/v1/sittings/{sitting}/regional-ranking", headers=board.as_secretary(bearer))
    )
    top = ranking["entries"][0]["candidate_id"]
    picked = await call(
        client.post(
            f"/v1/sittings/{sitting}/finalist",
            json={"candidate_id": top},
            headers=board.as_chair(bearer),
        )
    )
    names = {c["candidate_id"]: c["name"] for c in nominees}
    result.finalists[board.region or ""] = {**picked["finalist"], "name": names[top]}
    await sign_protocol(client, bearer, board, sitting)
    await close_stage(client, bearer, board, "stage1_interview")
    await _send_materials(client, bearer, board)


async def _no_finalist(
    client: httpx.AsyncClient, bearer: Bearer, rng: Random, board: Board, result: RegionalFinal
) -> None:
    """§16: a region with no admitted candidate records "no finalist" and closes its stage."""
    sitting, _ = await open_quorate_sitting(client, bearer, rng, board, "stage1_interview")
    body = {"reason": "no admitted candidate in the region"}
    path = f"/v1/sittings/{sitting}/no-finalist"
    await call(client.post(path, json=body, headers=board.as_chair(bearer)))
    result.no_finalist.append(board.region or "")
    await sign_protocol(client, bearer, board, sitting)
    await close_stage(client, bearer, board, "stage1_interview")
    await _send_materials(client, bearer, board)


async def _send_materials(client: httpx.AsyncClient, bearer: Bearer, board: Board) -> None:
    """§18: the region's secretary sends the file and the decision to the Agency."""
    path = f"/v1/commissions/{board.commission_id}/materials"
    body = {"note": "the file, the protocols and the regional decision"}
    await call(client.post(path, json=body, headers=board.as_secretary(bearer)))


async def _assess(
    client: httpx.AsyncClient,
    bearer: Bearer,
    rng: Random,
    board: Board,
    nominees: list[Json],
    timing: Timing,
) -> None:
    """§14.1 the ethics commissioner's result and §14.2 the feedback assessment, per nominee."""
    ethics = bearer(f"ethics-{board.region}", ["ethics"], board.region, board.commission_id)
    secretary = board.as_secretary(bearer)
    started = time.perf_counter()
    for c in nominees:
        path = f"/v1/candidates/{c['candidate_id']}"
        body = {"score": rng.randint(5, 10), "note": "interview on civil-service ethics"}
        await call(client.post(f"{path}/ethics-results", json=body, headers=ethics))
        timing.requests += 1
        if c["feedback"] is None:
            body = {"score": rng.randint(3, 10), "note": "receptions, social media, meetings"}
            await call(client.post(f"{path}/feedback-assessments", json=body, headers=secretary))
            timing.requests += 1
    timing.seconds += time.perf_counter() - started


# --- 5. stage II: defences and the winners (§19–§21) ----------------------------------------


async def stage2(
    client: httpx.AsyncClient,
    bearer: Bearer,
    rng: Random,
    commissions: Commissions,
    finalists: RegionalFinal,
    budget_max: int = 5_000_000,
    talk_max: int = 300,
) -> Stage2:
    """The Republican commission: defences, Annex 7 sheets, the winners, signed and closed."""
    started, result, board = time.perf_counter(), Stage2(), commissions.republican
    rng = Random(rng.getrandbits(64))
    secretary = board.as_secretary(bearer)
    for region, f in sorted(finalists.finalists.items()):
        body = {
            "title": f"Sustainable development of the rural district ({region})",
            "budget_tenge": rng.randrange(1_000_000, budget_max + 1, 1000),
            "talk_seconds": rng.randint(180, talk_max),
            "mode": rng.choice(["in_person", "video"]),
        }
        await call(
            client.post(
                f"/v1/candidates/{f['candidate_id']}/defences", json=body, headers=secretary
            )
        )
    sitting, present = await open_quorate_sitting(client, bearer, rng, board, "stage2")
    quality = {f["candidate_id"]: rng.uniform(4.0, 9.5) for f in finalists.finalists.values()}
    keys = await rubric_keys(client, bearer, board, ["stage2"])
    await score_all(
        client, bearer, rng, board, sitting, present, quality, ["stage2"], keys, result.sheets
    )
    decision = await decide(client, bearer, rng, board, sitting, "winners", None)
    names = {f["candidate_id"]: (region, f["name"]) for region, f in finalists.finalists.items()}
    result.winners = [
        {**w, "region": names[w["candidate_id"]][0], "name": names[w["candidate_id"]][1]}
        for w in decision["winners"]
    ]
    result.by_casting_vote = decision["casting_vote"] is not None
    result.not_awarded = list(decision["places_not_awarded"])
    result.not_awarded_reason = decision["not_awarded_reason"]
    await sign_protocol(client, bearer, board, sitting)
    await close_stage(client, bearer, board, "stage2")
    result.total.seconds = time.perf_counter() - started
    return result


# --- the summary -----------------------------------------------------------------------------


def summary(first: Stage1, final: RegionalFinal, second: Stage2) -> list[str]:
    """Nominees per region, finalists with their regional totals, the winners with theirs."""
    nominees = sum(len(n) for n in first.nominees.values())
    lines = [
        f"stage I: {first.candidates} candidates, {first.sheets.sheets} project sheets "
        f"({first.sheets.ms_per_sheet:.2f} ms/sheet), {nominees} nominees in {first.districts} "
        f"districts, {first.casting_votes} casting vote(s); {first.total.seconds:.1f} s",
        "nominees per region: "
        + ", ".join(f"{region} {len(n)}" for region, n in sorted(first.nominees.items())),
        f"interviews: {final.sheets.sheets} essay + interview sheets "
        f"({final.sheets.ms_per_sheet:.2f} ms/sheet), {final.assessments.requests} assessments; "
        f"{final.total.seconds:.1f} s",
        "finalists (regional total = mean interview sheet total; other components shown):",
    ]
    for region, f in sorted(final.finalists.items()):
        lines.append(f"  {region}  {f['name']:<32} {f['regional_total']:>10}")
    for region in sorted(final.no_finalist):
        lines.append(f"  {region}  no finalist: no admitted candidate")
    how = "the chair's casting vote" if second.by_casting_vote else "the members' sheets"
    lines.append(f"winners (by {how}; mean Annex 7 total, sum of totals, sheets):")
    for w in second.winners:
        place, name, region = w["place"], w["name"], w["region"]
        lines.append(
            f"  {place}. {name:<30} {region}  {w['mean']:>9} {w['sum']:>5} {w['sheets']:>2}"
        )
    if second.not_awarded:
        places = ", ".join(str(p) for p in second.not_awarded)
        lines.append(f"  place(s) {places} not awarded: {second.not_awarded_reason}")
    return lines


# --- the steps they share -----------------------------------------------------------------


_candidates = candidates  # the name services/scenario.py used first
