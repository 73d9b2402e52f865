"""Queries on applications, served from the service's own state and lookup documents."""

from __future__ import annotations

import base64
from typing import Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query

from shared.auth import Principal
from shared.edge import principal
from shared.errors import DomainError
from shared.runtime import ServiceContext
from shared.territory import Level, load_territory
from shared.text import control_in

from ..adapters import lookups, repository
from .common import READERS, authorised, reading
from .schemas import ApplicationPage, ApplicationSummary, ApplicationView
from .views import application_view

Status = Literal["submitted", "admitted", "rejected", "withdrawn"]
KATO = r"^\d{9}$"


def router(ctx: ServiceContext) -> APIRouter:
    api = APIRouter(prefix="/v1/applications", tags=["applications"])

    @api.get("/{application_id}", response_model=ApplicationView)
    async def get_application(
        application_id: UUID, who: Principal = Depends(principal)
    ) -> ApplicationView:
        """One application: questionnaire, documents, decision and score."""
        async with reading(ctx.store) as uow:
            await authorised(uow, who, str(application_id), *READERS)
            state, _ = await repository.load_application(uow, str(application_id))
        return application_view(state)

    @api.get("", response_model=ApplicationPage)
    async def list_applications(
        edition_id: UUID = Query(description="the edition"),
        region: str | None = Query(None, pattern=KATO, description="only this region (KATO)"),
        district: str | None = Query(None, pattern=KATO, description="only this district"),
        status: Status | None = Query(None, description="only applications in this status"),
        after: str = Query("", max_length=400, description="the previous page's next_cursor"),
        limit: int = Query(100, ge=1, le=1000, description="at most this many items"),
        mine: bool = Query(False, description="only those the signed-in person submitted"),
        who: Principal = Depends(principal),
    ) -> ApplicationPage:
        """Applications of an edition, by region and district, in a stable order; a
        region-scoped token sees its own region only. ``mine``: the signed-in person's own
        submissions (every page at once)."""
        region = scoped_region(who, region or region_of_district(district))
        if mine:
            async with reading(ctx.store) as uow:
                own = await lookups.submitted_by(uow.docs, who.sub, str(edition_id))
            return ApplicationPage(
                items=[ApplicationSummary.model_validate(doc) for doc in own], next_cursor=None
            )
        prefix = key_prefix(str(edition_id), region, district)
        async with reading(ctx.store) as uow:
            items, last = await lookups.page(uow.conn, prefix, decode(after), limit, status)
        return ApplicationPage(
            items=[ApplicationSummary.model_validate(doc) for doc in items],
            next_cursor=None if last is None else encode(last),
        )

    return api


def scoped_region(who: Principal, region: str | None) -> str | None:
    """The region to list: the token's own when it has one (403 for another)."""
    who.act_as(*READERS, region=region)
    if who.region is not None and region is None:
        return who.region
    return region


def region_of_district(district: str | None) -> str | None:
    if district is None:
        return None
    unit = load_territory().find(district)
    if unit is None or unit.level is not Level.district or unit.parent is None:
        raise DomainError("unknown_district", f"{district} is not a district", status=400)
    return unit.parent


def key_prefix(edition_id: str, region: str | None, district: str | None) -> str:
    """Summaries are keyed ``edition/region/district/application``: a filter is a prefix."""
    parts = [edition_id]
    if region is not None:
        parts += [region] if district is None else [region, district]
    return "/".join(parts) + "/"


def encode(key: str) -> str:
    return base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")


def decode(cursor: str) -> str:
    if not cursor:
        return ""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key = base64.b64decode(padded, altchars=b"-_", validate=True).decode()
    except ValueError as error:  # not base64 (non-ASCII too), not UTF-8 (binascii.Error…)
        raise DomainError("cursor_invalid", "the cursor is not one this API gave", 400) from error
    if control_in(key):  # a NUL would fail PostgreSQL's comparison, not SQLite's
        raise DomainError("cursor_invalid", "the cursor is not one this API gave", 400)
    return key
