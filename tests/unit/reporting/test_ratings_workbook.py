"""The ratings as the agency's Excel users open them: a sheet per purpose, names with their KATO
code beside, numbers stored as numbers, the header frozen and filtered; the CSV that Excel with
Russian settings reads into columns and numbers (BOM, ``;``, decimal comma), and the plain one
for programs."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Any

from openpyxl import load_workbook

from services.reporting.documents.ratings import to_csv, to_xlsx

REGION, DISTRICT, OTHER_DISTRICT = "620000000", "622000000", "624000000"


def entry(cid: str, rank: int, total: str, components: list[tuple[str, str, str]]) -> Any:
    return {
        "candidate_id": cid,
        "rank": rank,
        "total": total,
        "components": [
            {"name": n, "value": v, "weight": w, "weighted": v, "count": None}
            for n, v, w in components
        ],
    }


def edition() -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    candidates = {
        "a": {"name": "Ахметова Динара Ермековна", "region": REGION, "district": DISTRICT},
        "b": {"name": "Иванов Ринат Жумабекович", "region": REGION, "district": DISTRICT},
        "c": {"name": "Омаров Ерлан Ерболатович", "region": REGION, "district": OTHER_DISTRICT},
    }
    stage1 = [("questionnaire", "41", "1"), ("project_mean", "62.5556", "1")]
    ratings = [
        {
            "purpose": "nomination",
            "scope": DISTRICT,
            "selected": ["a", "b"],
            "entries": [entry("b", 2, "101.4444", stage1), entry("a", 1, "103.5556", stage1)],
        },
        {
            "purpose": "nomination",
            "scope": OTHER_DISTRICT,
            "selected": ["c"],
            "entries": [entry("c", 1, "99.0000", stage1)],
        },
        {
            "purpose": "regional",
            "scope": REGION,
            "selected": ["c"],
            "entries": [
                entry(
                    "c", 1, "27.3500", [("survey_mean", "7.25", "0.2"), ("essay_mean", "8", "1")]
                ),
                entry("a", 2, "26.1000", [("survey_mean", "6.5", "0.2"), ("essay_mean", "7", "1")]),
            ],
        },
        {
            "purpose": "winners",
            "scope": None,
            "selected": ["c"],
            "entries": [entry("c", 1, "79.5", [("stage2_mean", "79.5", "1")])],
        },
    ]
    return ratings, candidates


def test_the_workbook_has_a_sheet_per_purpose_with_names_codes_and_numbers() -> None:
    ratings, candidates = edition()
    book = load_workbook(io.BytesIO(to_xlsx(ratings, candidates, "ru")))
    assert book.sheetnames == ["Выдвижение по районам", "Финалисты регионов", "Победители"]

    nominations = book["Выдвижение по районам"]
    header = [c.value for c in nominations[1]]
    assert header[:7] == [
        "Регион",
        "Код КАТО региона",
        "Район",
        "Код КАТО района",
        "Место",
        "Кандидат",
        "Итоговый балл",
    ]
    assert nominations.freeze_panes == "A2"
    assert nominations.auto_filter.ref == nominations.dimensions
    lines = [[c.value for c in row] for row in nominations.iter_rows(min_row=2)]
    assert [line[5] for line in lines if line[3] == DISTRICT] == [  # by rank in the district
        "Ахметова Динара Ермековна",
        "Иванов Ринат Жумабекович",
    ]
    first = next(line for line in lines if line[5] == "Ахметова Динара Ермековна")
    assert first[0] == "область Ұлытау" and first[1] == REGION  # a name, its code beside
    assert first[3] == DISTRICT and first[2] and first[2] != DISTRICT
    assert first[4] == 1
    assert isinstance(first[6], float | int | Decimal) and abs(float(first[6]) - 103.5556) < 1e-9
    assert nominations.cell(row=2, column=7).number_format == "0.00##"

    regional = book["Финалисты регионов"]
    header = [c.value for c in regional[1]]
    assert "опрос населения, среднее × 0.2" in header  # a weighted component says its weight
    row = [c.value for c in regional[2]]
    assert row[5] == "Омаров Ерлан Ерболатович"
    assert isinstance(row[header.index("опрос населения, среднее × 0.2")], float | int | Decimal)
    assert row[header.index("Выбран")] == "да"

    kazakh = load_workbook(io.BytesIO(to_xlsx(ratings, candidates, "kk")))
    assert kazakh.sheetnames == ["Аудандар бойынша ұсыну", "Өңірлер финалистері", "Жеңімпаздар"]


def test_the_csv_opens_in_excel_with_russian_settings_and_in_programs() -> None:
    ratings, candidates = edition()
    excel = to_csv(ratings, candidates, "ru", "excel")
    assert excel.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(excel.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:3] == ["Назначение", "Регион", "Код КАТО региона"]
    first = next(r for r in rows if r[6] == "Ахметова Динара Ермековна")
    assert first[0] == "Выдвижение по районам" and first[7] == "103,5556"  # a decimal comma
    assert len({len(r) for r in rows}) == 1  # every line has every column

    plain = to_csv(ratings, candidates, "en", "rfc4180")
    assert not plain.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(plain.decode("utf-8"))))
    assert rows[0][:2] == ["Purpose", "Region"]
    assert next(r for r in rows if r[6] == "Ахметова Динара Ермековна")[7] == "103.5556"
    winners = [r for r in rows if r[0] == "Winners"]
    assert len(winners) == 1 and winners[0][6] == "Омаров Ерлан Ерболатович"
