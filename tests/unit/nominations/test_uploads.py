"""What is decided before an upload's bytes are read, and uploading the same bytes again (§9)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from services.nominations.domain.application import (
    AttachDocument,
    WithdrawApplication,
    attach_document,
    upload_limit,
    withdraw,
)
from services.nominations.domain.documents import DocumentKind
from shared.errors import Conflict, RuleViolation

from .builders import IN_WINDOW, WINDOW_CLOSES, attach, edition_2020, evolve_application, submitted

KIND = DocumentKind.service_record


def test_an_open_file_takes_an_upload_up_to_the_editions_limit_for_its_kind() -> None:
    state = edition_2020()
    limit = upload_limit(submitted(state), state, KIND, IN_WINDOW)
    assert limit == state.nomination_rules.max_document_bytes[KIND] == 20 * 1024 * 1024


def test_no_upload_is_taken_after_the_window() -> None:
    state = edition_2020()
    with pytest.raises(RuleViolation) as refused:
        upload_limit(submitted(state), state, KIND, WINDOW_CLOSES)
    assert refused.value.code == "document_late"


def test_no_upload_is_taken_for_a_withdrawn_application() -> None:
    state = edition_2020()
    app = submitted(state)
    app = evolve_application(
        app,
        withdraw(
            app, WithdrawApplication(application_id=app.application_id, reason="x"), IN_WINDOW
        ),
    )
    with pytest.raises(Conflict) as refused:
        upload_limit(app, state, KIND, IN_WINDOW)
    assert refused.value.code == "application_withdrawn"


def test_a_kind_the_edition_does_not_take_is_refused_before_the_bytes() -> None:
    state = edition_2020()
    rules = state.nomination_rules
    limits = {k: v for k, v in rules.max_document_bytes.items() if k is not KIND}
    narrowed = rules.model_copy(update={"max_document_bytes": limits})
    edition = replace(state, rules=state.rules.model_copy(update={"nominations": narrowed}))
    with pytest.raises(RuleViolation) as refused:
        upload_limit(submitted(edition), edition, KIND, IN_WINDOW)
    assert refused.value.code == "document_kind_not_accepted"


def test_the_same_bytes_again_as_the_same_kind_change_nothing() -> None:
    state = edition_2020()
    app = attach(submitted(state), state, KIND, sha256="01" * 32)
    same = AttachDocument.model_validate(
        {**app.documents[KIND].model_dump(exclude={"attached_at"}), "filename": "again.pdf"}
    )
    assert attach_document(app, state, same, IN_WINDOW) == []
    assert attach_document(app, state, same, WINDOW_CLOSES) == []  # a retry after the close
