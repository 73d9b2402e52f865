"""A resident's response as sent, and its validation against the Annex 5 rubric (§14.3).

All problems of one response are reported together (API.md): ``errors`` names the IIN and
each bad criterion by its number, with ``field`` ``answers[i]`` (0-based index into the
vector; ``i + 1`` is the criterion number).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from uuid import UUID

from services.survey.domain.iin import iin_problem, keyed
from services.survey.domain.rubric import Rubric
from services.survey.events import Channel
from shared.errors import ErrorItem, RuleViolation


@dataclass(frozen=True)
class RecordResponse:
    """Command: record the answers of the resident holding ``iin``."""

    survey_id: UUID
    response_id: UUID
    iin: str
    answers: Sequence[int]
    channel: Channel = "web"


@dataclass(frozen=True)
class ValidResponse:
    """A response that passed every rule that needs no state."""

    resident: str
    answers: tuple[int, ...]


def answer_errors(answers: Sequence[object], rubric: Rubric) -> list[ErrorItem]:
    """Every rubric rule the answer vector breaks (count, integer, 0..max of the criterion)."""
    if len(answers) != rubric.size:
        detail = f"expected {rubric.size} answers, got {len(answers)}"
        return [ErrorItem("wrong_answer_count", detail, field="answers")]
    errors: list[ErrorItem] = []
    for index, (value, criterion) in enumerate(zip(answers, rubric.criteria, strict=True)):
        field = f"answers[{index}]"
        if not isinstance(value, int) or isinstance(value, bool):
            detail = f"criterion {criterion.number}: the answer is not a whole number"
            errors.append(ErrorItem("answer_not_integer", detail, field=field))
        elif not 0 <= value <= criterion.max:
            detail = f"criterion {criterion.number}: {value} is outside 0..{criterion.max}"
            errors.append(ErrorItem("answer_out_of_range", detail, field=field))
    return errors


def refusal(errors: list[ErrorItem]) -> RuleViolation:
    """One 422 naming every problem; its ``code`` is the first problem's."""
    return RuleViolation(errors[0].code, "; ".join(e.detail for e in errors), errors=errors)


def validate_response(
    cmd: RecordResponse, rubric: Rubric, pepper: bytes, today: date | None = None
) -> ValidResponse:
    """The resident key and answers, or a 422 listing every problem of the response."""
    errors: list[ErrorItem] = []
    problem = iin_problem(cmd.iin, today)
    if problem is not None:
        errors.append(ErrorItem("invalid_iin", problem.detail, field="iin"))
    errors.extend(answer_errors(cmd.answers, rubric))
    if errors:
        raise refusal(errors)
    return ValidResponse(resident=keyed(cmd.iin, pepper), answers=tuple(cmd.answers))
