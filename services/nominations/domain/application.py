"""The Application aggregate's commands: submit, attach a document, withdraw (§7, §9, §11.2).

The state and its ``evolve`` live in :mod:`.application_state`; admission in
:mod:`.eligibility`; the questionnaire score in :mod:`.questionnaire_score`.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from shared.errors import Conflict, RuleViolation
from shared.events import Event
from shared.territory import Level, Territory

from ..events import ApplicationSubmitted, ApplicationWithdrawn, DocumentAttached
from .application_state import ApplicationState, require_undecided
from .calendar import CalendarStep
from .documents import DocumentKind
from .edition import EditionState
from .files import file_problems, require_size
from .questionnaire import Questionnaire
from .values import Count, Frozen, Id, almaty_iso, almaty_seconds, almaty_text


class SubmitApplication(Frozen):
    """Command: submit an akim's application (§9)."""

    application_id: Id
    edition_id: Id
    questionnaire: Questionnaire


class AttachDocument(Frozen):
    """Command: attach a stored blob as one document of the file (§9)."""

    application_id: Id
    kind: DocumentKind
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size_bytes: Count
    media_type: str
    filename: str = Field(min_length=1, max_length=255)
    duration_seconds: float | None = None
    page_count: Count | None = None


class WithdrawApplication(Frozen):
    """Command: withdraw an application, for a stated reason."""

    application_id: Id
    reason: str


def submit(
    edition: EditionState,
    command: SubmitApplication,
    *,
    live_application_id: str | None,
    territory: Territory,
    at: datetime,
) -> list[Event]:
    """§9, §11.2: accept an application inside the window, one live one per rural district.

    ``live_application_id`` is the akim's (rural district's) live application in this edition,
    if any, as the handler's read model knows it.
    """
    _require_window_open(edition, at)
    kato = command.questionnaire.rural_district_kato
    if live_application_id is not None:
        raise Conflict(
            "duplicate_application",
            f"the akim of {kato} already has application {live_application_id} in this edition",
            application_id=live_application_id,
            rural_district_kato=kato,
        )
    unit = territory.find(kato)
    if unit is None or unit.level is not Level.rural_district:
        raise RuleViolation("unknown_rural_district", f"{kato} is not a rural district")
    return [_submitted(edition.edition_id, command, territory, at)]


def _submitted(
    edition_id: str, command: SubmitApplication, territory: Territory, at: datetime
) -> Event:
    kato = command.questionnaire.rural_district_kato
    return ApplicationSubmitted(
        application_id=command.application_id,
        edition_id=edition_id,
        submitted_at=at,
        region_kato=territory.region_of(kato).kato,
        district_kato=territory.district_of(kato).kato,
        rural_district_kato=kato,
        questionnaire=command.questionnaire,
    )


def _require_window_open(edition: EditionState, at: datetime) -> None:
    calendar = edition.calendar
    if at < calendar.application_window_opens_at:
        opens = calendar.application_window_opens_at
        raise RuleViolation(
            "application_window_not_open",
            f"applications are accepted from {almaty_text(opens)} (Asia/Almaty)",
            opens_at=almaty_iso(opens),
        )
    if calendar.is_over(CalendarStep.application_window, at):
        raise late_error("application_late", calendar.application_window_closes_at, at)


def late_error(code: str, deadline: datetime, at: datetime) -> RuleViolation:
    """§11.2: the window closed; detail and ``extra`` give both times, to the second, in
    Asia/Almaty."""
    return RuleViolation(
        code,
        f"the application window closed at {almaty_seconds(deadline)} Asia/Almaty time; "
        f"this arrived at {almaty_seconds(at)}",
        deadline=almaty_iso(deadline),
        received_at=almaty_iso(at),
    )


def require_file_open(
    state: ApplicationState,
    edition: EditionState,
    at: datetime,
    kind: DocumentKind | None = None,
) -> None:
    """§9: documents join a file still awaiting its check, while the window is open; the
    essay (§14.4) joins a live application until the interviews' deadline."""
    if kind is DocumentKind.essay:
        return require_essay_open(state, edition, at)
    require_undecided(state)
    if edition.calendar.is_over(CalendarStep.application_window, at):
        raise late_error("document_late", edition.calendar.application_window_closes_at, at)


def require_essay_open(state: ApplicationState, edition: EditionState, at: datetime) -> None:
    """§14: the essay comes before the interview, from a submitted or admitted candidate."""
    if not state.is_live:
        raise Conflict(
            f"application_{state.status}",
            f"application {state.application_id} is {state.status}; it takes no essay",
        )
    deadline = edition.calendar.interviews_deadline
    if edition.calendar.is_over(CalendarStep.interviews, at):
        raise RuleViolation(
            "document_late",
            f"essays were taken until {almaty_text(deadline)} Asia/Almaty (§14); "
            f"this arrived at {almaty_text(at)}",
            deadline=almaty_iso(deadline),
            received_at=almaty_iso(at),
        )


def upload_limit(
    state: ApplicationState, edition: EditionState, kind: DocumentKind, at: datetime
) -> int:
    """The most bytes a ``kind`` upload may have now; refuses first what attaching would.

    Checked before the bytes are read, so that no upload is stored for a closed file.
    """
    require_file_open(state, edition, at, kind)
    rules = edition.nomination_rules
    limit = rules.max_document_bytes.get(kind)
    if limit is None or kind not in rules.accepted_media_types:
        raise RuleViolation("document_kind_not_accepted", f"{kind} is not taken this edition")
    return limit


def attach_document(
    state: ApplicationState, edition: EditionState, command: AttachDocument, at: datetime
) -> list[Event]:
    """§9: a document joins the file while the window is open; the same kind again replaces it.

    The very same bytes again as the same kind change nothing (an idempotent upload).
    """
    attached = state.documents.get(command.kind)
    if attached is not None and attached.sha256 == command.sha256:
        return []
    require_file_open(state, edition, at, command.kind)
    rules = edition.nomination_rules
    require_size(rules, command.kind, command.size_bytes)
    problems = file_problems(
        rules, command.kind, command.media_type, command.duration_seconds, command.page_count
    )
    if problems:
        raise RuleViolation(problems[0].code, problems[0].detail, problems)
    return [DocumentAttached(**command.model_dump(), attached_at=at)]


def withdraw(state: ApplicationState, command: WithdrawApplication, at: datetime) -> list[Event]:
    """The nominator withdraws a submitted or admitted application, giving a reason."""
    if not state.is_live:
        raise Conflict(
            f"application_{state.status}",
            f"application {state.application_id} is {state.status}; it cannot be withdrawn",
        )
    if not command.reason.strip():
        raise RuleViolation("reason_required", "a withdrawal needs a reason")
    return [
        ApplicationWithdrawn(
            application_id=state.application_id,
            edition_id=state.edition_id,
            reason=command.reason.strip(),
            withdrawn_at=at,
        )
    ]
