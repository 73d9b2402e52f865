"""Paper polls entered by an operator (§14.3 "опрос"): one CSV file, imported whole or not at all.

File format:

* UTF-8, with or without a byte-order mark; ``,`` or ``;`` as delimiter (the one the header
  uses — spreadsheets in ru/kk locales write ``;``); quoting as in RFC 4180.
* Header ``iin,a1,a2,…,aN``: the IIN, then one column per Annex 5 criterion in the rubric's order
  (N = the rubric's size, 16 in 2020); names are case-insensitive, surrounding spaces ignored.
* One resident per line: the 12-digit IIN and whole numbers 0..max of each criterion.
  Blank lines are ignored. Line numbers are physical (the header is line 1).

Policy — **whole file or nothing**: :func:`parse_paper_poll` checks every line and returns an
:class:`ImportReport`; :func:`import_responses` appends only when ``report.all_ok`` and
otherwise refuses with ``import_refused`` (422) listing every refused line, so an operator
fixes the file and sends it again and no response is ever half-imported. Errors never echo
an IIN.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import re
from collections.abc import Callable, Container
from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID

from services.survey.domain.iin import iin_problem, resident_key
from services.survey.domain.rubric import Rubric
from services.survey.domain.state import SurveyState
from services.survey.domain.survey import ensure_accepting
from services.survey.events import ResponseRecorded
from shared.errors import Conflict, ErrorItem, RuleViolation
from shared.events import Event

_INTEGER = re.compile(r"^[+-]?\d+$")


@dataclass(frozen=True)
class ImportPaperPoll:
    """Command: a paper poll's CSV (``iin,a1..aN``), every line accepted or nothing."""

    survey_id: UUID | str
    data: bytes


@dataclass(frozen=True)
class LineOutcome:
    """One data line: accepted (no errors) or refused with every reason."""

    line: int
    errors: tuple[ErrorItem, ...] = ()
    resident: str | None = None
    answers: tuple[int, ...] = ()

    @property
    def accepted(self) -> bool:
        return not self.errors

    @property
    def code(self) -> str | None:
        return self.errors[0].code if self.errors else None


@dataclass(frozen=True)
class ImportReport:
    """The line-by-line verdict on a file; ``fingerprint`` identifies the file as received:
    ``HMAC-SHA256(pepper, file)`` in hex (a plain digest of a file of IINs would give them
    back by brute force)."""

    fingerprint: str
    lines: tuple[LineOutcome, ...] = ()
    problems: tuple[ErrorItem, ...] = ()  # the file as a whole (encoding, header, empty)

    @property
    def all_ok(self) -> bool:
        return not self.problems and bool(self.lines) and all(x.accepted for x in self.lines)

    @property
    def accepted(self) -> int:
        return sum(x.accepted for x in self.lines)

    @property
    def refused(self) -> int:
        return len(self.lines) - self.accepted

    def refusal(self) -> RuleViolation:
        """``import_refused`` naming each file problem and each error of each refused line."""
        items = list(self.problems) + [
            ErrorItem(e.code, f"line {x.line}: {e.detail}", field=f"lines[{x.line}].{e.field}")
            for x in self.lines
            for e in x.errors
        ]
        detail = f"{self.refused} of {len(self.lines)} lines refused; nothing was imported"
        return RuleViolation("import_refused", detail, errors=items)


