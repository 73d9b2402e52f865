"""``make bench-replay``: fill the topics with a realistic edition, then measure replay.

One run: (1) fill fresh topics ``bench<stamp>.{nominations,scoring,survey}.events`` with
``--events`` envelopes (default 1,000,000, or ``BENCH_EVENTS``) of one realistic edition, and
write the live read models of a fresh reporting database by folding those very events in memory;
(2) the reference: a plain aiokafka consumer reads every topic and ``json.loads`` each value;
(3) ``uzdik replay`` of every projection, as a subprocess, timed from outside; (4) the
reference once more (the better of the two is used). Last line on stdout:
``replay events=<n> events_per_s=<n> reference_events_per_s=<n> ratio=<n> identical=<bool>``
where events_per_s is per second of the replay process's wall-clock time and ratio is
events_per_s / reference_events_per_s. The figures are appended to bench/README.md ("Replay").

The envelopes are built without an event store (an EventStore on SQLite would take hours for a
million events) but exactly like ``UnitOfWork._row``: the payload of a real, validated event
class, ``canonical.event_bytes`` chained per service, the JSON of ``to_record``. A sample of them
is checked against ``Envelope``, ``to_record`` and the events registries.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from array import array
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from multiprocessing import get_context
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import UUID

from bench.common import (
    README,
    ROOT,
    Phases,
    Ticker,
    append_row,
    create_database,
    drop_database,
    ensure_services,
    machine,
    num,
    peak_rss_mb,
    per_second,
    say,
    with_database,
)
from shared.events import Actor, Envelope, Event
from shared.relay import Record, topic_for
from shared.store.canonical import GENESIS, canonical_json, chain, event_bytes

if TYPE_CHECKING:
    from services.scoring.events import Role, SheetKind, Stage

SERVICES = ("nominations", "scoring", "survey")
DEFAULT_EVENTS = 1_000_000
PEPPER = b"uzdik-bench-pepper"
DAY = timedelta(days=1)


# --- the logs: envelopes exactly as UnitOfWork._row and relay.to_record make them ------------


def iso(moment: datetime) -> str:
    """A datetime as pydantic's JSON mode writes it (``Z`` for UTC)."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def new_uuid(rng: random.Random) -> str:
    return str(UUID(int=rng.getrandbits(128), version=4))


class Log:
    """One service's event log: positions, stream versions and the hash chain."""

    def __init__(self, service: str, rng: random.Random) -> None:
        self.service, self.rng = service, rng
        self.position, self.prev = 0, GENESIS
        self.versions: dict[str, int] = {}
        self._actors: dict[Actor, dict[str, Any]] = {}

    def append(
        self,
        stream_id: str,
        event: Event,
        actor: Actor,
        at: datetime,
        correlation_id: str | None = None,
    ) -> Record:
        """The Kafka record (``relay.to_record``) of the next event of this log."""
        self.position += 1
        version = self.versions[stream_id] = self.versions.get(stream_id, 0) + 1
        moment = iso(at)
        actor_json = self._actors.get(actor) or self._actors.setdefault(
            actor, actor.model_dump(mode="json")
        )
        event_id = new_uuid(self.rng)
        meta = {
            "event_id": event_id,
            "occurred_at": moment,
            "recorded_at": moment,
            "actor": actor_json,
            "correlation_id": correlation_id or new_uuid(self.rng),
            "causation_id": None,
        }
        payload = event.to_payload()
        digest = chain(
            self.prev,
            event_bytes(
                global_position=self.position,
                stream_id=stream_id,
                stream_version=version,
                event_type=event.event_type,
                schema_version=event.schema_version,
                payload=payload,
                metadata=meta,
            ),
        )
        envelope = {
            "service": self.service,
            "global_position": self.position,
            "stream_id": stream_id,
            "stream_version": version,
            "event_type": event.event_type,
            "schema_version": event.schema_version,
            "payload": payload,
            "metadata": meta,
            "prev_hash": self.prev,
            "hash": digest,
        }
        self.prev = digest
        return Record(
            key=stream_id.encode(),
            value=canonical_json(envelope).encode(),
            headers={
                "event_type": event.event_type,
                "event_id": event_id,
                "schema_version": str(event.schema_version),
                "stream_version": str(version),
                "global_position": str(self.position),
                "hash": digest,
            },
        )


@dataclass(order=True)
class Planned:
    at: datetime
    seq: int
    stream_id: str = field(compare=False)
    event: Event = field(compare=False)
    actor: Actor = field(compare=False)
    correlation_id: str | None = field(default=None, compare=False)


class Timeline:
    """Events of one service in the order they happen (ties keep the order they were added)."""

    def __init__(self) -> None:
        self.items: list[Planned] = []

    def add(
        self, at: datetime, stream_id: str, event: Event, actor: Actor, corr: str | None = None
    ) -> None:
        self.items.append(Planned(at, len(self.items), stream_id, event, actor, corr))

    def __len__(self) -> int:
        return len(self.items)

    def sorted(self) -> list[Planned]:
        return sorted(self.items)


def verify(record: Record) -> str:
    """Check one record like an auditor would; return its event type."""
    from services.nominations.events import registry as nominations
    from services.scoring.events import registry as scoring
    from services.survey.events import registry as survey
    from shared.relay import to_record

    envelope = Envelope.model_validate_json(record.value)
    assert to_record(envelope) == record, "not the record the relay would publish"
    meta = envelope.metadata.model_dump(mode="json")
    digest = chain(
        envelope.prev_hash,
        event_bytes(
            global_position=envelope.global_position,
            stream_id=envelope.stream_id,
            stream_version=envelope.stream_version,
            event_type=envelope.event_type,
            schema_version=envelope.schema_version,
            payload=envelope.payload,
            metadata=meta,
        ),
    )
    assert digest == envelope.hash, (
        f"hash mismatch at {envelope.service}:{envelope.global_position}"
    )
    registries = {"nominations": nominations, "scoring": scoring, "survey": survey}
    registries[envelope.service].load(envelope)
    return envelope.event_type


# --- the edition: who applies, who is admitted, nominated, surveyed -----------------------------

SURNAMES = (
    "Сейтқали",
    "Жумабеков",
    "Ахметова",
    "Нурланов",
    "Касымов",
    "Омарова",
    "Бекенов",
    "Садыкова",
    "Тулегенов",
    "Иманбаев",
    "Ким",
    "Петренко",
    "Абдрахманов",
    "Есенова",
)
GIVEN = (
    "Ерлан",
    "Айгуль",
    "Бауыржан",
    "Динара",
    "Нурлан",
    "Гульнара",
    "Асхат",
    "Жанар",
    "Марат",
    "Сауле",
    "Ержан",
    "Алия",
    "Серик",
    "Светлана",
)
PATRONYMICS = ("Болатұлы", "Маратовна", "Серикович", "Нурланқызы", "Амангельдиевич", None)


@dataclass
class Applicant:
    application_id: str
    rural: str
    district: str
    region: str
    name: dict[str, str | None]
    flaw: str | None
    submitted_at: datetime
    decided_at: datetime
    trilingual: bool
    admitted: bool = False
    questionnaire_score: int = 0
    tie_facts: dict[str, Any] = field(default_factory=dict)
    survey_id: str = ""

    @property
    def candidate_id(self) -> str:
        """Scoring registers an admitted application under its own id (its intake)."""
        return self.application_id

    @property
    def full_name(self) -> str:
        return " ".join(
            p for p in (self.name["surname"], self.name["given_name"], self.name["patronymic"]) if p
        )


