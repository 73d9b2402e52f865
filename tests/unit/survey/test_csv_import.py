"""Paper polls imported by an operator (§14.3): a line-by-line report, whole file or nothing."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from uuid import UUID

import pytest

from services.survey.domain.csv_import import ImportReport, import_responses, parse_paper_poll
from services.survey.domain.iin import make_iin, resident_key
from services.survey.domain.survey import close_survey
from services.survey.events import ResponseRecorded
from shared.errors import DomainError

from .builders import CLOSES, DURING, PEPPER, RULES, opened_events, state_of, with_responses

HEADER = "iin," + ",".join(f"a{n}" for n in range(1, 17))
IMPORT_ID = UUID("0190f5a0-0000-7000-8000-00000000bb01")


def row(iin: str, values: list[int] | None = None, sep: str = ",") -> str:
    cells = [iin, *(str(v) for v in (values if values is not None else [6] * 16))]
    return sep.join(cells)


def parse(
    text: str | bytes, answered: set[str] | None = None, roll: set[str] | None = None
) -> ImportReport:
    data = text.encode() if isinstance(text, str) else text
    return parse_paper_poll(
        data, RULES.rubric, pepper=PEPPER, answered=answered or set(), roll=roll
    )


def new_id_factory() -> Callable[[], UUID]:
    """Deterministic response ids 1, 2, 3... (the handler mints UUIDv7s)."""
    counter = itertools.count(1)
    return lambda: UUID(int=next(counter))


def test_a_clean_comma_file_is_accepted_line_by_line() -> None:
    report = parse("\n".join([HEADER, row(make_iin(1)), row(make_iin(2), [10] * 16)]) + "\n")
    assert report.all_ok and (report.accepted, report.refused) == (2, 0)
    assert [x.line for x in report.lines] == [2, 3]
    assert report.lines[0].resident == resident_key(make_iin(1), PEPPER)
    assert report.lines[1].answers == (10,) * 16


def test_semicolons_a_bom_crlf_and_blank_lines_are_accepted() -> None:
    text = "\r\n".join(
        [HEADER.replace(",", ";").upper(), row(make_iin(1), sep=";"), "", row(make_iin(2), sep=";")]
    )
    report = parse("\ufeff".encode() + text.encode())
    assert report.all_ok
    assert [x.line for x in report.lines] == [2, 4]


def test_each_bad_line_is_refused_with_its_reason() -> None:
    bad_range = [6] * 16
    bad_range[3], bad_range[10] = 11, -2
    bad_int = [6] * 16
    bad_int[0] = 7.5  # type: ignore[call-overload]
    existing = resident_key(make_iin(4), PEPPER)
    lines = [
        HEADER,
        row(make_iin(1)),  # 2: fine
        row("860101300127"),  # 3: checksum
        row(make_iin(2), bad_range),  # 4: two criteria out of range
        row(make_iin(3))[:-2],  # 5: a column short
        row(make_iin(1)),  # 6: duplicate of line 2
        row(make_iin(4)),  # 7: answered before
        ",".join([make_iin(5), *(str(v) for v in bad_int)]),  # 8: not a whole number
    ]
    report = parse("\n".join(lines), answered={existing})
    assert not report.all_ok and (report.accepted, report.refused) == (1, 6)
    by_line = {x.line: x for x in report.lines}
    assert by_line[2].accepted
    assert by_line[3].code == "invalid_iin"
    assert [(e.code, e.field) for e in by_line[4].errors] == [
        ("answer_out_of_range", "a4"),
        ("answer_out_of_range", "a11"),
    ]
    assert "criterion 4" in by_line[4].errors[0].detail
    assert by_line[5].code == "wrong_column_count"
    assert by_line[6].code == "duplicate_in_file" and "line 2" in by_line[6].errors[0].detail
    assert by_line[7].code == "already_answered"
    assert by_line[8].code == "answer_not_integer"


def test_residents_off_the_roll_are_refused() -> None:
    roll = {resident_key(make_iin(1), PEPPER)}
    report = parse("\n".join([HEADER, row(make_iin(1)), row(make_iin(2))]), roll=roll)
    assert [x.code for x in report.lines] == [None, "not_on_roll"]


def test_a_lost_leading_zero_gets_a_hint() -> None:
    born_2005 = "050615600428"
    report = parse("\n".join([HEADER, row(born_2005[1:])]))
    assert "leading zero" in report.lines[0].errors[0].detail


def test_errors_never_echo_an_iin() -> None:
    report = parse("\n".join([HEADER, row("860101300127"), row(make_iin(1)), row(make_iin(1))]))
    assert "860101300127" not in repr(report.refusal()) and make_iin(1) not in repr(
        report.refusal()
    )


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "csv_empty"),
        (b"\n\n", "csv_empty"),
        (HEADER.encode(), "csv_no_rows"),
        (b"iin,q1,q2\n", "csv_bad_header"),
        ((HEADER + "\n" + "Ә").encode("utf-16"), "csv_not_utf8"),
        ((HEADER + ",a17\n").encode(), "csv_bad_header"),
    ],
)
def test_a_file_that_is_not_a_poll_is_refused_as_a_whole(data: bytes, code: str) -> None:
    report = parse(data)
    assert not report.all_ok and report.problems[0].code == code


def test_never_half_import_one_bad_line_refuses_the_whole_file() -> None:
    report = parse("\n".join([HEADER, row(make_iin(1)), row("860101300127"), row(make_iin(3))]))
    with pytest.raises(DomainError) as caught:
        import_responses(
            state_of(opened_events()),
            report,
            now=DURING,
            import_id=IMPORT_ID,
            new_id=new_id_factory(),
        )
    error = caught.value
    assert (error.code, error.status) == ("import_refused", 422)
    assert "nothing was imported" in error.detail
    assert [(e.code, e.field) for e in error.errors] == [("invalid_iin", "lines[3].iin")]


def test_an_accepted_file_becomes_paper_responses_of_one_batch() -> None:
    report = parse("\n".join([HEADER, row(make_iin(1)), row(make_iin(2), [0] * 16)]))
    events = import_responses(
        state_of(opened_events()), report, now=DURING, import_id=IMPORT_ID, new_id=new_id_factory()
    )
    assert all(isinstance(e, ResponseRecorded) for e in events)
    recorded = [e for e in events if isinstance(e, ResponseRecorded)]
    assert [e.response_id for e in recorded] == [UUID(int=1), UUID(int=2)]
    assert {e.channel for e in recorded} == {"paper"} and {e.import_id for e in recorded} == {
        IMPORT_ID
    }
    assert [e.total for e in recorded] == [96, 0]


def test_an_import_refuses_a_resident_who_answered_meanwhile() -> None:
    report = parse("\n".join([HEADER, row(make_iin(0))]))  # built before make_iin(0) answered
    state = state_of(with_responses([5] * 16))
    with pytest.raises(DomainError) as caught:
        import_responses(state, report, now=DURING, import_id=IMPORT_ID, new_id=new_id_factory())
    assert caught.value.code == "already_answered"


def test_a_closed_survey_takes_no_paper_responses() -> None:
    events = opened_events()
    events += close_survey(state_of(events), now=CLOSES, reason="deadline")
    report = parse("\n".join([HEADER, row(make_iin(1))]))
    with pytest.raises(DomainError) as caught:
        import_responses(
            state_of(events), report, now=CLOSES, import_id=IMPORT_ID, new_id=new_id_factory()
        )
    assert caught.value.code == "survey_closed"
