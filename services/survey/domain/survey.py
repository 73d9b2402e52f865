"""The Survey aggregate (опрос жителей, §14.3): the ``decide`` functions.

One survey per nominee's rural district. Each resident answers once; a response rates every
Annex 5 criterion. Refusals, in the order they are checked:

* ``survey_not_open`` (409) before ``opens_at``; ``survey_closed`` (409) from ``closes_at`` on
  or after :class:`SurveyClosed`;
* ``invalid_iin``, ``wrong_answer_count``, ``answer_out_of_range``, ``answer_not_integer``
  (422), all listed together in ``errors`` (:func:`.answers.validate_response`);
* ``not_on_roll`` (403) when a residents' roll exists and the resident is not on it;
* ``already_answered`` (409), whose detail says nothing about the first response.

The state keeps the resident keys that answered; a handler that keeps them in a table passes
:class:`ResidentFacts` instead. The roll itself is never in the state (only its digest), so
when a roll exists the handler must pass ``facts.on_roll``. ``evolve`` is in
:mod:`services.survey.domain.state`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from services.survey.domain.answers import RecordResponse, ValidResponse, validate_response
from services.survey.domain.results import result_of
from services.survey.domain.rubric import SurveyRules
from services.survey.domain.state import SurveyState, require
from services.survey.events import (
    Channel,
    CloseReason,
    ResponseFlagged,
    ResponseRecorded,
    SurveyClosed,
    SurveyOpened,
)
from shared.errors import Conflict, Forbidden, RuleViolation
from shared.events import Event


@dataclass(frozen=True)
class ResidentFacts:
    """Facts about one resident that a handler looked up outside the event stream."""

    already_answered: bool
    on_roll: bool | None = None  # None: no roll exists for this survey


@dataclass(frozen=True)
class OpenSurvey:
    """Command: open the survey of one nominee's rural district."""

    survey_id: UUID
    edition_id: UUID | str
    candidate_id: UUID | str
    settlement_kato: str
    region_kato: str
    opens_at: datetime
    closes_at: datetime


@dataclass(frozen=True)
class CloseSurvey:
    """Command: close the survey with its final result (by hand, or at its deadline)."""

    survey_id: UUID | str
    reason: CloseReason


@dataclass(frozen=True)
class NoteCandidate:
    """Command (a consumer's): what a nominee's survey needs to know, as it arrives."""

    candidate_id: str
    facts: dict[str, Any]


def open_survey(
    state: SurveyState | None, cmd: OpenSurvey, *, now: datetime, rules: SurveyRules
) -> list[Event]:
    """Open a survey once, on the rubric of the edition's rules, for a window still ahead."""
    if state is not None:
        raise Conflict("survey_already_open", "this survey was opened already")
    if any(t.utcoffset() is None for t in (cmd.opens_at, cmd.closes_at)):
        raise RuleViolation("invalid_window", "opens_at and closes_at need a UTC offset")
    if not now < cmd.closes_at or not cmd.opens_at < cmd.closes_at:
        raise RuleViolation("invalid_window", "the survey must close after it opens and after now")
    if cmd.closes_at - cmd.opens_at > timedelta(days=rules.max_window_days):
        detail = f"a survey runs for at most {rules.max_window_days} days"
        raise RuleViolation("invalid_window", detail, reason="window_too_long")
    if cmd.opens_at - now > timedelta(days=rules.max_lead_days):
        detail = f"a survey opens at most {rules.max_lead_days} days ahead"
        raise RuleViolation("invalid_window", detail, reason="opens_too_far_ahead")
    return [
        SurveyOpened(
            survey_id=cmd.survey_id,
            edition_id=str(cmd.edition_id),
            candidate_id=str(cmd.candidate_id),
            settlement_kato=cmd.settlement_kato,
            region_kato=cmd.region_kato,
            opens_at=cmd.opens_at,
            closes_at=cmd.closes_at,
            rubric_id=rules.rubric.id,
        )
    ]


def ensure_accepting(state: SurveyState | None, now: datetime) -> SurveyState:
    """The state when answers are accepted at ``now``; 409 otherwise."""
    current = require(state)
    if current.status == "closed" or now >= current.opened.closes_at:
        raise Conflict("survey_closed", "the survey is closed; answers are no longer accepted")
    if now < current.opened.opens_at:
        raise Conflict("survey_not_open", "the survey has not opened yet")
    return current


