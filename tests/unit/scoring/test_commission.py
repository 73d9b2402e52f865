"""§3–§5: nine voting members with the chair among them, a non-voting secretary; recusal; scope."""

from __future__ import annotations

from services.scoring.domain import commands as c
from services.scoring.events import MemberRecused, MemberReplaced, Person
from tests.unit.scoring.builders import (
    ALL,
    CHAIR,
    EDITION,
    MEMBERS,
    OTHER_DISTRICT,
    OTHER_REGION,
    OTHER_RURAL,
    REGION,
    SECRETARY,
    Desk,
    regional_desk,
    register,
    sheet,
    sitting,
)


def form(
    members: tuple[Person, ...] = MEMBERS,
    chair: str = CHAIR,
    secretary: Person = SECRETARY,
    region: str | None = REGION,
) -> c.FormCommission:
    return c.FormCommission(
        commission_id="rc",
        edition_id=EDITION,
        level="regional",
        region=region,
        members=tuple(members),
        chair_id=chair,
        secretary=secretary,
    )


def test_a_commission_of_nine_members_with_the_chair_among_them_is_formed() -> None:
    desk = Desk()
    desk.do(form())
    assert desk.state.commission is not None
    assert desk.state.commission.member_ids == ALL


def test_a_commission_of_eight_members_is_refused() -> None:
    error = Desk().refuse(form(members=MEMBERS[:8]))
    assert error.code == "commission_size"
    assert error.detail == "9 members required; 8 given"


QUALIFIED_MEMBER = MEMBERS[1].model_copy(update={"position": "akimat_employee"})


def test_every_formation_rule_broken_is_listed() -> None:
    error = Desk().refuse(
        form(members=MEMBERS[1:], chair=CHAIR, secretary=QUALIFIED_MEMBER, region=None)
    )
    assert [e.code for e in error.errors] == [
        "commission_size",
        "chair_not_member",
        "secretary_is_member",
        "region_invalid",
    ]


def test_a_commission_is_formed_once() -> None:
    desk = regional_desk()
    assert desk.refuse(form()).code == "commission_already_formed"


def test_a_member_is_replaced_and_the_newcomer_may_score() -> None:
    desk = regional_desk()
    register(desk, "c1")
    newcomer = Person(person_id="m10", name="Newcomer")
    desk.do(c.ReplaceMember(outgoing_id="m9", incoming=newcomer, reason="moved to another post"))
    sitting(desk, present=(*ALL[:8], "m10"))
    desk.do(sheet(desk, "m10", "c1"))
    assert desk.refuse(sheet(desk, "m9", "c1")).code == "not_a_member"


def test_replacing_the_chair_names_the_new_chair() -> None:
    desk = regional_desk()
    newcomer = Person(person_id="m10", name="Newcomer")
    without = c.ReplaceMember(outgoing_id=CHAIR, incoming=newcomer, reason="retired")
    assert desk.refuse(without).code == "chair_not_member"
    [event] = desk.do(
        c.ReplaceMember(outgoing_id=CHAIR, incoming=newcomer, reason="retired", chair_id="m2")
    )
    assert isinstance(event, MemberReplaced) and event.chair_id == "m2"
    assert desk.state.commission is not None and desk.state.commission.chair_id == "m2"


def test_the_secretary_gives_no_sheet() -> None:
    desk = regional_desk()
    register(desk, "c1")
    sitting(desk)
    error = desk.refuse(sheet(desk, SECRETARY.person_id, "c1"))
    assert (error.code, error.status) == ("not_a_member", 403)


def test_a_recusal_needs_a_reason() -> None:
    desk = regional_desk()
    register(desk, "c1")
    error = desk.refuse(c.RecuseMember(member_id="m2", candidate_id="c1", reason="  "))
    assert error.code == "recusal_reason_required"


def test_a_recused_member_sheet_for_that_candidate_is_refused() -> None:
    desk = regional_desk()
    register(desk, "c1")
    register(desk, "c2")
    [event] = desk.do(c.RecuseMember(member_id="m2", candidate_id="c1", reason="same village"))
    assert isinstance(event, MemberRecused)
    sitting(desk)
    error = desk.refuse(sheet(desk, "m2", "c1"))
    assert (error.code, error.status) == ("member_recused", 403)
    desk.do(sheet(desk, "m2", "c2"))  # other candidates: still scores