@dataclass
class Commission:
    commission_id: str
    region: str | None
    members: list[str]
    secretary: str

    @property
    def stream(self) -> str:
        return f"commission-{self.commission_id}"

    @property
    def chair(self) -> str:
        return self.members[0]


@dataclass
class SurveyPlan:
    index: int
    survey_id: str
    nominee: Applicant
    responses: int = 0
    later_flags: int = 0
    seed: int = 0
    result: Any = None


@dataclass
class Edition:
    events: int
    seed: int
    edition_id: str
    applicants: list[Applicant]
    commissions: dict[str, Commission]
    republican: Commission
    nominees: list[Applicant] = field(default_factory=list)
    surveys: list[SurveyPlan] = field(default_factory=list)
    scoring_rules: Any = None  # the announcement's ``rules.scoring``, as scoring reads them
    deadlines: dict[str, datetime] = field(default_factory=dict)  # the calendar scoring keeps


def almaty(day: date, hour: float) -> datetime:
    from services.nominations.domain.values import ALMATY

    return datetime.combine(day, datetime.min.time(), ALMATY) + timedelta(hours=hour)


def draw_edition(events: int, seed: int) -> Edition:
    """The 2020 edition scaled to ``events``: one application per 1,000 events (at most one
    per rural district of the KATO classifier), commissions of 9 in every region concerned."""
    from shared.territory import Level, load_territory

    rng = random.Random(seed)
    territory = load_territory()
    rurals = sorted(u.kato for u in territory.of_level(Level.rural_district))
    count = max(12, min(len(rurals), round(events / 1000)))
    applicants = []
    for kato in sorted(rng.sample(rurals, count)):
        flaw = rng.choices(
            (None, "short_term", "sanction", "missing_document", "withdrawn"), (88, 4, 2, 4, 2)
        )[0]
        submitted = almaty(date(2020, 5, 30), rng.uniform(2, 21 * 24 - 6))
        applicants.append(
            Applicant(
                application_id=new_uuid(rng),
                rural=kato,
                district=territory.district_of(kato).kato,
                region=territory.region_of(kato).kato,
                name={
                    "surname": rng.choice(SURNAMES),
                    "given_name": rng.choice(GIVEN),
                    "patronymic": rng.choice(PATRONYMICS),
                },
                flaw=flaw,
                submitted_at=submitted,
                # the window runs to the end of Monday 22 June (20 June is a Saturday)
                decided_at=almaty(date(2020, 6, 23), rng.uniform(9, 7 * 24 + 8)),
                trilingual=rng.random() < 0.3,
            )
        )

    def commission(region: str | None) -> Commission:
        tag = region or "republic"
        return Commission(
            new_uuid(rng), region, [f"member-{tag}-{i}" for i in range(1, 10)], f"secretary-{tag}"
        )

    regions = sorted({a.region for a in applicants})
    return Edition(
        events,
        seed,
        new_uuid(rng),
        applicants,
        {r: commission(r) for r in regions},
        commission(None),
    )


# --- nominations: the real domain decides every event ------------------------------------------


def questionnaire(app: Applicant, rng: random.Random) -> Any:
    from services.nominations.domain.questionnaire import Questionnaire
    from services.nominations.domain.tenure import almaty_day, months_before

    activity = [{"title": "Форум сельских акимов", "year": 2019}]
    languages = [{"language": "state", "level": "fluent"}]
    if app.trilingual:
        languages += [
            {"language": "russian", "level": "fluent"},
            {"language": "english", "level": "fluent"},
        ]
    data: dict[str, Any] = {
        "nominator": rng.choice(
            [{"kind": "self_nomination"}, {"kind": "local_executive_body", "name": "Аким района"}]
        ),
        "akim": app.name,
        "position": "аким сельского округа",
        "rural_district_kato": app.rural,
        "statement": {
            "agrees_to_terms": True,
            "consents_to_personal_data": True,
            "signed_on": app.submitted_at.date().isoformat(),
        },
        "civil_service": {"years": rng.randint(1, 25), "months": rng.randint(0, 11)},
        "appointed_akim_on": months_before(
            almaty_day(app.submitted_at), 6 if app.flaw == "short_term" else rng.randint(12, 120)
        ).isoformat(),
        "languages": languages,
        "awards": [{"kind": "departmental", "title": "Грамота"}] if rng.random() < 0.4 else [],
        "education": [
            {
                "institution": "КазНАУ",
                "graduated_in": rng.randint(1990, 2015),
                "speciality": "агроном",
                "level": "higher",
            }
        ],
        "seminars": activity if rng.random() < 0.6 else [],
        "projects": [{"title": "Ауыл — ел бесігі", "role": "implemented"}]
        if rng.random() < 0.3
        else [],
        "implements_complex_projects": rng.random() < 0.2,
        "indicators": {
            "as_of": "2020-01-01",
            "investment_tenge": rng.randint(10**6, 10**9),
            "jobs_created": rng.randint(0, 200),
            "agricultural_output_tenge": rng.randint(10**7, 10**10),
            "migration": {"arrived": rng.randint(0, 300), "departed": rng.randint(0, 300)},
            "registered_offences": rng.randint(0, 40),
        },
    }
    if app.flaw == "sanction":
        data["sanctions"] = [{"kind": "disciplinary", "imposed_on": "2019-11-02", "lifted": False}]
    return Questionnaire.model_validate(data)


MEDIA = {"project_video": "video/mp4", "project_presentation": "application/pdf"}
SIZES = {
    "project_video": (20_000_000, 500_000_000),
    "project_presentation": (1_000_000, 50_000_000),
}


def nominations(ed: Edition) -> Timeline:
    """The edition announced, every application's life, one deadline extended."""
    from services.nominations.domain import edition
    from services.nominations.domain.calendar import CalendarStep
    from services.nominations.domain.edition import ExtendDeadline
    from services.nominations.domain.figures import default_edition_2020

    rng, line, organiser = (
        random.Random(ed.seed + 1),
        Timeline(),
        Actor(id="agency-1", role="organiser"),
    )
    stream = f"edition-{ed.edition_id}"
    announced = edition.announce(None, default_edition_2020(ed.edition_id), organiser)
    state = edition.fold(announced)
    assert state is not None
    line.add(state.calendar.announced_at, stream, announced[0], organiser)
    for app in ed.applicants:
        application_life(app, state, rng, line)
    extend = ExtendDeadline(
        edition_id=ed.edition_id,
        step=CalendarStep.defences,
        new_deadline=state.calendar.defences_deadline + 5 * DAY,
        reason="перенос защит",
    )
    at = almaty(date(2020, 8, 20), 11)
    [extended] = edition.extend_deadline(state, extend, organiser)
    line.add(at, stream, extended, organiser)
    scoring_reads(ed, edition.evolve(state, extended))
    return line


def scoring_reads(ed: Edition, state: Any) -> None:
    """What scoring's intake keeps of the edition: its rules and the deadlines that bind it."""
    from services.scoring.domain import ScoringRules
    from services.scoring.intake import CALENDAR

    ed.scoring_rules = ScoringRules.model_validate(state.rules.scoring)
    ed.deadlines = {step: getattr(state.calendar, key) for step, key in CALENDAR.items()}