def facts_from_state(state: SurveyState, resident: str) -> ResidentFacts:
    """Facts known from the stream alone (valid only while the survey has no roll)."""
    if state.roll_sha256 is not None:
        raise ValueError("a roll exists: the handler must pass ResidentFacts.on_roll")
    return ResidentFacts(already_answered=resident in state.answered)


def ensure_admissible(facts: ResidentFacts) -> None:
    """403 ``not_on_roll`` / 409 ``already_answered`` from the resident's facts."""
    if facts.on_roll is False:
        raise Forbidden("not_on_roll", "this resident is not on the survey's roll")
    if facts.already_answered:
        raise Conflict("already_answered", "this resident has already answered this survey")


def record_response(
    state: SurveyState | None,
    cmd: RecordResponse,
    *,
    now: datetime,
    rules: SurveyRules,
    pepper: bytes,
    facts: ResidentFacts | None = None,
    flags: Sequence[str] = (),
) -> list[Event]:
    """Record one resident's answers (§14.3: one response per resident)."""
    current = ensure_accepting(state, now)
    valid = validate_response(cmd, rules.rubric, pepper, today=now.date())
    facts = facts or facts_from_state(current, valid.resident)
    return [accept_response(current, valid, cmd.response_id, cmd.channel, now, facts, flags)]


def accept_response(
    state: SurveyState | None,
    valid: ValidResponse,
    response_id: UUID,
    channel: Channel,
    now: datetime,
    facts: ResidentFacts,
    flags: Sequence[str] = (),
    prepared: ResponseRecorded | None = None,
) -> ResponseRecorded:
    """Record a response already validated at the edge (the IIN is gone by now: only its key
    travels), given the resident's facts looked up under the append lock. ``prepared``: the
    event :func:`response_recorded` made for it before the facts were known, returned as it is
    when these arguments make the same event."""
    current = ensure_accepting(state, now)
    ensure_admissible(facts)
    reasons = tuple(dict.fromkeys(flags))
    if (
        prepared is not None
        and prepared.response_id == response_id
        and prepared.survey_id == current.survey_id
        and prepared.flag_reasons == reasons
    ):
        return prepared
    return response_recorded(current.survey_id, valid, response_id, channel, reasons)


def response_recorded(
    survey_id: UUID,
    valid: ValidResponse,
    response_id: UUID,
    channel: Channel,
    flags: Sequence[str] = (),
) -> ResponseRecorded:
    """The event of an accepted response (whether it is accepted: :func:`accept_response`)."""
    reasons = tuple(dict.fromkeys(flags))
    return ResponseRecorded(
        survey_id=survey_id,
        response_id=response_id,
        resident=valid.resident,
        channel=channel,
        answers=valid.answers,
        total=sum(valid.answers),
        flagged=bool(reasons),
        flag_reasons=reasons,
    )


def flag_response(
    state: SurveyState | None, response_id: UUID, reasons: Sequence[str]
) -> list[Event]:
    """Flag a recorded response after the fact; nothing for unknown or already flagged ones."""
    current = require(state)
    if current.status == "closed":
        raise Conflict("survey_closed", "the survey is closed; its result is final")
    if response_id not in current.responses or response_id in current.tally.flagged:
        return []
    if not reasons:
        raise ValueError("a flag needs at least one reason")
    return [
        ResponseFlagged(
            survey_id=current.survey_id, response_id=response_id, reasons=tuple(reasons)
        )
    ]


def close_survey(
    state: SurveyState | None, *, now: datetime, reason: CloseReason, flagged: int | None = None
) -> list[Event]:
    """Close the survey with its final result; at the deadline, ``closed_at`` is the deadline.
    A handler that keeps the flags in a table (not in ``tally.flagged``) passes their count."""
    current = require(state)
    if current.status == "closed":
        raise Conflict("survey_closed", "the survey is already closed")
    deadline = current.opened.closes_at
    if reason == "deadline" and now < deadline:
        raise Conflict("deadline_not_reached", "the survey's deadline has not passed yet")
    closed_at = deadline if reason == "deadline" else now
    result = result_of(current.tally)
    if flagged is not None:
        result = result.model_copy(update={"flagged": flagged})
    opened = current.opened
    return [
        SurveyClosed(
            survey_id=current.survey_id,
            candidate_id=opened.candidate_id,
            edition_id=opened.edition_id,
            rubric_id=opened.rubric_id,
            closed_at=closed_at,
            reason=reason,
            result=result,
        )
    ]
