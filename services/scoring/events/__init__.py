"""Public contract of the scoring service: the facts of commissions, sittings, sheets and decisions.

Every class here is published on ``uzdik.scoring.events`` and is versioned: a new shape is a new
``schema_version`` plus an upcaster in :data:`registry`, never an edit in place.

Choices documented for integrators:

* Ids are strings (UUIDs where the service mints them); territorial units are 9-digit KATO codes.
* Scores on a sheet are integers; computed values (means, points, totals) are
  :class:`~decimal.Decimal` rounded half-up from the exact fraction to the edition's
  ``ScoringRules.decimals`` and serialised as JSON strings (``"83.3333"``): byte-identical on
  every replay. Rankings rank on exactly the value shown.
* Stages: ``stage1_selection`` (§12–§13: questionnaire, project sheets, nomination),
  ``stage1_interview`` (§14–§16: ethics, feedback, survey, essay, interview, finalist) and
  ``stage2`` (§19–§21: defences, Annex 7 sheets, winners).
* Every event tied to a sitting carries its ``sitting_id``; the sitting's protocol is exactly
  those events, in log order (:mod:`services.scoring.domain.protocol`).
"""

from __future__ import annotations

from services.scoring.events.candidates import (
    CandidateComplaintsRecorded,
    CandidateQuestionnaireCorrected,
    CandidateRegistered,
    EthicsResultRecorded,
    FeedbackAssessmentRecorded,
    SurveyResultReceived,
)
from services.scoring.events.commission import CommissionFormed, MemberRecused, MemberReplaced
from services.scoring.events.decisions import (
    CandidateNominated,
    CastingVoteRecorded,
    Component,
    FinalistSelected,
    MaterialsSentToAgency,
    NoFinalistRecorded,
    ProjectDefenceRegistered,
    RankEntry,
    RankingComputed,
    TieBreakStep,
    Winner,
    WinnersDecided,
)
from services.scoring.events.federation import (
    FinalistAdmitted,
    FinalistHeld,
    FinalistRefused,
    Problem,
    RegionTrusted,
    TrustedKey,
)
from services.scoring.events.sittings import (
    AttendanceRecorded,
    ScoreCorrected,
    ScoreRecorded,
    SittingOpened,
)
from services.scoring.events.stages import ProtocolSigned, Signature, StageClosed, StageReopened
from services.scoring.events.values import (
    AwareDatetime,
    DefenceMode,
    Id,
    Kato,
    Level,
    Person,
    Points,
    Position,
    Purpose,
    Role,
    SheetKind,
    Stage,
    Text,
    Value,
    registry,
)
from services.scoring.events.versions import DOWNCASTS, Downcaster, as_written

__all__ = [
    "DOWNCASTS",
    "AttendanceRecorded",
    "AwareDatetime",
    "CandidateComplaintsRecorded",
    "CandidateNominated",
    "CandidateQuestionnaireCorrected",
    "CandidateRegistered",
    "CastingVoteRecorded",
    "CommissionFormed",
    "Component",
    "DefenceMode",
    "Downcaster",
    "EthicsResultRecorded",
    "FeedbackAssessmentRecorded",
    "FinalistAdmitted",
    "FinalistHeld",
    "FinalistRefused",
    "FinalistSelected",
    "Id",
    "Kato",
    "Level",
    "MaterialsSentToAgency",
    "MemberRecused",
    "MemberReplaced",
    "NoFinalistRecorded",
    "Person",
    "Points",
    "Position",
    "Problem",
    "ProjectDefenceRegistered",
    "ProtocolSigned",
    "Purpose",
    "RankEntry",
    "RankingComputed",
    "RegionTrusted",
    "Role",
    "ScoreCorrected",
    "ScoreRecorded",
    "SheetKind",
    "Signature",
    "SittingOpened",
    "Stage",
    "StageClosed",
    "StageReopened",
    "SurveyResultReceived",
    "Text",
    "TieBreakStep",
    "TrustedKey",
    "Value",
    "Winner",
    "WinnersDecided",
    "as_written",
    "registry",
]
