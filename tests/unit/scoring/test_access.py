"""Who may act on a commission: role, region and commission claims of the token."""

from __future__ import annotations

import pytest

from services.scoring.adapters.lookups import CommissionRef
from services.scoring.entrypoints.access import authorise
from services.scoring.handlers import at_index
from shared.auth import Principal
from shared.errors import DomainError, ErrorItem, RuleViolation

REGIONAL = CommissionRef("rc-19", "e", "regional", "190000000")
REPUBLICAN = CommissionRef("rep", "e", "republican", None)


def refused(who: Principal, ref: CommissionRef, *roles: str) -> str:
    with pytest.raises(DomainError) as caught:
        authorise(who, ref, *roles)
    assert caught.value.status == 403
    return caught.value.code


def test_a_seated_role_needs_the_commission_claim() -> None:
    member = Principal(sub="m1", roles=["member"], region="190000000", commission="rc-19")
    assert authorise(member, REGIONAL, "member").id == "m1"
    elsewhere = member.model_copy(update={"commission": "rc-31"})
    assert refused(elsewhere, REGIONAL, "member") == "commission_not_allowed"
    unclaimed = member.model_copy(update={"commission": None})
    assert refused(unclaimed, REGIONAL, "member") == "commission_not_allowed"


def test_every_role_stays_in_its_region() -> None:
    member = Principal(sub="m1", roles=["member"], region="310000000", commission="rc-19")
    assert refused(member, REGIONAL, "member") == "region_not_allowed"
    assert refused(member, REGIONAL, "chair") == "role_not_allowed"


def test_the_organiser_and_the_ethics_commissioner() -> None:
    agency = Principal(sub="o", roles=["organiser"])
    assert authorise(agency, REPUBLICAN, "organiser").role == "organiser"
    assert authorise(agency, REGIONAL, "organiser").role == "organiser"
    department = Principal(sub="d", roles=["organiser"], region="190000000")
    assert refused(department, REPUBLICAN, "organiser") == "region_not_allowed"
    ethics = Principal(sub="x", roles=["ethics"], region="190000000")
    assert authorise(ethics, REGIONAL, "ethics").role == "ethics"
    claimed = ethics.model_copy(update={"commission": "rc-31"})
    assert refused(claimed, REGIONAL, "ethics") == "commission_not_allowed"


def test_a_refused_item_of_a_batch_is_named_by_its_place() -> None:
    error = RuleViolation(
        "score_out_of_range",
        "x: 11 is outside 0..10",
        [ErrorItem("score_out_of_range", "x", "scores.x")],
    )
    named = at_index(error, 4, "sheets")
    assert (named.code, named.status, named.extra["index"]) == ("score_out_of_range", 422, 4)
    assert [e.field for e in named.errors] == ["sheets.4.scores.x"]
    assert named.detail.startswith("item 4: ")
