"""The state of one commission's scoring, folded from the event log.

One :class:`Scoring` per commission. Its stream (``commission-<id>``) holds the commission,
its sittings, sheets, stages and decisions. The facts it reads from elsewhere fold in the same
way: CandidateRegistered and SurveyResultReceived (per candidate), and for the Republican
commission the FinalistSelected of every region. :func:`services.scoring.domain.evolve` is total
over all scoring events, so any such merge, in log order, folds to the same state.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from services.scoring.domain.edition_figures import ScoringRules
from services.scoring.domain.rubrics import RubricSet, load_rubrics
from services.scoring.events import (
    AttendanceRecorded,
    CandidateComplaintsRecorded,
    CandidateNominated,
    CandidateRegistered,
    EthicsResultRecorded,
    FeedbackAssessmentRecorded,
    FinalistSelected,
    Level,
    MaterialsSentToAgency,
    NoFinalistRecorded,
    Person,
    ProjectDefenceRegistered,
    ProtocolSigned,
    Purpose,
    RankingComputed,
    ScoreCorrected,
    ScoreRecorded,
    SheetKind,
    SittingOpened,
    Stage,
    SurveyResultReceived,
    WinnersDecided,
)
from shared.events import Event

SheetEvent = ScoreRecorded | ScoreCorrected
DecisionKey = tuple[Purpose, str | None]
"""A decision of the commission: (purpose, scope) — e.g. ("nomination", district KATO)."""


@dataclass(frozen=True)
class Commission:
    """§3–§5: nine voting members (the chair among them) and a non-voting secretary."""

    commission_id: str
    edition_id: str
    level: Level
    region: str | None
    members: tuple[Person, ...]
    chair_id: str
    secretary: Person
    recusals: Mapping[tuple[str, str], str] = field(default_factory=dict)

    @property
    def member_ids(self) -> tuple[str, ...]:
        return tuple(m.person_id for m in self.members)


@dataclass(frozen=True)
class Candidate:
    """An admitted candidate and what the commission learnt about them."""

    registration: CandidateRegistered
    corrected_questionnaire: int | None = None
    survey: SurveyResultReceived | None = None
    ethics: EthicsResultRecorded | None = None
    feedback: FeedbackAssessmentRecorded | None = None
    nomination: CandidateNominated | None = None
    complaints: CandidateComplaintsRecorded | None = None

    @property
    def justified_complaints(self) -> int | None:
        """§12 (4): the figure as last recorded by the secretary; None = never recorded."""
        if self.complaints is not None:
            return self.complaints.justified_complaints
        return self.registration.justified_complaints

    @property
    def questionnaire_score(self) -> int:
        """The Annex 3 score as last corrected by the secretary (nominations)."""
        corrected = self.corrected_questionnaire
        return self.registration.questionnaire_score if corrected is None else corrected


@dataclass(frozen=True)
class Sitting:
    """A sitting (заседание): its attendance and every event recorded at it, in order."""

    opened: SittingOpened
    attendance: AttendanceRecorded | None = None
    records: tuple[Event, ...] = ()
    signed: ProtocolSigned | None = None


@dataclass(frozen=True)
class Sheet:
    """A sheet in the history; live while ``superseded_by`` is None."""

    event: SheetEvent
    superseded_by: str | None = None


@dataclass(frozen=True)
class Pending:
    """A ranking whose cut-off tie waits for the chair's casting vote."""

    ranking: RankingComputed


@dataclass(frozen=True)
class Scoring:
    """Everything one commission's decisions depend on (see module docstring)."""

    rules: ScoringRules
    rubrics: RubricSet
    commission: Commission | None = None
    candidates: Mapping[str, Candidate] = field(default_factory=dict)
    sittings: Mapping[str, Sitting] = field(default_factory=dict)
    sheets: Mapping[str, Sheet] = field(default_factory=dict)
    live: Mapping[tuple[str, str, SheetKind], str] = field(default_factory=dict)
    closed: frozenset[Stage] = frozenset()
    decided: frozenset[DecisionKey] = frozenset()
    pending: Mapping[DecisionKey, Pending] = field(default_factory=dict)
    finalists: Mapping[str, FinalistSelected] = field(default_factory=dict)
    finalist_names: Mapping[str, str] = field(default_factory=dict)
    """The republic's finalists by name (merged with their FinalistSelected by the repository,
    from their registration or their FinalistAdmitted): the names its protocols state."""
    defences: Mapping[str, ProjectDefenceRegistered] = field(default_factory=dict)
    winners: WinnersDecided | None = None
    no_finalist: NoFinalistRecorded | None = None
    materials: MaterialsSentToAgency | None = None


def initial(rules: ScoringRules | None = None, rubrics: RubricSet | None = None) -> Scoring:
    """The empty state under an edition's rules (2020 by default) and rubrics."""
    chosen = rules or ScoringRules()
    return Scoring(rules=chosen, rubrics=rubrics or load_rubrics(chosen.rubrics))
