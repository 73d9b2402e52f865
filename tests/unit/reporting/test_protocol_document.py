"""Reporting's protocol and ratings show what issue 13 changed in scoring: a skipped tie-break
step names whose figure is missing, components shown beside the interview mean, a survey with
no responses, "no finalist" and the places not awarded."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from services.reporting.documents import ratings
from services.reporting.documents.protocol import number_of, render, view
from services.reporting.documents.wording import kk_possessive
from services.reporting.projections import load_all, targets

CANDIDATES = {"c3": {"name": "Akimov"}, "c4": {"name": "Beisenov"}}


def render_html(*args: Any, **kwargs: Any) -> str:
    """The protocol's HTML page (:func:`render` gives it with the printable page)."""
    return render(*args, **kwargs).html


def protocol(**parts: Any) -> dict[str, Any]:
    return {
        "sitting_id": "s1",
        "stage": "stage1_selection",
        "purpose": "p",
        "opened_at": "2020-06-25T10:00:00+06:00",
        "sheets": {},
        "rankings": [],
        "casting_votes": [],
        "decisions": [],
        "signatures": None,
        "attendance": None,
        **parts,
    }


def skipped_step() -> dict[str, Any]:
    return {
        "criterion": "fewest_complaints",
        "prefer": "lower",
        "applied": False,
        "values": {"c3": "2", "c4": None},
        "advanced": [],
        "eliminated": [],
        "still_tied": ["c3", "c4"],
    }


def test_a_skipped_tie_break_step_says_whose_figure_is_missing() -> None:
    ranking = {"entries": [], "selected": [], "tie_break_steps": [skipped_step()]}
    shown = view(protocol(rankings=[ranking]), None, CANDIDATES, "ru")
    [step] = shown["rankings"][0]["steps"]
    assert (step["applied"], step["text"]) == (False, "пропущено: нет показателя у Beisenov")
    assert "нет показателя у Beisenov" in render_html(
        protocol(rankings=[ranking]), None, CANDIDATES
    )


def test_components_beside_the_interview_mean_and_a_survey_without_responses() -> None:
    components = [
        {"name": "survey_mean", "value": None, "weight": "0", "weighted": None, "count": 0},
        {"name": "essay_mean", "value": "60.0000", "weight": "0", "weighted": "0.0000"},
        {"name": "interview_mean", "value": "63.0000", "weight": "1", "weighted": "63.0000"},
    ]
    entry = {"candidate_id": "c3", "rank": 1, "total": "63.0000", "components": components}
    ranking = {"entries": [entry], "selected": ["c3"], "tie_break_steps": []}
    [shown] = view(protocol(rankings=[ranking]), None, CANDIDATES, "ru")["rankings"]
    assert shown["components"] == [
        "опрос населения, среднее (справочно)",
        "эссе, средний балл (справочно)",
        "собеседование, средний балл ×1",
    ]
    assert shown["entries"][0]["cells"] == ["нет ответов (0 ответов)", "60,0000", "63,0000"]
    rating = {"purpose": "regional", "scope": "100000000", "entries": [entry], "selected": []}
    table = next(t for t in ratings.tables([rating], CANDIDATES, "ru") if t.purpose == "regional")
    [row] = table.rows
    shown = dict(zip(table.header, row, strict=True))
    assert (
        shown["опрос населения, среднее (справочно)"] is None
    )  # no responses: no mean, an empty cell
    assert shown["эссе, средний балл (справочно)"] == Decimal("60.0000")
    assert shown["собеседование, средний балл"] == Decimal("63.0000")


def event(event_type: str, payload: dict[str, Any]) -> dict[str, Any]:
    return {
        "event_type": event_type,
        "payload": payload,
        "metadata": {"occurred_at": "2020-07-30T10:00:00+06:00", "actor": {"id": "x"}},
    }


