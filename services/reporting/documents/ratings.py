"""Ratings for the people who open them in Excel, and for programs.

The workbook: one sheet per purpose (district nominations, regional finalists, winners), a row
per candidate; regions and districts by name with their KATO code in a column of its own; the
rank, the total and every component stored as numbers; the header frozen and filtered. Words in
Russian, Kazakh or English.

The CSV: ``excel`` (the default) opens as it should in Excel with Russian regional settings —
UTF-8 with a byte-order mark, ``;`` between fields, a decimal comma; ``rfc4180`` is for programs
— commas, decimal points, no mark. Both carry the purpose as the first column.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from services.reporting.documents.labels import LABELS
from shared.territory import load_territory

Doc = dict[str, Any]
Lang = Literal["ru", "kk", "en"]
Dialect = Literal["excel", "rfc4180"]

PURPOSES = ("nomination", "regional", "winners")
SHEET_TITLES: dict[str, dict[str, str]] = {
    "ru": {
        "nomination": "Выдвижение по районам",
        "regional": "Финалисты регионов",
        "winners": "Победители",
    },
    "kk": {
        "nomination": "Аудандар бойынша ұсыну",
        "regional": "Өңірлер финалистері",
        "winners": "Жеңімпаздар",
    },
    "en": {
        "nomination": "District nominations",
        "regional": "Regional finalists",
        "winners": "Winners",
    },
}
COLUMNS: dict[str, dict[str, str]] = {
    "ru": {
        "purpose": "Назначение",
        "region": "Регион",
        "region_kato": "Код КАТО региона",
        "district": "Район",
        "district_kato": "Код КАТО района",
        "rank": "Место",
        "candidate": "Кандидат",
        "total": "Итоговый балл",
        "selected": "Выбран",
        "candidate_id": "Идентификатор кандидата",
        "yes": "да",
        "no": "нет",
        "reference": "справочно",
    },
    "kk": {
        "purpose": "Мақсаты",
        "region": "Өңір",
        "region_kato": "Өңірдің ӘАОЖ коды",
        "district": "Аудан",
        "district_kato": "Ауданның ӘАОЖ коды",
        "rank": "Орны",
        "candidate": "Үміткер",
        "total": "Қорытынды балл",
        "selected": "Таңдалды",
        "candidate_id": "Үміткердің сәйкестендіргіші",
        "yes": "иә",
        "no": "жоқ",
        "reference": "анықтама үшін",
    },
    "en": {
        "purpose": "Purpose",
        "region": "Region",
        "region_kato": "Region KATO code",
        "district": "District",
        "district_kato": "District KATO code",
        "rank": "Rank",
        "candidate": "Candidate",
        "total": "Total",
        "selected": "Selected",
        "candidate_id": "Candidate id",
        "yes": "yes",
        "no": "no",
        "reference": "for reference",
    },
}
COMPONENTS_EN = {
    "questionnaire": "questionnaire (Annex 3)",
    "project_mean": "project, mean",
    "survey_mean": "residents' survey, mean",
    "essay_mean": "essay, mean",
    "interview_mean": "interview, mean",
    "stage2_mean": "project defence, mean",
    "stage2_sum": "project defence, sum",
    "stage1_points": "stage I points (selection)",
    "feedback": "openness to residents (§14.2)",
    "ethics": "civil-service ethics questionnaire",
}
FIXED = ("region", "region_kato", "district", "district_kato", "rank", "candidate", "total")


@dataclass(frozen=True)
class Table:
    """One purpose's rows: the header and the values (numbers as ``Decimal``/``int``)."""

    purpose: str
    title: str
    header: list[str]
    rows: list[list[Any]]
    numeric: frozenset[int]  # the columns holding numbers


def component_name(name: str, lang: Lang) -> str:
    if lang == "en":
        return COMPONENTS_EN.get(name, name.replace("_", " "))
    return LABELS[lang].get(f"component_{name}", name.replace("_", " "))


def place_name(kato: str | None, lang: Lang) -> str:
    if not kato:
        return ""
    unit = load_territory().find(kato)
    if unit is None:
        return kato
    return unit.name_kk if lang == "kk" else unit.name_ru


