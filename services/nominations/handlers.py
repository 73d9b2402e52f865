"""Nominations service layer: one function per command (load, decide, append)."""

from __future__ import annotations

from services.nominations.domain import edition
from services.nominations.events import registry
from shared.events import Actor, Envelope
from shared.handlers import execute
from shared.store.eventstore import UnitOfWork


def edition_stream(edition_id: str) -> str:
    return f"edition-{edition_id}"


async def announce_edition(
    uow: UnitOfWork, command: edition.AnnounceEdition, actor: Actor, correlation_id: str
) -> list[Envelope]:
    return await execute(
        uow,
        edition_stream(command.edition_id),
        registry,
        edition.evolve,
        lambda state: edition.announce(state, command, actor),
        actor,
        correlation_id,
    )