def test_no_finalist_and_places_not_awarded_are_stated_in_the_protocol() -> None:
    load_all()
    doc = protocol(stage="stage1_interview")
    none = event(
        "NoFinalistRecorded",
        {
            "commission_id": "rc",
            "sitting_id": "s1",
            "edition_id": "e",
            "region": "100000000",
            "reason": "no admitted candidate",
        },
    )
    winners = event(
        "WinnersDecided",
        {
            "commission_id": "rep",
            "sitting_id": "s1",
            "by_casting_vote": False,
            "winners": [
                {"candidate_id": "c3", "place": 1, "mean": "99.0000", "sum": 891, "sheets": 9},
                {"candidate_id": "c4", "place": 2, "mean": "90.0000", "sum": 810, "sheets": 9},
            ],
            "places_not_awarded": [3],
            "not_awarded_reason": "only 2 finalist(s) defended for 3 places (§21)",
        },
    )
    for e in (none, winners):
        for target in targets(e):
            if target.model == "protocols":
                doc = target.fold(doc, e) or doc
    decisions = view(doc, None, CANDIDATES, "ru")["decisions"]
    assert decisions == [
        "финалиста нет: no admitted candidate",
        "Победители: 1. Akimov (Средний балл 99,0000); 2. Beisenov (Средний балл 90,0000). "
        "Места 3: не присуждается — финалистов меньше, чем мест: 2 (§21)",
    ]


def test_the_region_read_model_states_no_finalist_and_the_materials_sent() -> None:
    load_all()
    doc: dict[str, Any] | None = None
    for e in (
        event(
            "NoFinalistRecorded",
            {
                "commission_id": "rc",
                "sitting_id": "s1",
                "edition_id": "e",
                "region": "100000000",
                "reason": "no admitted candidate",
            },
        ),
        event(
            "MaterialsSentToAgency",
            {
                "commission_id": "rc",
                "edition_id": "e",
                "region": "100000000",
                "finalist_id": None,
                "note": "",
                "sent_at": "2020-08-10T10:00:00+06:00",
            },
        ),
    ):
        for target in targets(e):
            if target.model == "finalists":
                doc = target.fold(doc, e)
    assert doc is not None
    assert (doc["no_finalist"], doc["reason"], doc["materials_sent_at"]) == (
        True,
        "no admitted candidate",
        "2020-08-10T10:00:00+06:00",
    )


COMMISSION = {
    "commission_id": "k1",
    "level": "regional",
    "region": "190000000",
    "chair_id": "p1",
    "secretary": {"person_id": "p9", "name": "Ахметова Динара Ермековна"},
    "members": [{"person_id": f"p{n}", "name": f"Член {n}"} for n in range(1, 10)],
    "sittings": [
        {"sitting_id": "s0", "opened_at": "2020-06-20T10:00:00+06:00"},
        {"sitting_id": "s1", "opened_at": "2020-06-25T10:00:00+06:00"},
    ],
}


def attended(present: int) -> dict[str, Any]:
    people = [f"p{n}" for n in range(1, 10)]
    return {
        "present": people[:present],
        "absent": people[present:],
        "members": 9,
        "required": 6,
        "quorate": present >= 6,
    }


def test_a_protocol_speaks_each_language_in_its_own_order_and_format() -> None:
    """Kazakh counts "of nine members, eight" (not "9 out of 8"); dates, times and decimals
    by locale; the commission by its region's name; the protocol numbered in its year."""
    doc = protocol(attendance=attended(8), opened_at="2020-06-25T04:05:00+00:00")
    kk = render_html(doc, COMMISSION, CANDIDATES, "kk", number_of("s1", COMMISSION))
    ru = render_html(doc, COMMISSION, CANDIDATES, "ru", number_of("s1", COMMISSION))
    assert "9 мүшенің 8-і қатысты; кемінде 6 мүше қажет" in kk
    assert "присутствуют 8 из 9 членов комиссии; требуется не менее 6" in ru
    assert "ХАТТАМА № 2" in kk and "ПРОТОКОЛ № 2" in ru
    assert "Өңірлік комиссия — Алматы облысы" in kk
    assert "Региональная комиссия — Алматинская область" in ru
    nb = "\u202f"  # a narrow no-break space, as Babel writes before ж. and г.
    assert f"2020{nb}ж. 25 маусым, 10:05" in kk and f"25 июня 2020{nb}г., 10:05" in ru
    assert "190000000" not in ru.split("<body>")[1].split("Идентификатор")[0]


