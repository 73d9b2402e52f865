"""Regions and the republic: the regions the republic trusts for an edition and what became of
each region's finalist (the republic's dashboard of who has sent theirs)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, ConfigDict, Field

from services.scoring import federation
from services.scoring.entrypoints.http import Api
from services.scoring.events import TrustedKey
from shared.auth import Principal
from shared.edge import principal
from shared.errors import Forbidden
from shared.store.eventstore import UnitOfWork

KATO = r"^\d{9}$"


class TrustBody(BaseModel):
    """A region's deployment as the republic trusts it for an edition: the issuer its events
    name and its commission's signing keys (those registered when it was formed)."""

    model_config = ConfigDict(extra="forbid")

    issuer: str = Field(min_length=1, max_length=400)
    commission_id: str = Field(min_length=1, max_length=64)
    keys: list[TrustedKey] = Field(min_length=1, max_length=20)


class Trusted(BaseModel):
    region: str
    event_ids: list[str]


class RegionStatus(BaseModel):
    region: str
    trusted: bool
    issuer: str | None = None
    status: str = Field(description="missing, admitted, held or refused")
    candidate_id: str | None = None
    name: str | None = None
    reason: str | None = None
    problems: list[dict[str, str]] | None = None
    arrived_at: str | None = None
    protocol_digest: str | None = None


class Federation(BaseModel):
    edition_id: str
    regions: list[RegionStatus]


def router(api: Api) -> APIRouter:
    r = APIRouter(prefix="/v1/editions/{edition_id}/federation", tags=["federation"])

    @r.put("/regions/{region}", status_code=201, response_model=Trusted)
    async def trust_region(
        edition_id: str,
        body: TrustBody,
        request: Request,
        region: str = Path(pattern=KATO),
        who: Principal = Depends(principal),
    ) -> object:
        """Register a region's deployment for the edition (the Agency's organiser). A finalist
        of the region held for want of it is examined again."""
        actor = who.act_as("organiser")
        if who.region is not None:
            detail = f"the token is for region {who.region}; the republic's trust is the Agency's"
            raise Forbidden("region_not_allowed", detail)
        command = federation.TrustRegion(
            edition_id, region, body.issuer, body.commission_id, tuple(body.keys)
        )

        async def run(uow: UnitOfWork) -> Trusted:
            cause = api.cause(request, actor)
            out = await federation.trust_region(uow, command, cause, repo=api.repo)
            return Trusted(region=region, event_ids=[str(e.event_id) for e in out])

        return await api.command(request, "trust_region", run)

    @r.get("", response_model=Federation)
    async def overview(edition_id: str, who: Principal = Depends(principal)) -> Federation:
        """Per region: trusted or not, and its finalist — missing, admitted, held (with every
        problem) or refused (with the reason)."""
        who.act_as("organiser", "auditor", "chair", "secretary", "member")
        async with api.reading() as uow:
            regions = await federation.overview(uow, edition_id)
        return Federation(
            edition_id=edition_id, regions=[RegionStatus.model_validate(x) for x in regions]
        )

    return r
