"""Realistic, varied applications for the demo, drawn from a seeded ``random.Random``.

About one in ten is made ineligible for a named reason (§6, §9): an akim with 11 months in
the post, a sanction not lifted, or documents missing from the file.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from random import Random
from typing import Any

from services.nominations.domain.documents import DocumentKind
from services.nominations.domain.tenure import months_before
from shared.territory import Unit

WINDOW_OPENS = date(2020, 5, 30)
PROJECT_WORK = [DocumentKind.project_presentation, DocumentKind.project_video]

MALE = ("Ерлан", "Нурлан", "Бауыржан", "Серик", "Асхат", "Даурен", "Ержан", "Марат", "Канат",
        "Айдос", "Берик", "Жандос", "Талгат", "Мурат", "Арман", "Ринат", "Сергей",
        "Виктор")  # fmt: skip
FEMALE = ("Гульнара", "Айгуль", "Сауле", "Жанар", "Динара", "Лаура", "Алия", "Мадина", "Асель")
SURNAMES = ("Ахметов", "Жумабаев", "Сейтказиев", "Нурланов", "Омаров", "Касымов", "Искаков",
            "Абдрахманов", "Тлеубаев", "Сулейменов", "Бекмуханов", "Мукашев", "Иванов",
            "Есенов", "Байжанов", "Калиев", "Турсынов", "Смагулов")  # fmt: skip
FATHERS = ("Болат", "Серик", "Ермек", "Кайрат", "Нурлан", "Марат", "Амангельды", "Жумабек",
           "Муратбек", "Алексей", "Ерболат", "Тимур")  # fmt: skip
UNIVERSITIES = (
    ("Казахский национальный аграрный университет", "агрономия"),
    ("Евразийский национальный университет им. Л.Н. Гумилёва", "юриспруденция"),
    ("Карагандинский университет им. Е.А. Букетова", "экономика"),
    ("Костанайский региональный университет им. А. Байтурсынова", "ветеринария"),
    ("Западно-Казахстанский аграрно-технический университет им. Жангир хана", "зоотехния"),
    ("Южно-Казахстанский университет им. М. Ауэзова", "финансы"),
)
ACADEMY = ("Академия государственного управления при Президенте РК", "государственное управление")
SEMINARS = ("Форум сельских акимов", "Семинар по бюджетному планированию",
            "Семинар «Цифровой аким»", "Тренинг по антикоррупционной культуре")  # fmt: skip
PROJECTS = ("Ауыл — ел бесігі", "Модернизация водопровода", "Строительство спортплощадки",
            "Развитие молочно-товарной фермы", "Освещение улиц села",
            "Капремонт школы")  # fmt: skip
BODIES = {
    "local_executive_body": ("Акимат района", "Аппарат акима района"),
    "central_body_territorial_unit": ("Департамент государственных доходов по области",
                                      "Территориальная инспекция Комитета ветеринарии"),
    "local_public_organisation": ("ОО «Ауыл жастары»", "Палата предпринимателей «Атамекен»"),
    "self_nomination": (),
}  # fmt: skip


class Ineligibility(StrEnum):
    """Why a demo application will be rejected at the admission check (§6, §9, §11)."""

    term_too_short = "akim_term_too_short"
    sanction_not_lifted = "sanction_not_lifted"
    documents_missing = "document_missing"


@dataclass(frozen=True)
class PlannedApplication:
    """One application of the demo: what is submitted and which documents follow it."""

    application_id: str
    rural_district: Unit
    questionnaire: dict[str, Any]
    documents: tuple[DocumentKind, ...]
    ineligible: Ineligibility | None


NOT_IN_THE_FILE = (DocumentKind.essay, DocumentKind.photo)
"""Kinds no part of §9's file: the essay is written later (§14.4), the photo is optional."""


def plan(rng: Random, rural_district: Unit) -> PlannedApplication:
    """An application for the akim of ``rural_district``; one in ten is ineligible."""
    reason = rng.choice(list(Ineligibility)) if rng.random() < 0.1 else None
    documents: list[DocumentKind] = [k for k in DocumentKind if k not in NOT_IN_THE_FILE]
    if reason is Ineligibility.documents_missing:
        removed: list[DocumentKind] = rng.sample(documents, rng.randint(1, 2))
        if any(kind in PROJECT_WORK for kind in removed):  # §9 item 6: either one would do
            removed += PROJECT_WORK
        documents = [kind for kind in documents if kind not in removed]
    documents.append(DocumentKind.essay)  # §14.4, no part of §9's file: always written
    return PlannedApplication(
        application_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        rural_district=rural_district,
        questionnaire=questionnaire(rng, rural_district, reason),
        documents=tuple(documents),
        ineligible=reason,
    )