class Life:
    """One application's stream: its events go to the timeline and fold into its state."""

    def __init__(self, line: Timeline, stream: str) -> None:
        from services.nominations.domain.application_state import ApplicationState

        self.line, self.stream = line, stream
        self.state: ApplicationState | None = None

    def take(self, events: list[Event], actor: Actor, when: datetime) -> list[Event]:
        from services.nominations.domain import application_state

        for event in events:
            self.line.add(when, self.stream, event, actor)
            self.state = application_state.evolve(self.state, event)
        return events

    @property
    def current(self) -> Any:
        assert self.state is not None
        return self.state


def application_life(app: Applicant, edition: Any, rng: random.Random, line: Timeline) -> None:
    """Submitted, documents attached, withdrawn or decided; if admitted, scored and confirmed."""
    from services.nominations.domain.application import (
        AttachDocument,
        SubmitApplication,
        WithdrawApplication,
        attach_document,
        submit,
        withdraw,
    )
    from services.nominations.domain.eligibility import decide_admission
    from services.nominations.domain.questionnaire_score import confirm_score, score_questionnaire
    from services.nominations.events import ApplicationAdmitted, QuestionnaireScored
    from services.scoring.intake import tie_facts
    from shared.territory import load_territory

    nominator = Actor(id=f"nominator-{app.rural}", role="nominator", region=app.region)
    secretary = Actor(id=f"secretary-{app.region}", role="secretary", region=app.region)
    life, at = Life(line, f"application-{app.application_id}"), app.submitted_at
    command = SubmitApplication(
        application_id=app.application_id,
        edition_id=edition.edition_id,
        questionnaire=questionnaire(app, rng),
    )
    territory = load_territory()
    submitted = life.take(
        submit(edition, command, live_application_id=None, territory=territory, at=at),
        nominator,
        at,
    )
    app.tie_facts = tie_facts(submitted[0].to_payload()["questionnaire"])  # as scoring reads
    kinds = list(edition.nomination_rules.required_document_kinds)
    if app.flaw == "missing_document":
        kinds.remove(rng.choice(kinds))
    if rng.random() < 0.1:
        kinds.append(kinds[-1])  # a document replaced by a later one of the same kind
    for n, kind in enumerate(kinds, start=1):
        at = app.submitted_at + timedelta(minutes=7 * n)
        video = kind == "project_video"
        doc = AttachDocument(
            application_id=app.application_id,
            kind=kind,
            sha256=rng.randbytes(32).hex(),
            size_bytes=rng.randint(*SIZES.get(kind, (50_000, 5_000_000))),
            media_type=MEDIA.get(kind, "application/pdf"),
            filename=f"{kind}.bin",
            duration_seconds=round(rng.uniform(60, 299), 2) if video else None,
        )
        life.take(attach_document(life.current, edition, doc, at), nominator, at)
    if app.flaw == "withdrawn":
        at += DAY
        why = WithdrawApplication(application_id=app.application_id, reason="переезд")
        life.take(withdraw(life.current, why, at), nominator, at)
        return
    decision = life.take(
        decide_admission(life.current, edition, secretary, app.decided_at),
        secretary,
        app.decided_at,
    )
    app.admitted = isinstance(decision[0], ApplicationAdmitted)
    if app.admitted:
        at = app.decided_at + timedelta(hours=1)
        scored = life.take(
            score_questionnaire(life.current, edition, at), Actor(id="system", role="system"), at
        )
        assert isinstance(scored[0], QuestionnaireScored)
        app.questionnaire_score = scored[0].score.total
        at = app.decided_at + timedelta(hours=2)
        life.take(confirm_score(life.current, edition, secretary, at), secretary, at)


# --- scoring: the real domain decides every event, one aggregate per commission ----------------


def signing_key(seed: int, person: str) -> Any:
    """A person's Ed25519 key, the same on every run of the same seed."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    return Ed25519PrivateKey.from_private_bytes(
        hashlib.sha256(f"{seed}:{person}".encode()).digest()
    )


@dataclass(order=True)
class Step:
    """A command planned at a sitting; a sitting's steps are decided in the order of ``at``."""

    at: datetime
    seq: int
    command: Any = field(compare=False)
    actor: Actor = field(compare=False)