def parse_paper_poll(
    data: bytes,
    rubric: Rubric,
    *,
    pepper: bytes,
    answered: Container[str],
    roll: Container[str] | None = None,
    today: date | None = None,
) -> ImportReport:
    """Check every line of a paper-poll CSV against the rubric, the roll and earlier answers."""
    digest = hmac.new(pepper, data, hashlib.sha256).hexdigest()
    try:
        rows = _rows(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        return ImportReport(digest, problems=(ErrorItem("csv_not_utf8", "not UTF-8 text"),))
    except csv.Error as exc:
        return ImportReport(digest, problems=(ErrorItem("csv_malformed", str(exc)),))
    if not rows:
        return ImportReport(digest, problems=(ErrorItem("csv_empty", "the file is empty"),))
    expected = ["iin", *(f"a{c.number}" for c in rubric.criteria)]
    if [cell.strip().lower() for cell in rows[0][1]] != expected:
        detail = f"the header must be {','.join(expected)}"
        return ImportReport(digest, problems=(ErrorItem("csv_bad_header", detail, "header"),))
    if len(rows) == 1:
        return ImportReport(digest, problems=(ErrorItem("csv_no_rows", "no data line"),))
    first_line: dict[str, int] = {}
    outcomes = []
    for number, cells in rows[1:]:
        outcome = _line(number, cells, rubric, pepper, today)
        resident = outcome.resident
        if resident is not None:
            outcome = _facts(outcome, resident, first_line, answered, roll)
            first_line.setdefault(resident, number)
        outcomes.append(outcome)
    return ImportReport(digest, lines=tuple(outcomes))


def import_responses(
    state: SurveyState | None,
    report: ImportReport,
    *,
    now: datetime,
    import_id: UUID,
    new_id: Callable[[], UUID],
) -> list[Event]:
    """One ``ResponseRecorded`` (channel ``paper``) per line, or nothing when any line failed."""
    current = ensure_accepting(state, now)
    if not report.all_ok:
        raise report.refusal()
    residents = [_resident(x) for x in report.lines]
    if any(resident in current.answered for resident in residents):
        raise Conflict("already_answered", "a resident of the file answered meanwhile")
    return [
        ResponseRecorded(
            survey_id=current.survey_id,
            response_id=new_id(),
            resident=resident,
            channel="paper",
            answers=line.answers,
            total=sum(line.answers),
            import_id=import_id,
        )
        for line, resident in zip(report.lines, residents, strict=True)
    ]


def _resident(line: LineOutcome) -> str:
    if line.resident is None:
        raise ValueError(f"line {line.line} was not accepted")
    return line.resident


def _rows(text: str) -> list[tuple[int, list[str]]]:
    header = text.split("\n", 1)[0]
    delimiter = ";" if header.count(";") > header.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    return [(reader.line_num, row) for row in reader if any(cell.strip() for cell in row)]


def _line(
    number: int, cells: list[str], rubric: Rubric, pepper: bytes, today: date | None
) -> LineOutcome:
    cells = [cell.strip() for cell in cells]
    if len(cells) != rubric.size + 1:
        detail = f"expected {rubric.size + 1} columns, got {len(cells)}"
        return LineOutcome(number, (ErrorItem("wrong_column_count", detail, "columns"),))
    errors: list[ErrorItem] = []
    problem = iin_problem(cells[0], today)
    if problem is not None:
        hint = " (a spreadsheet may have dropped a leading zero)" if len(cells[0]) == 11 else ""
        errors.append(ErrorItem("invalid_iin", problem.detail + hint, "iin"))
    answers: list[int] = []
    for criterion, cell in zip(rubric.criteria, cells[1:], strict=True):
        column = f"a{criterion.number}"
        if not _INTEGER.match(cell):
            detail = f"criterion {criterion.number}: the answer is not a whole number"
            errors.append(ErrorItem("answer_not_integer", detail, column))
        elif not 0 <= int(cell) <= criterion.max:
            detail = f"criterion {criterion.number}: {int(cell)} is outside 0..{criterion.max}"
            errors.append(ErrorItem("answer_out_of_range", detail, column))
        else:
            answers.append(int(cell))
    if errors:
        return LineOutcome(number, tuple(errors))
    return LineOutcome(number, resident=resident_key(cells[0], pepper), answers=tuple(answers))


def _facts(
    outcome: LineOutcome,
    resident: str,
    first_line: dict[str, int],
    answered: Container[str],
    roll: Container[str] | None,
) -> LineOutcome:
    if resident in first_line:
        detail = f"the same IIN is on line {first_line[resident]}"
        error = ErrorItem("duplicate_in_file", detail, "iin")
    elif roll is not None and resident not in roll:
        error = ErrorItem("not_on_roll", "this resident is not on the survey's roll", "iin")
    elif resident in answered:
        error = ErrorItem("already_answered", "this resident has already answered", "iin")
    else:
        return outcome
    return LineOutcome(outcome.line, (error,))
