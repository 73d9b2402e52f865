"""Scoring service wiring: one repository (with its state cache) per service process, shared by
the HTTP routes and the consumer of nominations and survey events."""

from __future__ import annotations

from fastapi import APIRouter

from services.scoring.adapters.repository import Repository
from services.scoring.entrypoints import http
from services.scoring.entrypoints.consumers import follow_regions, intake_consumer
from services.scoring.events import registry
from shared.consumers import Consumer
from shared.runtime import ServiceContext, ServiceSpec


def repository(ctx: ServiceContext) -> Repository:
    found = ctx.extras.get("repository")
    if not isinstance(found, Repository):
        found = ctx.extras["repository"] = Repository()
    return found


def routers(ctx: ServiceContext) -> list[APIRouter]:
    return http.router(ctx, repository(ctx))


def consumers(ctx: ServiceContext) -> list[Consumer]:
    return [intake_consumer(ctx.store, repository(ctx))]


def setup(ctx: ServiceContext) -> None:
    follow_regions(ctx, repository(ctx))


SPEC = ServiceSpec(
    name="scoring", registry=registry, routers=routers, consumers=consumers, setup=setup
)