class Scoring:
    """Builds the scoring service's timeline: every event is decided by the scoring domain
    (``services.scoring.domain.decide``) on the state of its commission, folded with
    ``evolve``, and stamped with the bench's clock. One stream per commission."""

    def __init__(self, ed: Edition, results: dict[str, Any] | None) -> None:
        from services.scoring.domain import initial

        self.ed, self.results = ed, results
        self.rng = random.Random(ed.seed + 2)  # the same draws whatever ``results`` holds
        self.line = Timeline()
        everyone = [*ed.commissions.values(), ed.republican]
        self.states = {c.commission_id: initial(ed.scoring_rules) for c in everyone}
        self.clocks = {c.commission_id: datetime.min.replace(tzinfo=UTC) for c in everyone}
        self.saved = (self.states, self.clocks)  # as stage I leaves them (``after_survey``)
        rubrics = initial(ed.scoring_rules).rubrics
        self.keys = {
            kind: [c.key for c in rubrics.of(kind).entered]  # what a member enters
            for kind in ("project", "essay", "interview", "stage2")
        }

    def take(self, c: Commission, command: Any, actor: Actor, at: datetime) -> list[Event]:
        """Decide ``command`` on the commission as ``handlers.act`` does (deadlines included),
        add its events to the timeline at ``at`` and fold them into the commission."""
        from services.scoring.domain import decide, evolve
        from services.scoring.domain.deadlines import ensure_in_time

        state = self.states[c.commission_id]
        at = max(at, self.clocks[c.commission_id])  # a stream's log order is its decide order
        events = decide(state, command)
        ensure_in_time(state, events, self.ed.deadlines, at)
        for event in events:
            self.line.add(at, c.stream, event, actor)
            state = evolve(state, event)
        self.states[c.commission_id], self.clocks[c.commission_id] = state, at
        return events

    def run(self, c: Commission, steps: list[Step]) -> None:
        for step in sorted(steps):
            self.take(c, step.command, step.actor, step.at)

    def person(self, person_id: str, position: str | None = None) -> Any:
        from services.scoring.events import Person

        name = f"{self.rng.choice(GIVEN)} {self.rng.choice(SURNAMES)}"
        return Person(person_id=person_id, name=name, position=position)

    def form(self, c: Commission, at: datetime) -> None:
        from services.scoring.domain.commands import FormCommission

        regional = c.region is not None
        chair = "head_of_regional_department" if regional else "agency_deputy_chairperson"
        secretary = "regional_department_employee" if regional else "agency_employee"
        command = FormCommission(
            commission_id=c.commission_id,
            edition_id=self.ed.edition_id,
            level="regional" if regional else "republican",
            region=c.region,
            members=tuple(self.person(m, chair if m == c.chair else None) for m in c.members),
            chair_id=c.chair,
            secretary=self.person(c.secretary, secretary),
        )
        self.take(c, command, Actor(id="agency-1", role="organiser", region=c.region), at)

    def secretary(self, c: Commission) -> Actor:
        return Actor(id=c.secretary, role="secretary", region=c.region)

    def member(self, c: Commission, member: str) -> Actor:
        return Actor(id=member, role="chair" if member == c.chair else "member", region=c.region)

    def sitting(
        self, c: Commission, stage: Stage, purpose: str, at: datetime
    ) -> tuple[str, list[str]]:
        """Open a sitting and record who came; late arrivals until it is quorate."""
        from services.scoring.domain.commands import OpenSitting, RecordAttendance
        from services.scoring.events import AttendanceRecorded

        sitting_id, secretary = new_uuid(self.rng), self.secretary(c)
        present = [m for m in c.members if m == c.chair or self.rng.random() < 0.9]
        self.take(c, OpenSitting(sitting_id, stage, purpose, at), secretary, at)
        while True:
            [attendance] = self.take(c, RecordAttendance(sitting_id, tuple(present)), secretary, at)
            assert isinstance(attendance, AttendanceRecorded)
            if attendance.quorate:
                return sitting_id, list(attendance.present)
            present.append(self.rng.choice(attendance.absent))
            at += timedelta(minutes=20)

    def sheets(
        self,
        c: Commission,
        sitting: str,
        present: list[str],
        kind: SheetKind,
        who: Applicant,
        at: datetime,
        steps: list[Step],
    ) -> None:
        """Plan each present member's sheet for ``who``: a few members recuse, a few correct;
        a member who recused from ``who`` gives no sheet for them at any stage."""
        from services.scoring.domain.commands import CorrectScore, RecordScore, RecuseMember

        board = self.states[c.commission_id].commission
        assert board is not None
        for member in present:
            if (member, who.candidate_id) in board.recusals:
                continue
            actor = self.member(c, member)
            if kind == "project" and self.rng.random() < 0.01:
                recusal = RecuseMember(member, who.candidate_id, "родственник кандидата")
                steps.append(Step(at, len(steps), recusal, actor))
                continue
            scores = {key: self.rng.randint(4, 10) for key in self.keys[kind]}
            sheet_id = new_uuid(self.rng)
            sheet = RecordScore(sheet_id, sitting, member, who.candidate_id, kind, scores)
            steps.append(Step(at, len(steps), sheet, actor))
            if self.rng.random() < 0.005:
                scores = {**scores, self.keys[kind][0]: self.rng.randint(4, 10)}
                fix = CorrectScore(new_uuid(self.rng), sheet_id, sitting, member, "описка", scores)
                steps.append(Step(at + timedelta(minutes=5), len(steps), fix, actor))
            at += timedelta(seconds=self.rng.randint(30, 300))

    def casting_vote(self, c: Commission, sitting: str, ranking: Any, at: datetime) -> list[Event]:
        """A tie the ranking left to the chair: the chair picks the first of the tied."""
        from services.scoring.domain.commands import CastCastingVote

        if ranking.status != "pending_casting_vote":
            return []
        vote = CastCastingVote(
            sitting_id=sitting,
            chair_id=c.chair,
            purpose=ranking.purpose,
            chosen=ranking.tied[: ranking.seats_left],
            scope=ranking.scope,
        )
        return self.take(c, vote, self.member(c, c.chair), at)

    def close(self, c: Commission, stage: Stage, sitting: str, at: datetime) -> None:
        """Close the stage; the chair and the secretary sign the sitting's protocol."""
        from services.scoring.domain import protocol
        from services.scoring.domain.commands import CloseStage, SignProtocol
        from services.scoring.domain.signatures import public_key_text, sign_digest
        from services.scoring.events import Signature

        self.take(c, CloseStage(stage, at), self.secretary(c), at)
        at += timedelta(hours=1)
        digest = protocol.digest(protocol.document(self.states[c.commission_id], sitting))
        signers: tuple[tuple[Role, str], ...] = (("chair", c.chair), ("secretary", c.secretary))
        signatures = tuple(
            Signature(
                role=role,
                person_id=person,
                public_key=public_key_text(key := signing_key(self.ed.seed, person)),
                signature=sign_digest(key, digest),
            )
            for role, person in signers
        )
        signing = SignProtocol(sitting, signatures, at)
        self.take(c, signing, Actor(id=c.chair, role="chair", region=c.region), at)

    def stage_one(self) -> None:
        """Commissions, candidates, project sheets, the nominations of every district."""
        from services.scoring.domain.commands import NominateDistrict
        from services.scoring.events import CandidateNominated, RankingComputed
        from services.scoring.intake import INTAKE_ACTOR, registration

        ed = self.ed
        for c in [*ed.commissions.values(), ed.republican]:
            self.form(c, almaty(date(2020, 6, 15), 10))
        admitted = [a for a in ed.applicants if a.admitted]
        complaints = {a.application_id: self.rng.choice((0, 0, 0, 1, 2)) for a in admitted}
        # scoring's intake registers a candidate once the questionnaire score is confirmed
        for app in sorted(admitted, key=lambda a: a.decided_at):
            doc = {
                "application_id": app.application_id,
                "edition_id": ed.edition_id,
                "name": app.full_name,
                "rural_district": app.rural,
                "district": app.district,
                "region": app.region,
                "score": app.questionnaire_score,
                **app.tie_facts,
                "justified_complaints": complaints[app.application_id],
                "complaints_source": "akimat register of appeals",
            }
            at = app.decided_at + timedelta(hours=2, minutes=1)
            self.take(ed.commissions[app.region], registration(doc), INTAKE_ACTOR, at)
        by_id = {a.candidate_id: a for a in admitted}
        for region, c in ed.commissions.items():
            candidates = [a for a in admitted if a.region == region]
            if not candidates:
                continue
            at = almaty(date(2020, 6, 30), 11)
            sitting, present = self.sitting(c, "stage1_selection", "nomination", at)
            steps: list[Step] = []
            for app in candidates:
                self.sheets(c, sitting, present, "project", app, at + timedelta(hours=1), steps)
            self.run(c, steps)
            at += timedelta(hours=6)
            for district in sorted({a.district for a in candidates}):
                decided = self.take(c, NominateDistrict(sitting, district), self.secretary(c), at)
                assert isinstance(decided[0], RankingComputed)
                decided += self.casting_vote(c, sitting, decided[0], at)
                ed.nominees += [
                    by_id[e.candidate_id] for e in decided if isinstance(e, CandidateNominated)
                ]
            self.close(c, "stage1_selection", sitting, at + timedelta(hours=1))
        self.saved = (dict(self.states), dict(self.clocks))  # the surveys come in between

    def stage_one_interviews(self) -> list[Applicant]:
        """Assessments, the survey results, essays and interviews: one finalist per region."""
        from services.scoring.domain import evolve
        from services.scoring.domain.commands import (
            RankRegion,
            ReceiveSurveyResult,
            RecordEthicsResult,
            RecordFeedbackAssessment,
            SelectFinalist,
        )
        from services.scoring.events import FinalistSelected, RankingComputed
        from services.scoring.intake import INTAKE_ACTOR

        ed, finalists = self.ed, []
        republic = ed.republican.commission_id
        for region, c in ed.commissions.items():
            nominees = [a for a in ed.nominees if a.region == region]
            if not nominees:
                continue
            at = almaty(date(2020, 7, 21), 10)
            ethics = Actor(id=f"ethics-{region}", role="ethics", region=region)
            for app in nominees:
                score, feedback = self.rng.randint(5, 10), self.rng.randint(4, 10)
                found = RecordEthicsResult(app.candidate_id, f"ethics-{region}", score)
                self.take(c, found, ethics, at)
                assessed = RecordFeedbackAssessment(app.candidate_id, c.secretary, feedback)
                self.take(c, assessed, self.secretary(c), at)
            for app in nominees:  # the survey closed: scoring's intake passes its result on
                result = self.survey_result(app)
                received = ReceiveSurveyResult(
                    candidate_id=app.candidate_id,
                    survey_id=app.survey_id,
                    rubric_id="annex5-2020",
                    responses=result.responses,
                    mean_per_criterion=result.means,
                    mean_total=result.mean_total,
                )
                self.take(c, received, INTAKE_ACTOR, at + timedelta(hours=1))
            at = almaty(date(2020, 7, 27), 10)
            sitting, present = self.sitting(c, "stage1_interview", "regional", at)
            steps: list[Step] = []
            for app in nominees:
                self.sheets(c, sitting, present, "essay", app, at + timedelta(hours=1), steps)
                self.sheets(c, sitting, present, "interview", app, at + timedelta(hours=3), steps)
            self.run(c, steps)
            at += timedelta(hours=8)
            [ranking] = self.take(c, RankRegion(sitting), self.secretary(c), at)
            assert isinstance(ranking, RankingComputed)
            top = ranking.entries[0].candidate_id  # the commission follows its ranking
            chair = Actor(id=c.chair, role="chair", region=region)
            [picked] = self.take(c, SelectFinalist(sitting, top), chair, at)
            assert isinstance(picked, FinalistSelected)
            # the Republican commission folds every region's FinalistSelected (its repository)
            self.states[republic] = evolve(self.states[republic], picked)
            self.close(c, "stage1_interview", sitting, at + timedelta(hours=1))
            finalists.append(next(a for a in nominees if a.candidate_id == top))
        return finalists

    def survey_result(self, app: Applicant) -> Any:
        from services.survey.domain.results import Tally, result_of

        if self.results is None:  # first pass, to count the events: any result will do
            return result_of(Tally(count=1, sums=(5,) * 16))
        return self.results[app.survey_id]

    def stage_two(self, finalists: list[Applicant]) -> None:
        """The republican defences and the three winners."""
        from services.scoring.domain.commands import DecideWinners, RegisterDefence
        from services.scoring.events import RankingComputed

        c = self.ed.republican
        for app in finalists:
            defence = RegisterDefence(
                candidate_id=app.candidate_id,
                title="Развитие сельского округа",
                budget_tenge=self.rng.randint(10**6, 5 * 10**6),
                talk_seconds=self.rng.randint(180, 300),
                mode=self.rng.choice(("in_person", "video")),
            )
            self.take(c, defence, self.secretary(c), almaty(date(2020, 8, 17), 10))
        at = almaty(date(2020, 9, 15), 10)
        sitting, present = self.sitting(c, "stage2", "winners", at)
        steps: list[Step] = []
        for app in finalists:
            self.sheets(c, sitting, present, "stage2", app, at + timedelta(hours=1), steps)
        self.run(c, steps)
        at += timedelta(hours=8)
        decided = self.take(c, DecideWinners(sitting), Actor(id=c.chair, role="chair"), at)
        assert isinstance(decided[0], RankingComputed)
        self.casting_vote(c, sitting, decided[0], at)
        self.close(c, "stage2", sitting, at + timedelta(hours=1))

    def after_survey(self) -> Timeline:
        """Everything after the surveys; the same draws whether ``results`` is known or not."""
        self.rng, self.line = random.Random(self.ed.seed + 3), Timeline()
        self.states, self.clocks = dict(self.saved[0]), dict(self.saved[1])
        self.stage_two(self.stage_one_interviews())
        return self.line


