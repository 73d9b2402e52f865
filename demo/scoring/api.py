"""The scoring API calls the demo steps (:mod:`demo.scoring.steps`) are made of: who
acts (:class:`Board`, tokens from the caller's :class:`Bearer`), and one function per request
pattern — a quorate sitting, a member's sheets, a ranked decision settled by the chair, the
protocol signed by the chair and the secretary with their own Ed25519 keys."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from random import Random
from typing import Any, Protocol, TypeVar

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from demo.http import DemoStepFailed, call
from services.scoring.domain.signatures import public_key_text, sign_digest
from shared.territory import load_territory

T = TypeVar("T")
Json = dict[str, Any]


class Bearer(Protocol):
    def __call__(
        self,
        sub: str,
        roles: list[str],
        region: str | None = None,
        commission: str | None = None,
    ) -> dict[str, str]: ...


@dataclass
class Board:
    """One commission as the demo drives it: its people, their tokens and signing keys."""

    commission_id: str
    region: str | None
    members: list[str]
    chair: str
    secretary: str
    keys: dict[str, Ed25519PrivateKey]
    batch: bool = True  # a member's sheets in one request (else one request per sheet)

    def as_member(self, bearer: Bearer, person: str) -> dict[str, str]:
        roles = ["chair", "member"] if person == self.chair else ["member"]
        return bearer(person, roles, self.region, self.commission_id)

    def as_secretary(self, bearer: Bearer) -> dict[str, str]:
        return bearer(self.secretary, ["secretary"], self.region, self.commission_id)

    def as_chair(self, bearer: Bearer) -> dict[str, str]:
        return self.as_member(bearer, self.chair)


@dataclass
class Commissions:
    edition_id: str
    regional: dict[str, Board]
    republican: Board


@dataclass
class Timing:
    seconds: float = 0.0
    sheets: int = 0
    requests: int = 0

    @property
    def ms_per_sheet(self) -> float:
        return 1000 * self.seconds / self.sheets if self.sheets else 0.0


# --- the calls ---------------------------------------------------------------------------------


async def candidates(
    client: httpx.AsyncClient, bearer: Bearer, board: Board, nominated: bool | None = None
) -> list[Json]:
    """The commission's candidates (``nominated=True``: its stage-I nominees), every page."""
    headers = board.as_secretary(bearer)
    params: dict[str, Any] = {"limit": 1000}
    if nominated is not None:
        params["nominated"] = str(nominated).lower()
    items: list[Json] = []
    while True:
        page = await call(
            client.get(
                f"/v1/commissions/{board.commission_id}/candidates", params=params, headers=headers
            )
        )
        items += page["items"]
        if not page["next"]:
            return items
        params["after"] = page["next"]


async def open_quorate_sitting(
    client: httpx.AsyncClient, bearer: Bearer, rng: Random, board: Board, stage: str
) -> tuple[str, list[str]]:
    """Open a sitting and record a quorate attendance (the chair always present)."""
    headers = board.as_secretary(bearer)
    body = {
        "commission_id": board.commission_id,
        "stage": stage,
        "purpose": PURPOSE[stage],
        "purpose_kk": PURPOSE_KK[stage],
        "place": place_of(board.region),
        "place_kk": place_of(board.region, "kk"),
    }
    sitting = (await call(client.post("/v1/sittings", json=body, headers=headers)))["id"]
    others = [m for m in board.members if m != board.chair]
    absent = set(rng.sample(others, rng.choice([0, 0, 1, 1, 2, 3])))
    present = [m for m in board.members if m not in absent]
    answer = await call(
        client.post(
            f"/v1/sittings/{sitting}/attendance", json={"present": present}, headers=headers
        )
    )
    if not answer["quorate"]:
        raise DemoStepFailed(answer["detail"])
    return sitting, present


PURPOSE = {
    "stage1_selection": "I этап: оценка проектов и выдвижение по районам (п. 12)",
    "stage1_interview": "I этап: оценки, собеседования и финалист региона (пп. 14–16)",
    "stage2": "II этап: защита проектов и определение победителей (пп. 19–21)",
}


def place_of(region: str | None, lang: str = "ru") -> str:
    """Where the demo's commission sits, as its protocol in ``lang`` says: the akimat's
    building of its region (a city of republican significance has a city akimat), or the
    Agency."""
    kk = lang == "kk"
    if region is None:
        if kk:
            return "Астана, Қазақстан Республикасы Мемлекеттік қызмет істері агенттігі"
        return "Астана, Агентство РК по делам государственной службы"
    unit = load_territory().unit(region)
    city = unit.name_ru.startswith(("г.", "город"))
    if kk:
        return f"{unit.name_kk}, {'қала' if city else 'облыс'} әкімдігінің ғимараты"
    return f"{unit.name_ru}, здание акимата {'города' if city else 'области'}"


