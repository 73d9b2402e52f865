"""A nominator's drafts: the application form kept as typed, before it is submitted.

A draft is the person's own working copy, not a fact of the competition: it is kept in the
service's own database (documents ``application_draft``, keyed by the person and the draft),
never on the log, readable and deletable by its owner only. Nothing in it is checked but its
size (64 KB) — a draft may be half-filled and wrong; the submission is what the rules judge.
Submitting the application (``POST /v1/applications`` with ``draft_id``) deletes the draft in
the same transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, Field, field_validator

from shared.auth import Principal
from shared.edge import principal
from shared.errors import DomainError, NotFound
from shared.runtime import ServiceContext
from shared.store.canonical import canonical_json
from shared.store.docs import DocStore

from .common import NOMINATING, reading

DRAFT = "application_draft"
MAX_DRAFT_BYTES = 65_536
MAX_DRAFTS = 50


class DraftBody(BaseModel):
    edition_id: UUID = Field(description="the edition the application is for")
    title: str = Field("", max_length=200, description="the owner's label (the akim's name)")
    form: dict[str, Any] = Field(description="the form as typed, any shape (at most 64 KB)")

    @field_validator("form")
    @classmethod
    def _small(cls, form: dict[str, Any]) -> dict[str, Any]:
        if len(canonical_json(form).encode()) > MAX_DRAFT_BYTES:
            raise ValueError(f"a draft holds at most {MAX_DRAFT_BYTES} bytes")
        return form


class DraftView(BaseModel):
    draft_id: UUID
    edition_id: UUID
    title: str
    form: dict[str, Any]
    saved_at: datetime


class DraftList(BaseModel):
    items: list[DraftView]


def key(who: Principal, draft_id: UUID | str) -> str:
    return f"{who.sub}/{draft_id}"


async def discard(docs: DocStore, who: Principal, draft_id: UUID | str) -> None:
    """The owner's draft gone (submitted); nothing when there is none."""
    await docs.delete(DRAFT, key(who, draft_id))


def router(ctx: ServiceContext) -> APIRouter:
    api = APIRouter(prefix="/v1/application-drafts", tags=["drafts"])

    @api.put("/{draft_id}", response_model=DraftView)
    async def save_draft(
        draft_id: UUID, body: DraftBody, who: Principal = Depends(principal)
    ) -> DraftView:
        """Keep (or replace) the signed-in person's draft of an application. A nominator or a
        secretary; only its owner ever reads it."""
        who.act_as(*NOMINATING, region=who.region)
        view = DraftView(
            draft_id=draft_id,
            edition_id=body.edition_id,
            title=body.title,
            form=body.form,
            saved_at=ctx.now(),
        )
        async with ctx.store.transaction() as uow:
            mine = await uow.docs.list_text(DRAFT, f"{who.sub}/")
            if len(mine) >= MAX_DRAFTS and key(who, draft_id) not in dict(mine):
                raise DomainError(
                    "too_many_drafts",
                    f"at most {MAX_DRAFTS} drafts are kept; submit or delete one first",
                    status=409,
                )
            await uow.docs.put(DRAFT, key(who, draft_id), view.model_dump(mode="json"))
        return view

    @api.get("", response_model=DraftList)
    async def list_drafts(who: Principal = Depends(principal)) -> DraftList:
        """The signed-in person's drafts, the latest first."""
        who.act_as(*NOMINATING, region=who.region)
        async with reading(ctx.store) as uow:
            mine = await uow.docs.list(DRAFT, f"{who.sub}/")
        items = [DraftView.model_validate(doc) for _, doc in mine]
        return DraftList(items=sorted(items, key=lambda d: d.saved_at, reverse=True))

    @api.get("/{draft_id}", response_model=DraftView)
    async def get_draft(draft_id: UUID, who: Principal = Depends(principal)) -> DraftView:
        """One of the signed-in person's drafts (404 for anyone else's)."""
        who.act_as(*NOMINATING, region=who.region)
        async with reading(ctx.store) as uow:
            doc = await uow.docs.get(DRAFT, key(who, draft_id))
        if doc is None:
            raise NotFound("draft_not_found", f"you have no draft {draft_id}")
        return DraftView.model_validate(doc)

    @api.delete("/{draft_id}", status_code=204)
    async def delete_draft(draft_id: UUID, who: Principal = Depends(principal)) -> Response:
        """Delete one of the signed-in person's drafts (nothing when it is gone already)."""
        who.act_as(*NOMINATING, region=who.region)
        async with ctx.store.transaction() as uow:
            await discard(uow.docs, who, draft_id)
        return Response(status_code=204)

    return api