def number(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def tables(ratings: list[Doc], candidates: dict[str, Doc], lang: Lang = "ru") -> list[Table]:
    """A table per purpose, in the order of the competition; a purpose nobody has reached yet
    is still there, with its header only."""
    words = COLUMNS[lang]
    out: list[Table] = []
    for purpose in PURPOSES:
        mine = [r for r in ratings if r.get("purpose") == purpose]
        names: list[str] = []
        weights: dict[str, Decimal] = {}
        for r in mine:
            for e in r.get("entries", []):
                for c in e.get("components", []):
                    if c["name"] not in names:
                        names.append(c["name"])
                    weight = number(c.get("weight"))
                    weights.setdefault(c["name"], Decimal(1) if weight is None else weight)
        header = [words[k] for k in FIXED]
        for n in names:
            weight = weights[n]
            shown = component_name(n, lang)
            if weight == 0:  # shown beside, not counted (§15: for reference)
                shown = f"{shown} ({words['reference']})"
            elif weight != 1:
                shown = f"{shown} × {weight.normalize()}"
            header.append(shown)
        header += [words["selected"], words["candidate_id"]]
        rows: list[tuple[tuple[str, str, int], list[Any]]] = []
        for r in mine:
            selected = set(r.get("selected") or [])
            for e in r.get("entries", []):
                who = candidates.get(e["candidate_id"], {})
                region = who.get("region") or (r.get("scope") if purpose == "regional" else None)
                district = who.get("district") or (
                    r.get("scope") if purpose == "nomination" else None
                )
                values = {c["name"]: number(c.get("value")) for c in e.get("components", [])}
                line: list[Any] = [
                    place_name(region, lang),
                    region or "",
                    place_name(district, lang),
                    district or "",
                    int(e["rank"]),
                    who.get("name", ""),
                    number(e.get("total")),
                    *(values.get(n) for n in names),
                    words["yes"] if e["candidate_id"] in selected else words["no"],
                    e["candidate_id"],
                ]
                if purpose == "winners":  # the republic's: by place
                    order = ("", "", int(e["rank"]))
                elif purpose == "regional":  # a region's: by rank, whatever the district
                    order = (line[0], "", int(e["rank"]))
                else:
                    order = (line[0], line[2], int(e["rank"]))
                rows.append((order, line))
        rows.sort(key=lambda pair: pair[0])
        numeric = frozenset({4, 6, *range(7, 7 + len(names))})
        out.append(
            Table(purpose, SHEET_TITLES[lang][purpose], header, [r for _, r in rows], numeric)
        )
    return out


def to_csv(
    ratings: list[Doc],
    candidates: dict[str, Doc],
    lang: Lang = "ru",
    dialect: Dialect = "excel",
) -> bytes:
    """Every table one after another, the purpose in the first column."""
    excel = dialect == "excel"
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";" if excel else ",", lineterminator="\r\n")
    found = tables(ratings, candidates, lang)
    names: list[str] = []
    for t in found:  # one header for all: the union of the components, in order
        for h in t.header[len(FIXED) : -2]:
            if h not in names:
                names.append(h)
    words = COLUMNS[lang]
    writer.writerow(
        [
            words["purpose"],
            *(words[k] for k in FIXED),
            *names,
            words["selected"],
            words["candidate_id"],
        ]
    )
    for t in found:
        mine = t.header[len(FIXED) : -2]
        for row in t.rows:
            by_name = dict(zip(mine, row[len(FIXED) : -2], strict=True))
            line = [t.title, *row[: len(FIXED)], *(by_name.get(n) for n in names), *row[-2:]]
            writer.writerow([_cell(v, excel) for v in line])
    text = buffer.getvalue()
    return ("\ufeff" + text).encode("utf-8") if excel else text.encode("utf-8")


def _cell(value: Any, excel: bool) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        text = format(value.normalize(), "f") if value == value.to_integral() else str(value)
        return text.replace(".", ",") if excel else text
    return str(value)


def to_xlsx(ratings: list[Doc], candidates: dict[str, Doc], lang: Lang = "ru") -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    book = Workbook()
    first = book.active
    assert first is not None
    book.remove(first)
    for t in tables(ratings, candidates, lang):
        sheet = book.create_sheet(t.title[:31])  # Excel's limit on a sheet's name
        sheet.append(t.header)
        for row in t.rows:
            sheet.append(row)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
            cell.alignment = Alignment(wrap_text=True, vertical="top")
        for column in t.numeric:
            fmt = "0" if column == 4 else "0.00##"
            for (cell,) in sheet.iter_rows(
                min_row=2, min_col=column + 1, max_col=column + 1, max_row=sheet.max_row
            ):
                cell.number_format = fmt
        sheet.freeze_panes = "A2"
        sheet.auto_filter.ref = sheet.dimensions
        for n, width in enumerate(_widths(t.header, t.rows), start=1):
            sheet.column_dimensions[get_column_letter(n)].width = width
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _widths(header: list[str], rows: Iterable[list[Any]]) -> list[float]:
    widest = [min(len(h), 24) for h in header]
    for row in rows:
        for n, value in enumerate(row):
            widest[n] = max(widest[n], min(len(str(value if value is not None else "")), 48))
    return [w + 2 for w in widest]