def test_kazakh_numerals_take_the_possessive_suffix_their_reading_asks_for() -> None:
    said = {n: kk_possessive(n) for n in (1, 2, 6, 8, 9, 10, 20, 50, 100, 1000)}
    assert said == {
        1: "1-і",
        2: "2-сі",
        6: "6-сы",
        8: "8-і",
        9: "9-ы",
        10: "10-ы",
        20: "20-сы",
        50: "50-і",
        100: "100-і",
        1000: "1000-ы",
    }


def test_signers_are_named_and_a_ranking_names_its_district() -> None:
    signatures = {
        "digest": "ab" * 32,
        "signed_at": "2020-06-25T06:00:00+00:00",
        "signatures": [
            {"role": "chair", "person_id": "p1", "public_key": "k1", "signature": "s1"},
            {"role": "secretary", "person_id": "p9", "public_key": "k9", "signature": "s9"},
        ],
    }
    ranking = {"scope": "193600000", "entries": [], "selected": [], "tie_break_steps": []}
    doc = protocol(signatures=signatures, rankings=[ranking])
    shown = view(doc, COMMISSION, CANDIDATES, "ru")
    assert [(s["role"], s["name"]) for s in shown["signers"]] == [
        ("Председатель", "Член 1"),
        ("Секретарь", "Ахметова Динара Ермековна"),
    ]
    assert shown["signed_at"] == "25 июня 2020\u202fг., 12:00"
    assert shown["rankings"][0]["scope_name"].endswith("(193600000)")
    assert not shown["rankings"][0]["scope_name"].startswith("1936")


def test_criteria_are_named_in_the_protocols_language_and_sheets_list_them_by_number() -> None:
    sheet = {
        "sheet_id": "h1",
        "candidate_id": "c3",
        "member_id": "p1",
        "kind": "essay",
        "scores": {"clarity": 7, "alternative_view": 5},
        "total": 12,
        "recorded_at": "2020-06-25T05:00:00+00:00",
    }
    doc = protocol(sheets={"h1": sheet})
    kk = render_html(doc, COMMISSION, CANDIDATES, "kk")
    ru = render_html(doc, COMMISSION, CANDIDATES, "ru")
    assert "Қарастырылып отырған мәселеге балама көзқарас" in kk
    assert "Альтернативность взгляда на рассматриваемую проблему" in ru
    assert "alternative_view" not in ru + kk
    [essay] = view(doc, COMMISSION, CANDIDATES, "ru")["annex"]
    assert essay["head"][0].split() == [
        "№",
        "Член",
        "комиссии",
        "Баллы",
        "по",
        "критериям",
        "Итого",
    ]
    assert essay["head"][1].split() == [str(n) for n in range(1, 11)]
    [line] = essay["candidates"][0]["lines"]
    assert line["text"].split() == ["1", "Член", "1", "7", "5", *["—"] * 8, "12"]
    # the figures stand under their criterion's number
    assert [line["text"].index(" 7 ") + 1, line["text"].index(" 5 ") + 1] == [
        essay["head"][1].index(" 1 ") + 1,
        essay["head"][1].index(" 2 ") + 1,
    ]
    assert line["text"] in ru


def sheet(sheet_id: str, member: str, candidate: str, **more: Any) -> dict[str, Any]:
    return {
        "sheet_id": sheet_id,
        "candidate_id": candidate,
        "member_id": member,
        "kind": "project",
        "scores": {"rationality": 7},
        "total": 7,
        "recorded_at": f"2020-06-25T05:00:0{sheet_id[-1]}+00:00",
        **more,
    }


