"""Builders for the nominations unit tests: the 2020 edition, questionnaires, applications."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import Any

from services.nominations.domain import application_state, edition
from services.nominations.domain.application import (
    AttachDocument,
    SubmitApplication,
    attach_document,
    submit,
)
from services.nominations.domain.application_state import ApplicationState
from services.nominations.domain.documents import DocumentKind
from services.nominations.domain.edition import EditionState
from services.nominations.domain.figures import default_edition_2020
from services.nominations.domain.questionnaire import Questionnaire
from services.nominations.domain.values import ALMATY
from shared.events import Actor, Event
from shared.territory import load_territory

ORGANISER = Actor(id="agency-1", role="organiser")
RURAL_DISTRICT = "193633000"  # Акдалинский с.о., Балхашский район, Алматинская область
REGION = "190000000"
SECRETARY = Actor(id="secretary-19", role="secretary", region=REGION)

WINDOW_CLOSES = datetime(2020, 6, 23, 0, 0, tzinfo=ALMATY)  # 20 June is a Saturday: end of 22nd
IN_WINDOW = datetime(2020, 6, 10, 12, 0, tzinfo=ALMATY)
IN_CHECK = datetime(2020, 6, 25, 10, 0, tzinfo=ALMATY)

MEDIA = {
    DocumentKind.project_video: "video/mp4",
    DocumentKind.project_presentation: "application/pdf",
}


def new_id() -> str:
    return str(uuid.uuid4())


def edition_2020(**changes: Any) -> EditionState:
    command = default_edition_2020(new_id(), **changes)
    return fold_edition(edition.announce(None, command, ORGANISER))


def fold_edition(events: list[Event]) -> EditionState:
    state = edition.fold(events)
    assert state is not None
    return state


def questionnaire(**overrides: Any) -> Questionnaire:
    """A questionnaire that earns no Annex 3 point and passes every §6 rule."""
    data: dict[str, Any] = {
        "nominator": {"kind": "self_nomination"},
        "akim": {"surname": "Сейтқали", "given_name": "Ерлан", "patronymic": "Болатұлы"},
        "position": "аким Акдалинского сельского округа",
        "rural_district_kato": RURAL_DISTRICT,
        "statement": {
            "agrees_to_terms": True,
            "consents_to_personal_data": True,
            "signed_on": "2020-06-01",
        },
        "civil_service": {"years": 0, "months": 0},
        "appointed_akim_on": "2019-05-04",
        "indicators": {
            "as_of": "2020-01-01",
            "investment_tenge": 150_000_000,
            "jobs_created": 42,
            "agricultural_output_tenge": 2_300_000_000,
            "migration": {"arrived": 120, "departed": 95},
            "registered_offences": 7,
        },
    }
    data.update(overrides)
    return Questionnaire.model_validate(data)


def full_questionnaire() -> Questionnaire:
    """A questionnaire earning every Annex 3 point (29)."""
    activity = [{"title": "Форум сельских акимов", "year": 2019}]
    return questionnaire(
        civil_service={"years": 12, "months": 3},
        languages=[
            {"language": "state", "level": "fluent"},
            {"language": "russian", "level": "fluent"},
            {"language": "english", "level": "fluent"},
        ],
        awards=[
            {"kind": kind, "title": f"{kind} award"}
            for kind in ("departmental", "state", "honorary_title", "international")
        ],
        education=[
            {
                "institution": "КазНАУ",
                "graduated_in": 2001,
                "speciality": "агроном",
                "level": "higher",
            },
            {"institution": "АГУ", "graduated_in": 2008, "speciality": "ГМУ", "level": "higher"},
        ],
        academic_degree="кандидат экономических наук",
        scientific_works=activity,
        projects=[{"title": "Ауыл — ел бесігі", "role": "implemented"}],
        seminars=activity,
        internships=activity,
        refresher_courses=activity,
        proposals=activity,
    )


def submitted(
    state: EditionState | None = None, at: datetime = IN_WINDOW, **overrides: Any
) -> ApplicationState:
    """An application submitted to the 2020 edition."""
    current = state or edition_2020()
    form = questionnaire(**overrides)
    command = SubmitApplication(
        application_id=new_id(), edition_id=current.edition_id, questionnaire=form
    )
    events = submit(current, command, live_application_id=None, territory=load_territory(), at=at)
    return fold_application(events)


def attach(
    app: ApplicationState,
    current: EditionState,
    kind: DocumentKind,
    at: datetime = IN_WINDOW,
    **fields: Any,
) -> ApplicationState:
    command = AttachDocument.model_validate(
        {
            "application_id": app.application_id,
            "kind": kind,
            "sha256": "ab" * 32,
            "size_bytes": 1024,
            "media_type": MEDIA.get(kind, "application/pdf"),
            "filename": f"{kind}.bin",
            "duration_seconds": 120.0 if kind is DocumentKind.project_video else None,
            **fields,
        }
    )
    return evolve_application(app, attach_document(app, current, command, at))


def complete(app: ApplicationState, current: EditionState) -> ApplicationState:
    for kind in current.nomination_rules.required_document_kinds:
        app = attach(app, current, kind)
    return app


def fold_application(events: list[Event]) -> ApplicationState:
    state = application_state.fold(events)
    assert state is not None
    return state


def evolve_application(state: ApplicationState, events: list[Event]) -> ApplicationState:
    for event in events:
        state = application_state.evolve(state, event)
    return state


def on(day: date, hour: int = 12) -> datetime:
    return datetime.combine(day, datetime.min.time(), ALMATY) + timedelta(hours=hour)
