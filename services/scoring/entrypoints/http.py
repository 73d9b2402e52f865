"""Scoring HTTP API (thin: validate, authorise, build the command, call the handler).

Routes by resource: :mod:`.routes_commissions`, :mod:`.routes_sittings`,
:mod:`.routes_decisions`, :mod:`.routes_candidates`. Commands run in one transaction through
:func:`shared.http.command` (Idempotency-Key, concurrency retry); queries read the folded
commission on a plain connection.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any
from uuid import uuid4

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from services.scoring.adapters.repository import Repository
from shared.events import Actor
from shared.handlers import Cause
from shared.http import command, correlation_id
from shared.runtime import ServiceContext
from shared.store.eventstore import UnitOfWork


class Api:
    """What every route needs: the service context, the repository, time and transactions."""

    def __init__(self, ctx: ServiceContext, repo: Repository) -> None:
        self.ctx, self.repo = ctx, repo

    def cause(self, request: Request, actor: Actor) -> Cause:
        return Cause(actor, correlation_id(request), self.ctx.now())

    async def command(
        self,
        request: Request,
        scope: str,
        run: Callable[[UnitOfWork], Awaitable[Any]],
        status: int = 201,
    ) -> JSONResponse:
        return await command(request, self.ctx.store, f"scoring.{scope}", run, status)

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[UnitOfWork]:
        """A read-only unit of work (no transaction, no writer lock)."""
        async with self.ctx.store.reader() as uow:
            yield uow


def new_id() -> str:
    return str(uuid4())


def router(ctx: ServiceContext, repo: Repository) -> list[APIRouter]:
    from services.scoring.entrypoints import (
        routes_candidates,
        routes_commissions,
        routes_decisions,
        routes_federation,
        routes_sittings,
    )

    api = Api(ctx, repo)
    return [
        routes_commissions.router(api),
        routes_sittings.router(api),
        routes_decisions.router(api),
        routes_candidates.router(api),
        routes_federation.router(api),
    ]
