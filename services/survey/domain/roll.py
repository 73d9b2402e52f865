"""The residents' roll of a survey (§14.3: residents of the candidate's settlement).

A roll holds resident keys (HMAC of the IIN), never IINs. Its digest, logged in
:class:`~services.survey.events.ResidentsRollUploaded`, is the SHA-256 of the sorted distinct
keys, each followed by ``\\n``, in ASCII.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from uuid import UUID

from services.survey.domain.iin import iin_problem, resident_key
from services.survey.domain.state import SurveyState, require
from services.survey.events import ResidentsRollUploaded
from shared.errors import Conflict, ErrorItem, RuleViolation
from shared.events import Event


def roll_digest(keys: Iterable[str]) -> str:
    """The canonical SHA-256 of a roll."""
    canonical = "".join(f"{key}\n" for key in sorted(set(keys)))
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


_KEY = re.compile(r"^[0-9a-f]{64}$")


def roll_keys(entries: Sequence[str], pepper: bytes) -> frozenset[str]:
    """The keys of a roll (line 1 = first entry); 422 ``invalid_roll`` naming bad lines.

    An entry is an IIN, hashed at once (the IIN is not kept), or a resident key already
    computed (64 lowercase hex digits, ``HMAC-SHA256(pepper, IIN)``) by a system that holds
    the pepper."""
    errors = [
        ErrorItem("invalid_iin", problem.detail, field=f"line {number}")
        for number, entry in enumerate(entries, start=1)
        if not _KEY.match(entry) and (problem := iin_problem(entry)) is not None
    ]
    if errors:
        raise RuleViolation("invalid_roll", f"{len(errors)} invalid IIN(s) in the roll", errors)
    return frozenset(e if _KEY.match(e) else resident_key(e, pepper) for e in entries)


@dataclass(frozen=True)
class UploadRoll:
    """Command: set (or replace) the residents' roll of a survey (their IINs, never stored)."""

    survey_id: UUID | str
    residents: Sequence[str]


def upload_roll(state: SurveyState | None, keys: frozenset[str]) -> list[Event]:
    """Set (or replace) the residents' roll; allowed until the first response is recorded."""
    current = require(state)
    if current.status == "closed":
        raise Conflict("survey_closed", "the survey is closed")
    if current.tally.count:
        raise Conflict("roll_locked", "responses were recorded; the roll can no longer change")
    if not keys:
        raise RuleViolation("roll_empty", "the roll holds no resident")
    digest = roll_digest(keys)
    return [ResidentsRollUploaded(survey_id=current.survey_id, count=len(keys), sha256=digest)]
