"""Ids the client chooses for a commission, a sitting or a sheet (issue 13, item 5): one like
``../../x`` could never be addressed again in a path, so it is refused (``invalid_id``)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.scoring.entrypoints.bodies import FormCommissionBody, OpenSittingBody

MEMBERS = [{"person_id": f"m-{i}", "name": f"Member {i}"} for i in range(9)]


def commission(commission_id: str) -> FormCommissionBody:
    return FormCommissionBody.model_validate(
        {
            "commission_id": commission_id,
            "edition_id": "0190f5a0-0000-7000-8000-0000000000e0",
            "level": "regional",
            "region": "110000000",
            "members": MEMBERS,
            "chair_id": "m-0",
            "secretary": {"person_id": "s-1", "name": "Secretary"},
        }
    )


@pytest.mark.parametrize("bad", ["../../x", "a/b", "..", "x" * 65, " a", "a\u0000"])
def test_a_commission_id_that_cannot_be_addressed_again_is_refused(bad: str) -> None:
    with pytest.raises(ValidationError) as refused:
        commission(bad)
    assert refused.value.errors()[0]["type"] in ("invalid_id", "invalid_text")


def test_a_uuid_is_a_commission_id_and_a_sitting_id_may_be_a_name() -> None:
    assert commission("0190f5a0-0000-7000-8000-0000000000c1").commission_id.startswith("0190")
    body = {
        "commission_id": "c-1",
        "stage": "stage1_selection",
        "purpose": "p",
        "sitting_id": "s.1",
    }
    assert OpenSittingBody.model_validate(body).sitting_id == "s.1"
    with pytest.raises(ValidationError):
        OpenSittingBody.model_validate({**body, "sitting_id": "../s"})
