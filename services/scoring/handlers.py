"""Scoring service layer: one function per command (load, decide, append)."""

from __future__ import annotations

from services.scoring.domain import commission as commissions
from services.scoring.domain.commands import FormCommission
from services.scoring.domain.state import Scoring, initial
from services.scoring.events import CommissionFormed, registry
from shared.events import Actor, Envelope, Event
from shared.handlers import execute
from shared.store.eventstore import UnitOfWork


def commission_stream(commission_id: str) -> str:
    return f"commission-{commission_id}"


def evolve(state: Scoring | None, event: Event) -> Scoring:
    current = state or initial()
    if isinstance(event, CommissionFormed):
        return commissions.on_formed(current, event)
    return current


async def form_commission(
    uow: UnitOfWork, command: FormCommission, actor: Actor, correlation_id: str
) -> list[Envelope]:
    return await execute(
        uow,
        commission_stream(command.commission_id),
        registry,
        evolve,
        lambda state: commissions.form(state or initial(), command),
        actor,
        correlation_id,
    )