def test_a_member_of_one_region_cannot_score_a_candidate_of_another() -> None:
    desk = regional_desk(region=REGION)
    register(desk, "c9", region=OTHER_REGION, district=OTHER_DISTRICT, rural=OTHER_RURAL)
    sitting(desk)
    error = desk.refuse(sheet(desk, "m2", "c9"))
    assert (error.code, error.status) == ("candidate_out_of_scope", 403)


def test_an_unknown_candidate_is_not_found() -> None:
    desk = regional_desk()
    sitting(desk)
    assert desk.refuse(sheet(desk, "m2", "ghost")).status == 404


def test_a_registration_with_a_district_outside_its_region_is_refused() -> None:
    desk = regional_desk()
    error = desk.refuse(
        c.RegisterCandidate(
            candidate_id="c1",
            application_id="a1",
            edition_id=EDITION,
            name="Akim",
            rural_district=OTHER_RURAL,
            district=OTHER_DISTRICT,
            region=REGION,
            questionnaire_score=10,
            implements_complex_projects=False,
            trilingual=False,
            justified_complaints=0,
        )
    )
    assert error.code == "kato_inconsistent"


def test_the_same_admission_delivered_twice_appends_nothing() -> None:
    desk = regional_desk()
    register(desk, "c1")
    size = len(desk.log)
    register(desk, "c1")
    assert len(desk.log) == size


def test_the_regional_chair_heads_or_deputises_the_regional_department() -> None:
    clerk = MEMBERS[0].model_copy(update={"position": "akimat_employee"})
    error = Desk().refuse(form(members=(clerk, *MEMBERS[1:])))
    assert (error.code, error.status) == ("chair_position_not_allowed", 422)
    assert error.errors[0].field == "chair.position"
    unknown = MEMBERS[0].model_copy(update={"position": "mayor"})
    assert Desk().refuse(form(members=(unknown, *MEMBERS[1:]))).code == "position_unknown"


def test_the_chair_and_the_secretary_must_state_their_positions() -> None:
    silent = MEMBERS[0].model_copy(update={"position": None})
    anonymous = SECRETARY.model_copy(update={"position": None})
    error = Desk().refuse(form(members=(silent, *MEMBERS[1:]), secretary=anonymous))
    assert [e.code for e in error.errors] == [
        "chair_position_required",
        "secretary_position_required",
    ]


def test_the_republican_chair_and_secretary_are_of_the_agency() -> None:
    from tests.unit.scoring.builders import AGENCY_SECRETARY, REPUBLICAN

    def republican(chair: Person, secretary: Person) -> c.FormCommission:
        return c.FormCommission(
            commission_id="rep",
            edition_id=EDITION,
            level="republican",
            region=None,
            members=(chair, *REPUBLICAN[1:]),
            chair_id=chair.person_id,
            secretary=secretary,
        )

    head = REPUBLICAN[0].model_copy(update={"position": "head_of_regional_department"})
    outsider = AGENCY_SECRETARY.model_copy(update={"position": "akimat_employee"})
    error = Desk().refuse(republican(head, outsider))
    assert [e.code for e in error.errors] == [
        "chair_position_not_allowed",
        "secretary_position_not_allowed",
    ]
    Desk().do(republican(REPUBLICAN[0], AGENCY_SECRETARY))


def test_the_positions_are_edition_data() -> None:
    from services.scoring.domain import ScoringRules
    from services.scoring.domain.edition_figures import Qualifications

    clerk = MEMBERS[0].model_copy(update={"position": "akimat_employee"})
    rules = ScoringRules(qualifications=Qualifications(regional_chair=("akimat_employee",)))
    Desk(rules).do(form(members=(clerk, *MEMBERS[1:])))


def test_a_new_chair_by_replacement_must_be_qualified_too() -> None:
    desk = regional_desk()
    newcomer = Person(person_id="m10", name="Newcomer", position="other")
    error = desk.refuse(
        c.ReplaceMember(outgoing_id=CHAIR, incoming=newcomer, reason="retired", chair_id="m10")
    )
    assert error.code == "chair_position_not_allowed"


def test_a_commission_formed_before_positions_were_recorded_still_reads() -> None:
    from services.scoring.events import CommissionFormed, registry

    v1 = {
        "commission_id": "rc",
        "edition_id": EDITION,
        "level": "regional",
        "region": REGION,
        "members": [{"person_id": f"m{i}", "name": f"M {i}"} for i in range(1, 10)],
        "chair_id": "m1",
        "secretary": {"person_id": "sec", "name": "Secretary"},
    }
    event = registry.decode("CommissionFormed", 1, v1)
    assert isinstance(event, CommissionFormed) and event.secretary.position is None
