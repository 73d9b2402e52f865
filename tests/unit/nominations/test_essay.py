"""§14.4: the essay is a document of the application, a PDF of at most 3 pages, no part of §9."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

import pytest

from services.nominations.domain.application_state import ApplicationStatus
from services.nominations.domain.documents import DocumentKind
from services.nominations.domain.eligibility import check_eligibility, decide_admission
from services.nominations.domain.values import ALMATY
from shared.errors import Conflict, RuleViolation

from .builders import (
    IN_CHECK,
    SECRETARY,
    attach,
    complete,
    edition_2020,
    evolve_application,
    submitted,
)

ESSAY = DocumentKind.essay


def test_an_essay_of_three_pages_is_attached_with_its_page_count() -> None:
    state = edition_2020()
    app = attach(submitted(state), state, ESSAY, page_count=3)
    assert app.documents[ESSAY].page_count == 3


def test_an_essay_of_four_pages_is_refused() -> None:
    state = edition_2020()
    with pytest.raises(RuleViolation) as refused:
        attach(submitted(state), state, ESSAY, page_count=4)
    assert refused.value.code == "essay_too_long"
    assert "4 pages" in refused.value.detail and "at most 3" in refused.value.detail


def test_the_most_pages_are_edition_data() -> None:
    state = edition_2020()
    rules = state.nomination_rules.model_copy(update={"essay_max_pages": 5})
    five = replace(state, rules=state.rules.model_copy(update={"nominations": rules}))
    assert attach(submitted(five), five, ESSAY, page_count=5).documents[ESSAY].page_count == 5


@pytest.mark.parametrize(
    "fields, code",
    [
        ({"page_count": None}, "document_pages_unknown"),
        (
            {
                "media_type": "application/vnd.openxmlformats-officedocument"
                ".wordprocessingml.document",
                "page_count": None,
            },
            "document_media_type_not_allowed",
        ),
    ],
)
def test_an_essay_must_be_a_pdf_whose_pages_were_counted(fields: dict[str, Any], code: str) -> None:
    state = edition_2020()
    with pytest.raises(RuleViolation) as refused:
        attach(submitted(state), state, ESSAY, **fields)
    assert refused.value.code == code


def test_the_essay_is_not_part_of_the_completeness_check() -> None:
    state = edition_2020()
    assert ESSAY not in state.nomination_rules.required_document_kinds
    assert check_eligibility(complete(submitted(state), state), state) == []


def test_an_admitted_candidate_hands_in_the_essay_before_the_interviews() -> None:
    state = edition_2020()
    app = complete(submitted(state), state)
    app = evolve_application(app, decide_admission(app, state, SECRETARY, IN_CHECK))
    assert app.status is ApplicationStatus.admitted
    july = datetime(2020, 7, 20, 12, 0, tzinfo=ALMATY)
    assert attach(app, state, ESSAY, at=july, page_count=2).documents[ESSAY].page_count == 2
    with pytest.raises(RuleViolation) as late:
        attach(app, state, ESSAY, at=datetime(2020, 7, 31, 0, 0, tzinfo=ALMATY), page_count=2)
    assert late.value.code == "document_late"


def test_a_rejected_application_takes_no_essay() -> None:
    state = edition_2020()
    app = replace(submitted(state), status=ApplicationStatus.rejected)
    with pytest.raises(Conflict) as refused:
        attach(app, state, ESSAY, at=IN_CHECK, page_count=1)
    assert refused.value.code == "application_rejected"
