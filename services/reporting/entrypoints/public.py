"""What anyone may read, without signing in: the results as reporting published them, and the
residents' surveys.

* ``GET /v1/public/results?region=``: per region the nominees (published when the region
  closes stage I), its finalist (when chosen) and the republic's winners (when decided) — the
  very ``NomineesPublished``, ``FinalistsPublished`` and ``WinnersAnnounced`` events reporting
  put on ``uzdik.results`` for integrators, read back from its own store; nothing a commission
  has not yet made public.
* ``GET /v1/public/surveys?region=&district=&status=``: the surveys of the nominees' rural
  districts (§14.3) with the akim rated, the place, when they open and close, and whether
  they are open now (the business clock).

No resident's identity, no score sheet and no draft is reachable here.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from shared.runtime import ServiceContext
from shared.territory import load_territory

Doc = dict[str, Any]
Status = Literal["not_open", "open", "ended", "closed"]


class PublicNominee(BaseModel):
    candidate_id: str
    name: str
    district: str
    rural_district: str | None
    rank: int | None


class PublicFinalist(BaseModel):
    candidate_id: str
    name: str
    regional_total: str
    reason: str | None


class PublicWinner(BaseModel):
    place: int
    candidate_id: str
    name: str
    region: str | None = Field(description="KATO of the winner's region, when known here")


class RegionResults(BaseModel):
    region: str
    nominees: list[PublicNominee] = Field(description="empty until the region closes stage I")
    finalist: PublicFinalist | None
    published_at: datetime | None = Field(description="when the latest of these was published")


class PublicResults(BaseModel):
    regions: list[RegionResults]
    winners: list[PublicWinner] = Field(description="empty until the republic decides")


class PublicSurvey(BaseModel):
    survey_id: str
    candidate_id: str
    akim: str | None = Field(description="the rural akim the residents rate")
    region: str
    district: str | None
    settlement: str = Field(description="KATO of the rural district")
    opens_at: datetime
    closes_at: datetime
    status: Status


class PublicSurveys(BaseModel):
    items: list[PublicSurvey]


class PublicEdition(BaseModel):
    edition_id: str
    year: int
    title: str
    announced_at: datetime | None = Field(None, description="when the Agency announced it")


class PublicEditions(BaseModel):
    items: list[PublicEdition] = Field(description="the latest first")


def _district_of(settlement: str) -> str | None:
    unit = load_territory().find(settlement)
    return unit.parent if unit is not None else None


def router(ctx: ServiceContext) -> APIRouter:
    api = APIRouter(prefix="/v1/public", tags=["public"])

    @api.get("/editions", response_model=PublicEditions)
    async def editions() -> PublicEditions:
        """The editions the Agency announced (§8: the announcement is public), the latest
        first; each one's calendar is nominations' ``GET /v1/editions/{edition_id}``."""
        async with ctx.store.reader() as uow:
            found = [d for _, d in await uow.docs.list("editions")]
        items = [
            PublicEdition(
                edition_id=str(d["edition_id"]),
                year=int(d["year"]),
                title=str(d["title"]),
                announced_at=d.get("recorded_at"),
            )
            for d in found
        ]
        items.sort(key=lambda e: (e.year, e.announced_at or datetime.min.replace(tzinfo=UTC)))
        return PublicEditions(items=items[::-1])

    @api.get("/results", response_model=PublicResults)
    async def results(
        region: str | None = Query(None, pattern=r"^\d{9}$", description="one region's"),
    ) -> PublicResults:
        """The published results: per region its nominees and finalist, and the winners."""
        async with ctx.store.reader() as uow:
            commissions = [d for _, d in await uow.docs.list("commissions")]
            regional = sorted(
                {str(c["region"]) for c in commissions if c.get("region")}
                if region is None
                else {region}
            )
            out: list[RegionResults] = []
            for kato in regional:
                nominees: list[PublicNominee] = []
                finalist: PublicFinalist | None = None
                latest: datetime | None = None
                for c in commissions:
                    if c.get("region") != kato:
                        continue
                    for e in await uow.load(f"results-nominees-{c['commission_id']}"):
                        nominees = [
                            PublicNominee(
                                candidate_id=n["candidate_id"],
                                name=n["name"],
                                district=n.get("district") or "",
                                rural_district=n.get("rural_district"),
                                rank=n.get("rank"),
                            )
                            for n in e.payload["nominees"]
                        ]
                        latest = max(filter(None, (latest, e.metadata.occurred_at)))
                for e in await uow.load(f"results-finalists-{kato}"):
                    p = e.payload
                    finalist = PublicFinalist(
                        candidate_id=p["candidate_id"],
                        name=p["name"],
                        regional_total=str(p["regional_total"]),
                        reason=p.get("reason"),
                    )
                    latest = max(filter(None, (latest, e.metadata.occurred_at)))
                nominees.sort(key=lambda n: (n.district, n.rank or 0, n.name))
                out.append(
                    RegionResults(
                        region=kato, nominees=nominees, finalist=finalist, published_at=latest
                    )
                )
            winners: list[PublicWinner] = []
            for c in commissions:
                if c.get("region"):
                    continue
                for e in await uow.load(f"results-winners-{c['commission_id']}"):
                    winners = []
                    for w in e.payload["winners"]:
                        who = await uow.docs.get("candidates", w["candidate_id"]) or {}
                        winners.append(
                            PublicWinner(
                                place=w["place"],
                                candidate_id=w["candidate_id"],
                                name=w["name"],
                                region=who.get("region"),
                            )
                        )
        return PublicResults(regions=out, winners=sorted(winners, key=lambda w: w.place))

    @api.get("/surveys", response_model=PublicSurveys)
    async def surveys(
        region: str | None = Query(None, pattern=r"^\d{9}$"),
        district: str | None = Query(None, pattern=r"^\d{9}$"),
        status: Status | None = Query(None, description="open: the ones residents answer now"),
    ) -> PublicSurveys:
        """The nominees' surveys by region, district and rural district, with the akim rated."""
        now = ctx.now()
        async with ctx.store.reader() as uow:
            found = [d for _, d in await uow.docs.list("surveys")]
            closed = {k for k, _ in await uow.docs.list("survey_results")}
            items: list[PublicSurvey] = []
            for d in found:
                if region is not None and d.get("region_kato") != region:
                    continue
                place = str(d["settlement_kato"])
                where = _district_of(place)
                if district is not None and where != district:
                    continue
                opens = datetime.fromisoformat(str(d["opens_at"]))
                closes = datetime.fromisoformat(str(d["closes_at"]))
                state: Status = (
                    "closed"
                    if str(d["survey_id"]) in closed
                    else "not_open"
                    if now < opens
                    else "open"
                    if now < closes
                    else "ended"
                )
                if status is not None and state != status:
                    continue
                who = await uow.docs.get("candidates", str(d["candidate_id"])) or {}
                items.append(
                    PublicSurvey(
                        survey_id=str(d["survey_id"]),
                        candidate_id=str(d["candidate_id"]),
                        akim=who.get("name"),
                        region=str(d["region_kato"]),
                        district=where,
                        settlement=place,
                        opens_at=opens,
                        closes_at=closes,
                        status=state,
                    )
                )
        items.sort(key=lambda s: (s.region, s.district or "", s.settlement))
        return PublicSurveys(items=items)

    return api