# --- survey: thousands of residents' responses per nominee's survey ------------------------------

WEIGHTS = (1, 1, 1, 2, 3, 5, 8, 12, 16, 20, 18)  # residents rate generously
SURVEY_OPENS = datetime(2020, 7, 2, 3, 0, tzinfo=UTC)
SURVEY_CLOSES = datetime(2020, 7, 20, 18, 0, tzinfo=UTC)


def draw_response(rng: random.Random) -> tuple[str, list[int], str, tuple[str, ...]]:
    response_id = new_uuid(rng)
    answers = rng.choices(range(11), WEIGHTS, k=16)
    roll = rng.random()
    channel = "web" if roll < 0.85 else "paper" if roll < 0.97 else "api"
    reasons: tuple[str, ...] = ()
    if rng.random() < 0.01:
        reasons = (rng.choice(("burst_from_source", "identical_answers_in_burst")),)
    return response_id, answers, channel, reasons


def plan_surveys(ed: Edition, budget: int, rng: random.Random) -> None:
    """Split ``budget`` events (responses and later flags) over the nominees' surveys and
    compute each survey's final result (a first pass over the same random draws)."""
    from services.survey.domain.results import Tally, result_of

    weights = [rng.uniform(0.5, 1.5) for _ in ed.surveys]
    share = [int(budget * w / sum(weights)) for w in weights]
    share[0] += budget - sum(share)
    for plan, n in zip(ed.surveys, share, strict=True):
        plan.later_flags = n // 500
        plan.responses, plan.seed = n - plan.later_flags, rng.getrandbits(64)
        draws, sums, flagged = random.Random(plan.seed), [0] * 16, 0
        for _ in range(plan.responses):
            _, answers, _, reasons = draw_response(draws)
            sums = [s + a for s, a in zip(sums, answers, strict=True)]
            flagged += bool(reasons)
        ids = frozenset(UUID(int=i) for i in range(flagged + plan.later_flags))  # only the count
        plan.result = result_of(Tally(count=plan.responses, sums=tuple(sums), flagged=ids))
        assert plan.responses > 0, "too few events for this many surveys"


def survey_records(ed: Edition, log: Log, rng: random.Random) -> Iterator[Record]:
    """SurveyOpened and the roll for every survey, the responses of all surveys interleaved in
    time (a few flagged after the fact), then SurveyClosed with the result."""
    from services.survey.events import (
        ResidentsRollUploaded,
        ResponseFlagged,
        ResponseRecorded,
        SurveyClosed,
        SurveyOpened,
    )

    for plan in ed.surveys:
        app, stream = plan.nominee, f"survey-{plan.survey_id}"
        at = SURVEY_OPENS - timedelta(hours=2)
        organiser = Actor(id="agency-1", role="organiser", region=app.region)
        yield log.append(
            stream,
            SurveyOpened(
                survey_id=plan.survey_id,
                edition_id=ed.edition_id,
                candidate_id=app.candidate_id,
                settlement_kato=app.rural,
                region_kato=app.region,
                opens_at=SURVEY_OPENS,
                closes_at=SURVEY_CLOSES,
                rubric_id="annex5-2020",
            ),
            organiser,
            at,
        )
        yield log.append(
            stream,
            ResidentsRollUploaded(
                survey_id=plan.survey_id,
                count=plan.responses * 3 + rng.randint(0, 999),
                sha256=rng.randbytes(32).hex(),
            ),
            Actor(id="operator-1", role="operator"),
            at,
        )
    schedule = array("I", (p.index for p in ed.surveys for _ in range(p.responses + p.later_flags)))
    rng.shuffle(schedule)
    step = (SURVEY_CLOSES - SURVEY_OPENS) / max(len(schedule), 1)
    draws = [random.Random(p.seed) for p in ed.surveys]
    done, recent = [0] * len(ed.surveys), [[] for _ in ed.surveys]  # type: list[int], list[list[str]]
    imports = [new_uuid(rng) for _ in ed.surveys]
    resident = Actor(id="resident", role="resident")  # as the survey records it
    for i, s in enumerate(schedule):
        plan, at = ed.surveys[s], SURVEY_OPENS + step * i
        stream = f"survey-{plan.survey_id}"
        if done[s] < plan.responses:
            response_id, answers, channel, reasons = draw_response(draws[s])
            key = hmac.new(PEPPER, f"{s}:{done[s]}".encode(), hashlib.sha256).hexdigest()
            event: Event = ResponseRecorded(
                survey_id=plan.survey_id,
                response_id=response_id,
                resident=key,
                channel=channel,
                answers=answers,
                total=sum(answers),
                flagged=bool(reasons),
                flag_reasons=reasons,
                import_id=imports[s] if channel == "paper" else None,
            )
            if not reasons and len(recent[s]) < 64:
                recent[s].append(response_id)
            yield log.append(stream, event, resident, at)
        else:  # flag an earlier unflagged response for review
            target = recent[s].pop() if recent[s] else new_uuid(rng)
            yield log.append(
                stream,
                ResponseFlagged(
                    survey_id=plan.survey_id,
                    response_id=target,
                    reasons=("identical_answers_in_burst",),
                ),
                Actor(id="system", role="system"),
                at,
            )
        done[s] += 1
    for plan in ed.surveys:
        stream = f"survey-{plan.survey_id}"
        yield log.append(
            stream,
            SurveyClosed(
                survey_id=plan.survey_id,
                candidate_id=plan.nominee.candidate_id,
                edition_id=ed.edition_id,
                rubric_id="annex5-2020",
                closed_at=SURVEY_CLOSES,
                reason="deadline",
                result=plan.result,
            ),
            Actor(id="system", role="system"),
            SURVEY_CLOSES,
        )


