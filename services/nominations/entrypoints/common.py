"""What every nominations route shares: reading without the writer, authorising by region."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Request

from shared.auth import Principal
from shared.errors import NotFound
from shared.events import Actor
from shared.handlers import Cause
from shared.http import correlation_id
from shared.runtime import ServiceContext
from shared.store.eventstore import EventStore, UnitOfWork

from ..adapters import lookups

NOMINATING = ("nominator", "secretary")
"""Who may submit an application, attach its documents and withdraw it."""

READERS = ("nominator", "secretary", "organiser", "member", "chair", "auditor")
"""Who may read applications (region-scoped tokens: their own region only)."""


@asynccontextmanager
async def reading(store: EventStore) -> AsyncIterator[UnitOfWork]:
    """A read-only unit of work: it never takes the writer lock and never commits."""
    async with store.reader() as uow:
        yield uow


async def authorised(uow: UnitOfWork, who: Principal, application_id: str, *roles: str) -> Actor:
    """The actor for a command on the application: one of ``roles``, of its region."""
    region = await lookups.region_of(uow.docs, application_id)
    if region is None:
        raise NotFound("application_not_found", f"application {application_id} does not exist")
    return who.act_as(*roles, region=region)


def cause(ctx: ServiceContext, request: Request, actor: Actor) -> Cause:
    """The command's actor, correlation id and business time (``ctx.now()``)."""
    return Cause(actor=actor, correlation_id=correlation_id(request), at=ctx.now())


def scope(name: str) -> str:
    """A command's idempotency scope (:func:`shared.http.command` adds the principal)."""
    return f"nominations.{name}"
