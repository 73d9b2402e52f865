"""The §12 tie-break chain, applied only to a tie that crosses the cut-off.

In the order ``ScoringRules.nomination_tie_breaks`` gives (2020: implements complex projects —
yes/no, so all who do share the step whatever their number of projects —, the three languages,
the feedback assessment where available, fewest justified complaints), each step
orders the still-tied candidates by one criterion; whole groups that fit the seats left go
through, groups after the seats are out, and the group straddling the seats goes to the next
step. A step whose figure is missing for any tied candidate (no feedback assessment, no
complaints figure recorded) is skipped (``applied=False``, the missing values null): an unknown
figure is never read as 0. Every step is recorded with the candidates it separated. A tie that
survives the chain waits for the chair's casting vote.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import groupby
from typing import Literal

from services.scoring.domain.edition_figures import TieBreak
from services.scoring.events import TieBreakStep


@dataclass(frozen=True)
class TieFacts:
    """What a candidate brings to the tie-break; None = not available."""

    complex_projects: bool | None = None
    trilingual: bool | None = None
    feedback: int | None = None
    complaints: int | None = None


Prefer = Literal["higher", "lower"]
_CRITERIA: dict[TieBreak, tuple[str, Prefer]] = {
    "complex_projects": ("complex_projects", "higher"),
    "trilingual": ("trilingual", "higher"),
    "feedback": ("feedback", "higher"),
    "fewest_complaints": ("complaints", "lower"),
}


@dataclass(frozen=True)
class TieOutcome:
    advanced: tuple[str, ...]
    still_tied: tuple[str, ...]
    seats_left: int
    steps: tuple[TieBreakStep, ...] = field(default=())


def break_tie(
    tied: Sequence[str], seats: int, chain: Sequence[TieBreak], facts: Mapping[str, TieFacts]
) -> TieOutcome:
    """Apply ``chain`` to ``tied`` competing for ``seats`` (fewer than ``len(tied)``)."""
    outcome = TieOutcome(advanced=(), still_tied=tuple(sorted(tied)), seats_left=seats)
    for criterion in chain:
        if not outcome.still_tied:
            break
        outcome = _step(outcome, criterion, facts)
    return outcome


def _step(before: TieOutcome, criterion: TieBreak, facts: Mapping[str, TieFacts]) -> TieOutcome:
    attribute, prefer = _CRITERIA[criterion]
    values = {c: _value(facts.get(c, TieFacts()), attribute) for c in before.still_tied}
    if any(v is None for v in values.values()):
        skipped = _record(criterion, prefer, values, (), (), before.still_tied, applied=False)
        return TieOutcome(
            before.advanced, before.still_tied, before.seats_left, (*before.steps, skipped)
        )
    advanced, rest, out, seats = _split(before.still_tied, values, prefer, before.seats_left)
    step = _record(criterion, prefer, values, advanced, out, rest, applied=True)
    return TieOutcome((*before.advanced, *advanced), rest, seats, (*before.steps, step))


def _split(
    group: Sequence[str], values: Mapping[str, Decimal | None], prefer: Prefer, seats: int
) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...], int]:
    """(go through, still tied, out, seats left) after ordering ``group`` by ``values``."""
    sign = -1 if prefer == "higher" else 1
    ordered = sorted(group, key=lambda c: (sign * (values[c] or 0), c))
    advanced: list[str] = []
    rest: list[str] = []
    out: list[str] = []
    for _, members in groupby(ordered, key=lambda c: values[c]):
        bunch = list(members)
        if rest or seats == 0:
            out += bunch
        elif len(bunch) <= seats:
            advanced += bunch
            seats -= len(bunch)
        else:
            rest = bunch
    return tuple(advanced), tuple(rest), tuple(out), seats


def _value(facts: TieFacts, attribute: str) -> Decimal | None:
    raw = getattr(facts, attribute)
    return None if raw is None else Decimal(int(raw))


def _record(
    criterion: TieBreak,
    prefer: Prefer,
    values: Mapping[str, Decimal | None],
    advanced: tuple[str, ...],
    eliminated: tuple[str, ...],
    still_tied: tuple[str, ...],
    *,
    applied: bool,
) -> TieBreakStep:
    return TieBreakStep(
        criterion=criterion,
        prefer=prefer,
        applied=applied,
        values=dict(values),
        advanced=advanced,
        eliminated=eliminated,
        still_tied=still_tied,
    )