# --- the edition as Kafka records, in log order -------------------------------------------------


@dataclass
class Generated:
    events: int
    records: Iterator[tuple[str, Record]]
    summary: dict[str, int]


def generate(events: int, seed: int) -> Generated:
    """Plan the edition, size the surveys so that there are exactly ``events`` events, and
    return the records lazily (the responses are drawn while they are sent)."""
    ed = draw_edition(events, seed)
    nom = nominations(ed)
    scoring = Scoring(ed, None)
    scoring.stage_one()
    before, rng = scoring.line, random.Random(seed + 4)
    ed.surveys = [SurveyPlan(i, new_uuid(rng), app) for i, app in enumerate(ed.nominees)]
    for plan in ed.surveys:
        plan.nominee.survey_id = plan.survey_id
    later = len(scoring.after_survey())
    fixed = len(nom) + len(before) + later + 3 * len(ed.surveys)
    if events - fixed < 2 * len(ed.surveys):
        raise SystemExit(f"--events {events} is too few: this edition has {fixed} other events")
    plan_surveys(ed, events - fixed, rng)
    scoring.results = {p.survey_id: p.result for p in ed.surveys}
    after = scoring.after_survey()
    assert len(after) == later, "the scoring timeline changed between its two passes"

    def records() -> Iterator[tuple[str, Record]]:
        logs = {s: Log(s, random.Random(seed + 10 + i)) for i, s in enumerate(SERVICES)}
        for service, line in (("nominations", nom), ("scoring", before)):
            for p in line.sorted():
                yield (
                    service,
                    logs[service].append(p.stream_id, p.event, p.actor, p.at, p.correlation_id),
                )
        for record in survey_records(ed, logs["survey"], rng):
            yield "survey", record
        for p in after.sorted():
            yield "scoring", logs["scoring"].append(p.stream_id, p.event, p.actor, p.at)

    summary = {
        "applications": len(ed.applicants),
        "admitted": sum(a.admitted for a in ed.applicants),
        "regions": len(ed.commissions),
        "nominees": len(ed.nominees),
        "surveys": len(ed.surveys),
        "responses": sum(p.responses for p in ed.surveys),
    }
    return Generated(events, records(), summary)


# --- filling the topics and the live read models (a child process: its memory goes with it) ----


class Sink:
    """Sends records in per-partition batches (partitioned by key like the relay's producer)."""

    def __init__(self, bootstrap: str, prefix: str, compression: str | None) -> None:
        from aiokafka import AIOKafkaProducer
        from aiokafka.partitioner import DefaultPartitioner

        from shared.kafka import client_kwargs

        self.prefix, self.partitioner = prefix, DefaultPartitioner()
        self.producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap,
            acks="all",
            compression_type=compression,
            max_batch_size=512 * 1024,
            linger_ms=5,
            max_request_size=8 * 1024 * 1024,
            **client_kwargs(),
        )
        self.partitions: dict[str, list[int]] = {}
        self.batches: dict[tuple[str, int], Any] = {}
        self.inflight: list[asyncio.Future[Any]] = []
        self.bytes = 0

    async def start(self) -> None:
        await self.producer.start()
        for service in SERVICES:
            topic = topic_for(service, self.prefix)
            self.partitions[topic] = sorted(await self.producer.partitions_for(topic))

    async def send(self, service: str, record: Record) -> None:
        topic = topic_for(service, self.prefix)
        parts = self.partitions[topic]
        where = (topic, self.partitioner(record.key, parts, parts))
        headers = [(k, v.encode()) for k, v in record.headers.items()]
        batch = self.batches.get(where) or self.batches.setdefault(
            where, self.producer.create_batch()
        )
        if (
            batch.append(timestamp=None, key=record.key, value=record.value, headers=headers)
            is None
        ):
            await self._ship(where)
            batch = self.batches[where] = self.producer.create_batch()
            batch.append(timestamp=None, key=record.key, value=record.value, headers=headers)
        self.bytes += len(record.value)

    async def _ship(self, where: tuple[str, int]) -> None:
        batch = self.batches.pop(where)
        self.inflight.append(await self.producer.send_batch(batch, where[0], partition=where[1]))
        if len(self.inflight) >= 32:
            await asyncio.gather(*self.inflight)
            self.inflight.clear()

    async def close(self) -> None:
        for where in list(self.batches):
            await self._ship(where)
        await asyncio.gather(*self.inflight)
        await self.producer.stop()


class FillSource:
    """The records as they are sent, decoded as the replay decodes them: the live fold's input
    (``services.reporting.replay.EventSource``)."""

    def __init__(self, generated: Generated, sink: Sink, check_every: int) -> None:
        self.generated, self.sink, self.check_every = generated, sink, check_every
        self.checked = 0
        self.types: Counter[str] = Counter()

    async def total(self) -> int:
        return self.generated.events

    async def batches(self) -> AsyncIterator[list[dict[str, Any]]]:
        chunk: list[bytes] = []
        for n, (service, record) in enumerate(self.generated.records):
            await self.sink.send(service, record)
            if n % self.check_every == 0 or n < 200:
                verify(record)
                self.checked += 1
            chunk.append(record.value)
            if len(chunk) == 5000:
                yield self._decode(chunk)
                chunk = []
        await self.sink.close()
        if chunk:
            yield self._decode(chunk)

    def _decode(self, values: list[bytes]) -> list[dict[str, Any]]:
        docs = [json.loads(v) for v in values]
        self.types.update(d["event_type"] for d in docs)
        return docs


def fill(params: dict[str, Any]) -> dict[str, Any]:
    try:
        return asyncio.run(_fill(**params))
    except BaseException as exc:  # domain errors do not unpickle: hand the traceback back
        import traceback

        raise RuntimeError("".join(traceback.format_exception(exc))) from None