def questionnaire(rng: Random, unit: Unit, reason: Ineligibility | None) -> dict[str, Any]:
    """Annex 1 and Annex 2 for a plausible akim of ``unit``."""
    months_as_akim = 11 if reason is Ineligibility.term_too_short else rng.randint(12, 120)
    service_years = rng.randint(months_as_akim // 12 + 1, 30)
    # the window opens 30 May 2020: a term counted back from then is a year or more on any
    # day of the window; the short one, counted back from 30 June, is short on every day of it
    counted_from = date(2020, 6, 30) if reason is Ineligibility.term_too_short else WINDOW_OPENS
    appointed = months_before(counted_from, months_as_akim)
    return {
        "nominator": _nominator(rng),
        "akim": _person(rng),
        "birth_date": (date(1962, 1, 1) + timedelta(days=rng.randint(0, 365 * 30))).isoformat(),
        "position": f"аким {unit.name_ru}",
        "rural_district_kato": unit.kato,
        "statement": {
            "agrees_to_terms": True,
            "consents_to_personal_data": True,
            "signed_on": (date(2020, 5, 30) + timedelta(days=rng.randint(0, 14))).isoformat(),
        },
        "education": _education(rng),
        "academic_degree": rng.choice(("кандидат экономических наук", "доктор PhD"))
        if rng.random() < 0.05
        else None,
        "civil_service": {"years": service_years, "months": rng.randint(0, 11)},
        "appointed_akim_on": appointed.isoformat(),
        "awards": _awards(rng),
        "seminars": _activities(rng, SEMINARS, 3),
        "internships": _activities(rng, ("Стажировка в акимате области",), 1),
        "refresher_courses": _activities(rng, ("Курсы повышения квалификации АГУ",), 2),
        "scientific_works": _activities(rng, ("Статья о развитии АПК",), 1, chance=0.1),
        "projects": [
            {"title": title, "role": rng.choice(("developed", "implemented"))}
            for title in rng.sample(PROJECTS, rng.randint(0, 3))
        ],
        "implements_complex_projects": rng.random() < 0.2,
        "languages": _languages(rng),
        "proposals": _activities(rng, ("Предложение по цифровизации услуг",), 1, chance=0.3),
        "sanctions": _sanctions(rng, reason),
        "indicators": _indicators(rng),
    }


def _nominator(rng: Random) -> dict[str, Any]:
    kind = rng.choice(sorted(BODIES))
    bodies = BODIES[kind]
    return {"kind": kind, "name": rng.choice(bodies)} if bodies else {"kind": kind}


def _person(rng: Random) -> dict[str, str]:
    female = rng.random() < 0.2
    ending = "а" if female else ""
    father = rng.choice(FATHERS)
    return {
        "surname": rng.choice(SURNAMES) + ending,
        "given_name": rng.choice(FEMALE if female else MALE),
        "patronymic": patronymic(father, female),
    }


def patronymic(father: str, female: bool) -> str:
    """Russian-style patronymic: Алексей → Алексеевич, Амангельды → Амангельдиевич."""
    if father.endswith("ей"):
        stem, male_end, female_end = father[:-2], "еевич", "еевна"
    elif father.endswith("ы"):
        stem, male_end, female_end = father[:-1], "иевич", "иевна"
    else:
        stem, male_end, female_end = father, "ович", "овна"
    return stem + (female_end if female else male_end)


def _education(rng: Random) -> list[dict[str, Any]]:
    university, speciality = rng.choice(UNIVERSITIES)
    year = rng.randint(1985, 2012)
    found = [_degree(university, speciality, year, "higher")]
    if rng.random() < 0.2:
        found.append(_degree(*ACADEMY, min(year + rng.randint(3, 10), 2019), "postgraduate"))
    elif rng.random() < 0.15:
        found.append(_degree("Университет «Туран»", "менеджмент", min(year + 5, 2019), "higher"))
    return found


def _degree(institution: str, speciality: str, year: int, level: str) -> dict[str, Any]:
    return {
        "institution": institution,
        "graduated_in": year,
        "speciality": speciality,
        "level": level,
    }


def _awards(rng: Random) -> list[dict[str, Any]]:
    chances = (
        ("departmental", 0.3, "Почётная грамота акима области"),
        ("state", 0.1, "Медаль «Ерен еңбегі үшін»"),
        ("honorary_title", 0.05, "Почётный гражданин района"),
        ("international", 0.02, "Медаль СНГ «За заслуги»"),
    )
    return [
        {"kind": kind, "title": title, "year": rng.randint(2010, 2019)}
        for kind, chance, title in chances
        if rng.random() < chance
    ]


def _activities(
    rng: Random, titles: tuple[str, ...], most: int, chance: float = 0.6
) -> list[dict[str, Any]]:
    if rng.random() >= chance:
        return []
    count = rng.randint(1, most)
    return [{"title": rng.choice(titles), "year": rng.randint(2015, 2019)} for _ in range(count)]


def _languages(rng: Random) -> list[dict[str, str]]:
    state = "fluent" if rng.random() < 0.85 else "intermediate"
    russian = "fluent" if rng.random() < 0.9 else "intermediate"
    english = rng.choices(("basic", "intermediate", "fluent"), weights=(6, 3, 1))[0]
    return [
        {"language": "state", "level": state},
        {"language": "russian", "level": russian},
        {"language": "english", "level": english},
    ]


def _sanctions(rng: Random, reason: Ineligibility | None) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if rng.random() < 0.1:
        found.append(_sanction(rng, lifted=True))
    if reason is Ineligibility.sanction_not_lifted:
        found.append(_sanction(rng, lifted=False))
    return found


def _sanction(rng: Random, lifted: bool) -> dict[str, Any]:
    imposed = date(2017, 1, 1) + timedelta(days=rng.randint(0, 1000))
    return {
        "kind": rng.choice(("disciplinary", "administrative")),
        "imposed_on": imposed.isoformat(),
        "lifted": lifted,
        "lifted_on": (imposed + timedelta(days=365)).isoformat() if lifted else None,
        "description": "замечание" if lifted else "выговор",
    }


def _indicators(rng: Random) -> dict[str, Any]:
    extra = [{"name": "Поголовье КРС", "value": rng.randint(500, 9000), "unit": "голов"}]
    return {
        "as_of": "2020-01-01",
        "investment_tenge": rng.randint(10, 2_000) * 1_000_000,
        "jobs_created": rng.randint(0, 150),
        "agricultural_output_tenge": rng.randint(100, 10_000) * 1_000_000,
        "migration": {"arrived": rng.randint(10, 400), "departed": rng.randint(10, 500)},
        "registered_offences": rng.randint(0, 40),
        "extra": extra if rng.random() < 0.3 else [],
    }