PURPOSE_KK = {
    "stage1_selection": "I кезең: жобаларды бағалау және аудандар бойынша ұсыну (12-тармақ)",
    "stage1_interview": "I кезең: бағалау, әңгімелесу және өңір финалисі (14–16-тармақтар)",
    "stage2": "II кезең: жобаларды қорғау және жеңімпаздарды анықтау (19–21-тармақтар)",
}


async def rubric_keys(
    client: httpx.AsyncClient, bearer: Bearer, board: Board, kinds: Sequence[str]
) -> dict[str, list[str]]:
    """The criteria a member enters on each kind of sheet (the edition's rubrics)."""
    path = f"/v1/commissions/{board.commission_id}/rubrics"
    found = await call(client.get(path, headers=board.as_secretary(bearer)))
    sheets = {s["kind"]: s for s in found["sheets"]}
    return {k: [c["key"] for c in sheets[k]["criteria"] if not c["derived"]] for k in kinds}


async def score_all(
    client: httpx.AsyncClient,
    bearer: Bearer,
    rng: Random,
    board: Board,
    sitting: str,
    present: list[str],
    quality: dict[str, float],
    kinds: Sequence[str],
    keys: dict[str, list[str]],
    timing: Timing,
) -> None:
    """Every present member's sheets of ``kinds`` for every candidate (a batch per member, or
    one request per sheet when the board says so)."""
    for member in present:
        headers = board.as_member(bearer, member)
        sheets: list[Json] = [
            {
                "candidate_id": cid,
                "kind": kind,
                "scores": {k: points(rng, q) for k in keys[kind]},
            }
            for cid, q in sorted(quality.items())
            for kind in kinds
        ]
        started = time.perf_counter()
        path, batches = f"/v1/sittings/{sitting}/sheets", sheets
        if board.batch:
            path, batches = f"{path}/batch", [{"sheets": sheets}]
        for body in batches:
            await call(client.post(path, json=body, headers=headers))
        timing.seconds += time.perf_counter() - started
        timing.sheets += len(sheets)
        timing.requests += len(batches)


def points(rng: Random, quality: float) -> int:
    return max(0, min(10, round(rng.gauss(quality, 1.5))))


async def decide(
    client: httpx.AsyncClient,
    bearer: Bearer,
    rng: Random,
    board: Board,
    sitting: str,
    what: str,
    body: Json | None,
) -> Json:
    """A ranked decision; a tie the rules left is settled by the chair's casting vote."""
    decision: Json = await call(
        client.post(f"/v1/sittings/{sitting}/{what}", json=body, headers=board.as_secretary(bearer))
    )
    if decision["status"] != "pending_casting_vote":
        return decision
    vote = {
        "purpose": decision["purpose"],
        "scope": decision["scope"],
        "chosen": sorted(rng.sample(decision["tied"], decision["seats_left"])),
    }
    settled: Json = await call(
        client.post(
            f"/v1/sittings/{sitting}/casting-votes", json=vote, headers=board.as_chair(bearer)
        )
    )
    settled["nominated"] = decision["nominated"] + settled["nominated"]
    return settled


async def sign_protocol(
    client: httpx.AsyncClient, bearer: Bearer, board: Board, sitting: str
) -> None:
    """The chair and the secretary each sign the digest they read with their own key."""
    protocol = await call(
        client.get(f"/v1/sittings/{sitting}/protocol", headers=board.as_secretary(bearer))
    )
    digest = protocol["digest"]
    for person, headers in (
        (board.chair, board.as_chair(bearer)),
        (board.secretary, board.as_secretary(bearer)),
    ):
        key = board.keys[person]
        body = {
            "digest": digest,
            "public_key": public_key_text(key),
            "signature": sign_digest(key, digest),
        }
        signed = await call(
            client.post(f"/v1/sittings/{sitting}/protocol/signatures", json=body, headers=headers)
        )
    if not signed["signed"]:
        raise DemoStepFailed(f"sitting {sitting}: protocol not sealed: {signed}")


async def close_stage(client: httpx.AsyncClient, bearer: Bearer, board: Board, stage: str) -> None:
    path = f"/v1/commissions/{board.commission_id}/stages/{stage}/close"
    await call(client.post(path, headers=board.as_secretary(bearer)))