async def _fill(
    events: int,
    seed: int,
    prefix: str,
    bootstrap: str,
    reporting_url: str,
    compression: str | None,
    check_every: int,
) -> dict[str, Any]:
    import asyncpg

    from bench.common import asyncpg_dsn
    from services.registry import readers
    from services.reporting.projections import audit
    from services.reporting.replay import AuditTrail, fold, gc_paused, state_rows

    started = time.perf_counter()
    generated = generate(events, seed)
    planned = time.perf_counter() - started
    say(f"fill: edition planned in {planned:.1f} s: {generated.summary}")
    sink = Sink(bootstrap, prefix, compression)
    await sink.start()
    source, ticker = FillSource(generated, sink, check_every), Ticker("fill", events)
    chunks: list[bytes] = []

    async def keep(data: bytes) -> None:
        chunks.append(data)

    trail = AuditTrail(write=keep)  # the live audit_trail rows, as the live projector writes
    with gc_paused():  # each event as its newest version, as the live consumer sees it
        state, folded, dups = await fold(
            source, lambda done, total, rate: ticker.tick(done), trail, readers()
        )
    ticker.tick(folded + dups, force=True)
    sent = time.perf_counter() - started
    rows = state_rows(state)
    del state
    conn = await asyncpg.connect(asyncpg_dsn(reporting_url))

    async def lines() -> AsyncIterator[bytes]:
        for chunk in chunks:
            yield chunk

    try:
        await conn.copy_records_to_table("documents", records=rows, columns=("model", "key", "doc"))
        await conn.copy_to_table(
            "audit_trail", source=lines(), columns=audit.COLUMNS, format="text"
        )
    finally:
        await conn.close()
    return {
        "events": folded,
        "duplicates": dups,
        "plan_s": planned,
        "send_and_fold_s": sent - planned,
        "live_write_s": time.perf_counter() - started - sent,
        "live_rows": len(rows) + trail.digest.count,
        "value_bytes": sink.bytes,
        "checked": source.checked,
        "summary": generated.summary,
        "types": dict(source.types.most_common()),
        "peak_rss_mb": peak_rss_mb(),
    }


class TopicsSource:
    """The kept topics read back and decoded with ``json.loads``, as the fill decodes them:
    the input of the live read models made again for a kept edition."""

    def __init__(self, bootstrap: str, topics: list[str]) -> None:
        from services.reporting.adapters.kafka_source import KafkaSource

        self.kafka = KafkaSource(bootstrap, topics)

    async def total(self) -> int:
        return await self.kafka.total()

    async def batches(self) -> AsyncIterator[list[dict[str, Any]]]:
        import services.reporting.adapters.kafka_source as adapter

        plain = adapter.decode
        adapter.decode = lambda values: [json.loads(v) for v in values]
        try:
            async for batch in self.kafka.batches():
                yield batch
        finally:
            adapter.decode = plain


def relive(params: dict[str, Any]) -> dict[str, Any]:
    return asyncio.run(_relive(**params))


async def _relive(prefix: str, bootstrap: str, reporting_url: str) -> dict[str, Any]:
    """The live read models of a kept edition made again from its topics by the code of now
    (json.loads, one process, the fill's fold): a projection changed since the fill would
    otherwise make the replay differ from tables folded by older code. Each event is folded
    as its newest version, as the live consumer (and ``uzdik replay``) see it: without the
    upcasters, an edition kept before an event's new version (``SittingOpened`` v3) made
    ``protocols`` differ from the replay's."""
    import asyncpg

    from bench.common import asyncpg_dsn
    from services.registry import readers
    from services.reporting.projections import audit
    from services.reporting.replay import AuditTrail, fold, gc_paused, state_rows

    started = time.perf_counter()
    chunks: list[bytes] = []

    async def keep(data: bytes) -> None:
        chunks.append(data)

    topics = [topic_for(s, prefix) for s in SERVICES]
    ticker = Ticker("live read models again", 0)
    trail = AuditTrail(write=keep)
    with gc_paused():
        state, folded, dups = await fold(
            TopicsSource(bootstrap, topics),
            lambda done, total, rate: ticker.tick(done),
            trail,
            readers(),
        )
    rows = state_rows(state)
    del state

    async def lines() -> AsyncIterator[bytes]:
        for chunk in chunks:
            yield chunk

    conn = await asyncpg.connect(asyncpg_dsn(reporting_url))
    try:
        async with conn.transaction():
            await conn.execute("TRUNCATE documents, audit_trail")
            await conn.copy_records_to_table(
                "documents", records=rows, columns=("model", "key", "doc")
            )
            await conn.copy_to_table(
                "audit_trail", source=lines(), columns=audit.COLUMNS, format="text"
            )
    finally:
        await conn.close()
    return {"events": folded, "duplicates": dups, "seconds": time.perf_counter() - started}


# --- the measurements ---------------------------------------------------------------------------


async def reference(
    bootstrap: str,
    topics: list[str],
    max_records: int = 20000,
    decode: bool = True,
    hashed: bool = False,
) -> tuple[int, float]:
    """A plain consumer (no group) reads every partition to its end offset and decodes each
    value with ``json.loads`` (``hashed``: computes its SHA-256 instead, the audit bench's
    reference); the consumer is ``KafkaSource``'s, so only the replay's work differs."""
    from aiokafka import TopicPartition
    from aiokafka.admin import AIOKafkaAdminClient

    from services.reporting.adapters.kafka_source import reading_consumer
    from shared.kafka import client_kwargs

    started = time.perf_counter()
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **client_kwargs())
    await admin.start()
    try:
        described = await admin.describe_topics(topics)
    finally:
        await admin.close()
    parts = [TopicPartition(d["topic"], p["partition"]) for d in described for p in d["partitions"]]
    consumer = reading_consumer(bootstrap)
    await consumer.start()
    try:
        consumer.assign(parts)
        end = await consumer.end_offsets(parts)
        await consumer.seek_to_beginning(*parts)
        remaining, count = {tp for tp in parts if end[tp] > 0}, 0
        while remaining:
            got = await consumer.getmany(timeout_ms=1000, max_records=max_records)
            for tp, records in got.items():
                stop = end[tp]
                for r in records:
                    if r.offset < stop:
                        if hashed:
                            hashlib.sha256(r.value).digest()
                        elif decode:
                            json.loads(r.value)
                        count += 1
                if records and records[-1].offset >= stop - 1:
                    remaining.discard(tp)
    finally:
        await consumer.stop()
    return count, time.perf_counter() - started


def run_replay(prefix: str, bootstrap: str, reporting_url: str) -> dict[str, Any]:
    """``uzdik replay`` as an operator runs it, timed from outside; its JSON line parsed."""
    env = {
        **os.environ,
        "UZDIK_REPORTING_DATABASE_URL": reporting_url,
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "UZDIK_TOPIC_PREFIX": prefix,
    }
    uzdik = Path(sys.executable).parent / "uzdik"
    with tempfile.TemporaryFile() as out:
        started = time.perf_counter()
        proc = subprocess.Popen([str(uzdik), "replay"], stdout=out, env=env, cwd=ROOT)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        lines = out.read().decode().splitlines()
    found = [line for line in lines if line.startswith("{")]
    if not found:
        raise SystemExit(f"uzdik replay printed no report (exit {proc.returncode}): {lines[-5:]}")
    return {
        **json.loads(found[-1]),
        "wall_s": wall,
        "exit": proc.returncode,
        "peak_rss_mb": usage.ru_maxrss / 1024,
    }


# --- setup and teardown ---------------------------------------------------------------------------


async def setup(admin_url: str, dbname: str, url: str, bootstrap: str, topics: list[str]) -> None:
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    from shared.kafka import client_kwargs
    from shared.migrations import upgrade
    from shared.store.eventstore import make_engine

    await create_database(admin_url, dbname)
    engine = make_engine(url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **client_kwargs())
    await admin.start()
    try:
        await admin.create_topics(
            [NewTopic(t, num_partitions=3, replication_factor=1) for t in topics]
        )
    finally:
        await admin.close()


