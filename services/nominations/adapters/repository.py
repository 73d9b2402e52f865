"""The nominations' streams and their states: an edition, an application (read, never decided)."""

from __future__ import annotations

from datetime import datetime

from shared.handlers import load_state
from shared.store.eventstore import UnitOfWork

from ..domain import application, application_state, edition
from ..domain.application_state import ApplicationState, require_application
from ..domain.documents import DocumentKind
from ..domain.edition import EditionState
from ..events import registry


def edition_stream(edition_id: str) -> str:
    return f"edition-{edition_id}"


def application_stream(application_id: str) -> str:
    return f"application-{application_id}"


async def load_edition(uow: UnitOfWork, edition_id: str) -> EditionState:
    """The edition, or 404 ``edition_not_found``."""
    stream = edition_stream(edition_id)
    state, _ = await load_state(uow, stream, registry, edition.evolve, remember=True)
    return edition.require_edition(state, edition_id)


async def load_application(uow: UnitOfWork, application_id: str) -> tuple[ApplicationState, int]:
    """The application and its stream version, or 404 ``application_not_found``."""
    stream = application_stream(application_id)
    state, version = await load_state(uow, stream, registry, application_state.evolve, True)
    return require_application(state, application_id), version


async def upload_limit(
    uow: UnitOfWork, application_id: str, kind: DocumentKind, at: datetime
) -> int:
    """How many bytes a ``kind`` upload may have now (refused before any byte is stored)."""
    state, _ = await load_application(uow, application_id)
    current = await load_edition(uow, state.edition_id)
    return application.upload_limit(state, current, kind, at)
