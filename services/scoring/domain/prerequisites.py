"""§14 "before the interview": the assessments a nominee goes through before the interview.

Interview sheets are refused (409 ``interview_prerequisites_missing``, each missing item in
``errors``) until the nominee's ethics result (§14.1), feedback assessment (§14.2), survey
result (§14.3, even one with no responses) and essay (§14.4: at least one essay sheet) are
recorded. Which of the four are required is edition data
(``ScoringRules.interview_prerequisites``, default all four).
"""

from __future__ import annotations

from collections.abc import Callable

from services.scoring.domain import sheets
from services.scoring.domain.edition_figures import Prerequisite
from services.scoring.domain.state import Candidate, Scoring
from shared.errors import DomainError, ErrorItem

_RECORDED: dict[Prerequisite, Callable[[Scoring, Candidate], bool]] = {
    "ethics": lambda state, c: c.ethics is not None,
    "feedback": lambda state, c: c.feedback is not None,
    "survey": lambda state, c: c.survey is not None,
    "essay": lambda state, c: bool(sheets.live_sheets(state, c.registration.candidate_id, "essay")),
}
_WHAT: dict[Prerequisite, str] = {
    "ethics": "the ethics result (§14.1)",
    "feedback": "the feedback assessment (§14.2)",
    "survey": "the survey result (§14.3)",
    "essay": "an essay sheet (§14.4)",
}


def missing(state: Scoring, candidate_id: str) -> list[Prerequisite]:
    """The required prerequisites not yet recorded for ``candidate_id``."""
    candidate = state.candidates[candidate_id]
    required = state.rules.interview_prerequisites
    return [p for p in required if not _RECORDED[p](state, candidate)]


def ensure_ready_for_interview(state: Scoring, candidate_id: str) -> None:
    """409 ``interview_prerequisites_missing`` naming each one missing."""
    if not (absent := missing(state, candidate_id)):
        return
    items = [
        ErrorItem("prerequisite_missing", f"{candidate_id}: no {_WHAT[p]} recorded", p)
        for p in absent
    ]
    detail = f"{candidate_id} is not ready for the interview: {', '.join(absent)} missing"
    raise DomainError("interview_prerequisites_missing", detail, status=409, errors=items)
