"""Nominations service layer: one function per command (load, decide, append, keep lookups).

Every handler runs inside the caller's transaction (:func:`shared.http.command`); the lookup
documents of :mod:`.adapters.lookups` change in that same transaction, after the append.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from shared.errors import Conflict
from shared.events import SYSTEM, Envelope, Event
from shared.handlers import Cause, append, execute
from shared.store.eventstore import UnitOfWork
from shared.territory import Level, load_territory

from .adapters import lookups
from .adapters.repository import (
    application_stream,
    edition_stream,
    load_application,
    load_edition,
)
from .domain import (
    application,
    application_state,
    complaints,
    edition,
    eligibility,
    questionnaire_score,
)
from .domain.application import AttachDocument, SubmitApplication, WithdrawApplication
from .domain.application_state import ApplicationState, ApplicationStatus
from .domain.complaints import RecordJustifiedComplaints
from .domain.edition import AnnounceEdition, EditionState, ExtendDeadline
from .domain.eligibility import CheckApplication
from .domain.questionnaire_score import ConfirmScore, CorrectQuestionnaireScore
from .events import registry


@dataclass(frozen=True)
class Outcome:
    """An application after a command, and the events the command appended."""

    state: ApplicationState
    envelopes: list[Envelope]

    @property
    def event_ids(self) -> list[str]:
        return [str(e.event_id) for e in self.envelopes]


Decision = Callable[[ApplicationState, EditionState], Sequence[Event]]


def region_of_rural_district(kato: str) -> str | None:
    """The region of a rural district (None when ``kato`` is no rural district)."""
    territory = load_territory()
    unit = territory.find(kato)
    if unit is None or unit.level is not Level.rural_district:
        return None
    return territory.region_of(kato).kato


# --- edition commands ------------------------------------------------------------------------


async def announce_edition(
    uow: UnitOfWork, command: AnnounceEdition, cause: Cause
) -> list[Envelope]:
    """§8: the organiser announces an edition, its calendar and its rules."""
    return await execute(
        uow,
        edition_stream(command.edition_id),
        registry,
        edition.evolve,
        lambda state: edition.announce(state, command, cause.actor),
        cause,
    )


async def extend_deadline(uow: UnitOfWork, command: ExtendDeadline, cause: Cause) -> list[Envelope]:
    """The organiser moves one step's deadline later, with a reason."""
    return await execute(
        uow,
        edition_stream(command.edition_id),
        registry,
        edition.evolve,
        lambda state: edition.extend_deadline(state, command, cause.actor),
        cause,
    )


# --- application commands --------------------------------------------------------------------


async def submit_application(uow: UnitOfWork, command: SubmitApplication, cause: Cause) -> Outcome:
    """§9: one live application per akim per edition, decided under the append lock."""
    await uow.lock()
    current = await load_edition(uow, command.edition_id)
    stream = application_stream(command.application_id)
    if await uow.stream_version(stream):
        raise Conflict(
            "application_exists",
            f"application {command.application_id} already exists",
            application_id=command.application_id,
        )
    live = await lookups.live_application(
        uow.docs, command.edition_id, command.questionnaire.rural_district_kato
    )
    events = application.submit(
        current, command, live_application_id=live, territory=load_territory(), at=cause.at
    )
    return await _append(uow, None, 0, events, cause)


async def attach_document(uow: UnitOfWork, command: AttachDocument, cause: Cause) -> Outcome:
    """§9: the stored blob joins the file as ``command.kind`` (the same bytes again: nothing)."""
    return await _decide(
        uow,
        command.application_id,
        lambda app, ed: application.attach_document(app, ed, command, cause.at),
        cause,
    )


async def check_application(uow: UnitOfWork, command: CheckApplication, cause: Cause) -> Outcome:
    """§10, §11: the secretary's admission check; an admitted questionnaire is scored at once
    (by the system, caused by the admission)."""
    state, version = await load_application(uow, command.application_id)
    current = await load_edition(uow, state.edition_id)
    decided = eligibility.decide_admission(state, current, cause.actor, cause.at)
    checked = await _append(uow, state, version, decided, cause)
    if checked.state.status is not ApplicationStatus.admitted:
        return checked
    system = replace(cause, actor=SYSTEM, causation_id=checked.event_ids[0])
    scoring = questionnaire_score.score_questionnaire(checked.state, current, cause.at)
    scored = await _append(uow, checked.state, version + len(decided), scoring, system)
    return Outcome(scored.state, [*checked.envelopes, *scored.envelopes])


async def confirm_score(uow: UnitOfWork, command: ConfirmScore, cause: Cause) -> Outcome:
    """The region's secretary confirms the computed questionnaire score."""
    return await _decide(
        uow,
        command.application_id,
        lambda app, ed: questionnaire_score.confirm_score(app, ed, cause.actor, cause.at),
        cause,
    )


async def correct_score(
    uow: UnitOfWork, command: CorrectQuestionnaireScore, cause: Cause
) -> Outcome:
    """The region's secretary replaces the score by the items that apply, with a reason."""
    return await _decide(
        uow,
        command.application_id,
        lambda app, ed: questionnaire_score.correct_score(app, ed, command, cause.actor, cause.at),
        cause,
    )


async def record_complaints(
    uow: UnitOfWork, command: RecordJustifiedComplaints, cause: Cause
) -> Outcome:
    """§12 tie-break (4): the secretary records the justified complaints and their source."""
    return await _decide(
        uow,
        command.application_id,
        lambda app, _: complaints.record_complaints(app, command, cause.actor),
        cause,
    )


async def withdraw_application(
    uow: UnitOfWork, command: WithdrawApplication, cause: Cause
) -> Outcome:
    """The nominator withdraws the application; the akim may apply again."""
    return await _decide(
        uow,
        command.application_id,
        lambda app, _: application.withdraw(app, command, cause.at),
        cause,
    )


async def _decide(uow: UnitOfWork, application_id: str, decide: Decision, cause: Cause) -> Outcome:
    state, version = await load_application(uow, application_id)
    current = await load_edition(uow, state.edition_id)
    return await _append(uow, state, version, decide(state, current), cause)


async def _append(
    uow: UnitOfWork,
    before: ApplicationState | None,
    version: int,
    events: Sequence[Event],
    cause: Cause,
) -> Outcome:
    if not events:
        assert before is not None
        return Outcome(before, [])
    after = before
    for event in events:
        after = application_state.evolve(after, event)
    assert after is not None
    envelopes = await append(uow, application_stream(after.application_id), version, events, cause)
    await lookups.record(uow.docs, after, created=before is None, submitter=cause.actor.id)
    return Outcome(after, envelopes)