async def teardown(admin_url: str, dbname: str, bootstrap: str, topics: list[str]) -> None:
    from aiokafka.admin import AIOKafkaAdminClient

    from shared.kafka import client_kwargs

    await drop_database(admin_url, dbname)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **client_kwargs())
    await admin.start()
    try:
        await admin.delete_topics(topics)
    finally:
        await admin.close()


# --- the command ----------------------------------------------------------------------------------


def arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.replay", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--events",
        type=int,
        default=int(os.environ.get("BENCH_EVENTS", DEFAULT_EVENTS)),
        help="events in the edition (default 1,000,000 or BENCH_EVENTS)",
    )
    parser.add_argument("--seed", type=int, default=2020)
    parser.add_argument(
        "--compression",
        choices=("none", "lz4", "gzip"),
        default="none",
        help="producer compression while filling (lz4 needs cramjam)",
    )
    parser.add_argument(
        "--check-every",
        type=int,
        default=1000,
        help="verify every n-th record against Envelope/to_record/the registries",
    )
    parser.add_argument("--keep", action="store_true", help="keep the topics and the database")
    parser.add_argument(
        "--reuse",
        metavar="STAMP",
        help="measure the edition a --keep run kept (its stamp) again: no fill (its live read "
        "models are made again from its topics by the code of now)",
    )
    parser.add_argument(
        "--runs",
        type=int,
        default=int(os.environ.get("BENCH_RUNS", "1")),
        help="measurements over the one edition (default 1 or BENCH_RUNS)",
    )
    parser.add_argument("--no-readme", action="store_true", help="do not record in bench/README.md")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = arguments(argv)
    found = ensure_services()
    stamp = args.reuse or time.strftime("%Y%m%d%H%M%S", time.gmtime())
    prefix, dbname = f"bench{stamp}", f"uzdik_bench_{stamp}"
    url, topics = (
        with_database(found.database_url, dbname),
        [topic_for(s, f"bench{stamp}") for s in SERVICES],
    )
    phases = Phases()
    lines: list[tuple[float, str]] = []
    keep = args.keep or bool(args.reuse)
    try:
        if args.reuse:
            say(f"bench-replay: the kept edition {stamp} (topics {prefix}.*.events, {dbname})")
            with (
                phases.timed("live"),
                ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool,
            ):
                params = {"prefix": prefix, "bootstrap": found.bootstrap, "reporting_url": url}
                made = pool.submit(relive, params).result()
            say(f"live read models made again from the topics: {made}")
            filled: dict[str, Any] = {"events": made["events"]}
        else:
            say(f"bench-replay: {num(args.events)} events, topics {prefix}.*.events, {dbname}")
            asyncio.run(setup(found.database_url, dbname, url, found.bootstrap, topics))
            filled = build(args, prefix, found.bootstrap, url, phases)
        for n in range(1, args.runs + 1):
            suffix = f"-{n}" if args.runs > 1 else ""
            refs = []
            with phases.timed(f"reference-1{suffix}"):
                refs.append(asyncio.run(reference(found.bootstrap, topics)))
            with phases.timed(f"replay{suffix}"):
                replayed = run_replay(prefix, found.bootstrap, url)
            with phases.timed(f"reference-2{suffix}"):
                refs.append(asyncio.run(reference(found.bootstrap, topics)))
            lines.append(report(args, filled, refs, replayed, phases, f"replay{suffix}"))
    finally:
        if keep:
            say(f"kept: measure again with `python -m bench.replay --reuse {stamp}`")
        else:
            asyncio.run(teardown(found.database_url, dbname, found.bootstrap, topics))
    ratios = sorted(lines)
    if len(ratios) > 1:
        say(
            f"{len(ratios)} runs: ratio {ratios[0][0]:.2f}–{ratios[len(ratios) // 2][0]:.2f}–"
            f"{ratios[-1][0]:.2f} (min–median–max); the last line is the median run's"
        )
    print(ratios[len(ratios) // 2][1], flush=True)
    return 0


def build(
    args: argparse.Namespace, prefix: str, bootstrap: str, url: str, phases: Phases
) -> dict[str, Any]:
    """Fill the topics and the live read models (a child process; progress on stderr)."""
    with phases.timed("fill"), ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
        filled = pool.submit(
            fill,
            {
                "events": args.events,
                "seed": args.seed,
                "prefix": prefix,
                "bootstrap": bootstrap,
                "reporting_url": url,
                "check_every": args.check_every,
                "compression": None if args.compression == "none" else args.compression,
            },
        ).result()
    say(f"fill: {filled}")
    return filled


MARKER = "bench-replay:results"
HEADER = (
    "| date (UTC) | events | fill | reference ev/s | replay wall | replay ev/s (wall) "
    "| replay ev/s (own report) | ratio | identical | load | machine |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|"
)


def record(row: list[str]) -> None:
    """Append a row to the table of the section "Replay" of bench/README.md (made if missing)."""
    text = README.read_text(encoding="utf-8") if README.exists() else "# Benchmarks\n"
    if f"<!-- {MARKER} -->" not in text:
        text = text.rstrip("\n") + f"\n\n## Replay\n\n<!-- {MARKER} -->\n{HEADER}\n"
        README.write_text(text, encoding="utf-8")
    append_row(README, MARKER, row)


def report(
    args: argparse.Namespace,
    filled: dict[str, Any],
    refs: list[tuple[int, float]],
    replayed: dict[str, Any],
    phases: Phases,
    phase: str = "replay",
) -> tuple[float, str]:
    """Say the run's figures, record its row; (its ratio, its last line)."""
    events = filled["events"]
    if any(n != events for n, _ in refs):
        raise SystemExit(f"the reference read {[n for n, _ in refs]} events, not {events}")
    reference_rate = max(per_second(n, s) for n, s in refs)  # the better of the two
    rate = per_second(replayed["events"], replayed["wall_s"])
    ratio = rate / reference_rate if reference_rate else 0.0
    identical = bool(replayed["identical"]) and replayed["events"] == events
    say(f"phases: {phases.summary()}")
    say(
        "reference: "
        + ", ".join(f"{num(n)} in {s:.1f} s = {num(per_second(n, s))} ev/s" for n, s in refs)
        + " (the better one is used)"
    )
    say(
        f"replay: {num(replayed['events'])} events in {replayed['wall_s']:.1f} s wall = "
        f"{num(rate)} ev/s; its own report: {replayed['seconds']:.1f} s fold = "
        f"{num(replayed['events_per_s'])} ev/s; peak RSS {replayed['peak_rss_mb']:,.0f} MiB; "
        f"exit {replayed['exit']}; differing {replayed['differing']}"
    )
    if not args.no_readme:
        record(
            [
                time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
                num(events),
                f"{phases.seconds['fill']:.0f} s" if "fill" in phases.seconds else "kept",
                num(reference_rate),
                f"{replayed['wall_s']:.0f} s",
                num(rate),
                num(replayed["events_per_s"]),
                f"{ratio:.2f}",
                str(identical).lower(),
                f"{phases.load[phase]:.1f}",
                machine(),
            ]
        )
    line = (
        f"replay events={events} events_per_s={rate:.0f} reference_events_per_s="
        f"{reference_rate:.0f} ratio={ratio:.2f} identical={str(identical).lower()}"
    )
    say(line)
    return ratio, line


if __name__ == "__main__":
    sys.exit(main())