def test_the_annex_groups_sheets_by_candidate_with_members_by_their_number() -> None:
    """A row per candidate in order of name; its lines by member number (the attendance list's);
    a corrected sheet struck through, the reason and the replacing sheet beside the name."""
    board = {**COMMISSION, "members": [{"person_id": "p1", "name": "Ахметов Ержан Жумабекович"}]}
    board["members"].append({"person_id": "p2", "name": "Омарова Айгуль"})
    sheets = [
        sheet("h1", "p2", "c4"),
        sheet("h2", "p1", "c4", superseded_by="h3xxxxxxxxxx"),
        sheet("h3", "p1", "c4", supersedes="h2", reason="опечатка", scores={"rationality": 8}),
        sheet("h4", "p1", "c3"),
    ]
    doc = protocol(sheets={s["sheet_id"]: s for s in sheets})
    [project] = view(doc, board, CANDIDATES, "ru")["annex"]
    akimov, beisenov = project["candidates"]
    assert (akimov["name"], beisenov["name"]) == ("Akimov", "Beisenov")
    assert [(x["text"].split()[:4], x["old"]) for x in beisenov["lines"]] == [
        (["1", "Ахметов", "Е.", "Ж."], True),
        (["1", "Ахметов", "Е.", "Ж."], False),
        (["2", "Омарова", "А.", "7"], False),
    ]
    assert beisenov["notes"] == ["№ 1: заменён листом h3xxxxxx", "№ 1: причина: опечатка"]
    html = render_html(doc, board, CANDIDATES, "ru")
    assert f'<span class="old">{beisenov["lines"][0]["text"]}</span>' in html


def test_the_agenda_is_written_in_the_protocols_language_when_it_was_given() -> None:
    doc = protocol(purpose="I этап: отбор", purpose_kk="I кезең: іріктеу")
    assert "I кезең: іріктеу" in render_html(doc, COMMISSION, CANDIDATES, "kk")
    assert "I этап: отбор" in render_html(doc, COMMISSION, CANDIDATES, "ru")
    older = protocol(purpose="I этап: отбор")  # opened before the Kazakh agenda existed
    assert "I этап: отбор" in render_html(older, COMMISSION, CANDIDATES, "kk")


def test_russian_attendance_agrees_with_the_members_gender() -> None:
    commission = {
        **COMMISSION,
        "members": [
            {"person_id": "p1", "name": "Ахметов Ержан Жумабекович", "gender": "male"},
            {"person_id": "p2", "name": "Ахметова Динара Ермековна", "gender": "female"},
            {"person_id": "p3", "name": "Сериков Арман"},  # not stated
        ],
    }
    doc = protocol(
        attendance={
            "present": ["p1"],
            "absent": ["p2", "p3"],
            "members": 3,
            "required": 2,
            "quorate": False,
        }
    )
    shown = {m["name"]: m["status"] for m in view(doc, commission, CANDIDATES, "ru")["members"]}
    assert shown == {
        "Ахметов Ержан Жумабекович": "присутствовал",
        "Ахметова Динара Ермековна": "отсутствовала",
        "Сериков Арман": "отсутствовал(а)",
    }
    kk = {m["status"] for m in view(doc, commission, CANDIDATES, "kk")["members"]}
    assert kk == {"қатысты", "қатыспады"}


def test_the_place_of_the_sitting_is_written_when_it_was_given() -> None:
    doc = protocol(place="Қонаев, облыс әкімдігі")
    assert "Место проведения" in render_html(doc, COMMISSION, CANDIDATES, "ru")
    assert "Қонаев, облыс әкімдігі" in render_html(doc, COMMISSION, CANDIDATES, "kk")
    assert "Место проведения" not in render_html(protocol(), COMMISSION, CANDIDATES, "ru")
