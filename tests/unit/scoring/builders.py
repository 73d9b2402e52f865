"""Builders for the scoring unit tests: a commission's desk (a fake event store) and its facts."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from services.scoring.domain import Scoring, ScoringRules, decide, initial, replay
from services.scoring.domain import commands as c
from services.scoring.events import FinalistSelected, Person, SheetKind, Stage
from shared.errors import DomainError
from shared.events import Event

ALMATY = ZoneInfo("Asia/Almaty")
AT = datetime(2020, 6, 20, 10, 0, tzinfo=ALMATY)
EDITION = "edition-2020"

REGION = "100000000"  # Abai region
DISTRICT = "103200000"  # Abai district
RURAL = ("103230000", "103233000", "103235000", "103239000", "103243000")
OTHER_REGION = "150000000"  # Aktobe region
OTHER_DISTRICT = "153200000"
OTHER_RURAL = "153233000"

MEMBERS = (
    Person(person_id="m1", name="Member 1", position="head_of_regional_department"),
    Person(person_id="m2", name="Member 2", position="deputy_head_of_regional_department"),
    *(Person(person_id=f"m{i}", name=f"Member {i}") for i in range(3, 10)),
)
ALL = tuple(m.person_id for m in MEMBERS)
CHAIR = "m1"
SECRETARY = Person(person_id="sec", name="Secretary", position="regional_department_employee")
REPUBLICAN = (
    Person(person_id="r1", name="Republican member 1", position="agency_deputy_chairperson"),
    *(Person(person_id=f"r{i}", name=f"Republican member {i}") for i in range(2, 10)),
)
AGENCY_SECRETARY = Person(
    person_id="agency-sec", name="Agency secretary", position="agency_employee"
)
ALL_R = tuple(m.person_id for m in REPUBLICAN)


class Desk:
    """A commission's stream: decide a command, append its events, fold them into the state."""

    def __init__(self, rules: ScoringRules | None = None) -> None:
        self.state: Scoring = initial(rules)
        self.log: list[Event] = []

    def do(self, command: c.Command) -> list[Event]:
        events = decide(self.state, command)
        self.record(*events)
        return events

    def record(self, *events: Event) -> None:
        self.log.extend(events)
        self.state = replay(events, self.state)

    def refuse(self, command: c.Command) -> DomainError:
        """The refusal of ``command``; asserts nothing was appended and the state is unchanged."""
        before, size = self.state, len(self.log)
        with pytest.raises(DomainError) as caught:
            self.do(command)
        assert self.state is before and len(self.log) == size
        return caught.value


def regional_desk(rules: ScoringRules | None = None, region: str = REGION) -> Desk:
    desk = Desk(rules)
    desk.do(
        c.FormCommission(
            commission_id=f"rc-{region}",
            edition_id=EDITION,
            level="regional",
            region=region,
            members=MEMBERS,
            chair_id=CHAIR,
            secretary=SECRETARY,
        )
    )
    return desk


def republican_desk(rules: ScoringRules | None = None) -> Desk:
    desk = Desk(rules)
    desk.do(
        c.FormCommission(
            commission_id="republican",
            edition_id=EDITION,
            level="republican",
            region=None,
            members=REPUBLICAN,
            chair_id="r1",
            secretary=AGENCY_SECRETARY,
        )
    )
    return desk


def register(
    desk: Desk,
    candidate_id: str,
    *,
    questionnaire: int = 10,
    complex_projects: bool = False,
    trilingual: bool = False,
    complaints: int | None = 0,
    region: str = REGION,
    district: str = DISTRICT,
    rural: str = RURAL[0],
) -> None:
    desk.do(
        c.RegisterCandidate(
            candidate_id=candidate_id,
            application_id=f"app-{candidate_id}",
            edition_id=EDITION,
            name=f"Akim {candidate_id}",
            rural_district=rural,
            district=district,
            region=region,
            questionnaire_score=questionnaire,
            implements_complex_projects=complex_projects,
            trilingual=trilingual,
            justified_complaints=complaints,
            complaints_source=None if complaints is None else "akimat register",
        )
    )


def sitting(
    desk: Desk,
    sitting_id: str = "s1",
    stage: Stage = "stage1_selection",
    present: Iterable[str] = ALL,
) -> list[Event]:
    desk.do(c.OpenSitting(sitting_id=sitting_id, stage=stage, purpose="scoring", at=AT))
    return desk.do(c.RecordAttendance(sitting_id=sitting_id, present=tuple(present)))


def flat(desk: Desk, kind: SheetKind, value: int) -> dict[str, int]:
    """Every criterion a member enters on a ``kind`` sheet, at ``value``."""
    return {k.key: value for k in desk.state.rubrics.of(kind).entered}


def sheet(
    desk: Desk,
    member: str,
    candidate: str,
    kind: SheetKind = "project",
    value: int = 5,
    *,
    sitting_id: str = "s1",
    scores: Mapping[str, int] | None = None,
) -> c.RecordScore:
    return c.RecordScore(
        sheet_id=f"{kind}-{member}-{candidate}",
        sitting_id=sitting_id,
        member_id=member,
        candidate_id=candidate,
        kind=kind,
        scores=dict(scores) if scores is not None else flat(desk, kind, value),
    )


def score_by(
    desk: Desk,
    members: Iterable[str],
    candidate: str,
    kind: SheetKind = "project",
    value: int = 5,
    sitting_id: str = "s1",
) -> None:
    for member in members:
        desk.do(sheet(desk, member, candidate, kind, value, sitting_id=sitting_id))


def finalist(candidate_id: str, region: str, total: str) -> FinalistSelected:
    """A regional commission's decision, as the Republican commission's view folds it in."""
    return FinalistSelected(
        commission_id=f"rc-{region}",
        sitting_id=f"regional-sitting-{region}",
        edition_id=EDITION,
        region=region,
        candidate_id=candidate_id,
        regional_total=Decimal(total),
        components=(),
        rank=1,
        top=(candidate_id,),
    )


def events_of(log: Iterable[Event], kind: type[Event]) -> list[Event]:
    return [e for e in log if isinstance(e, kind)]
