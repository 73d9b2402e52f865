"""The application form (Annex 1) and the participant's questionnaire (Annex 2) as data.

The questionnaire carries what §6 (eligibility), §7 (nominator), §9 item 5 (indicators),
§12 (tie-break facts) and Annex 3 (the questionnaire score) need.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Self

from pydantic import Field, model_validator

from .indicators import SocioEconomicIndicators
from .values import Count, Frozen, Kato, Text

Year = Annotated[int, Field(ge=1900, le=2100)]


class NominatorKind(StrEnum):
    """Who puts the akim forward (§7)."""

    local_executive_body = "local_executive_body"
    central_body_territorial_unit = "central_body_territorial_unit"
    local_public_organisation = "local_public_organisation"
    self_nomination = "self_nomination"


class Nominator(Frozen):
    kind: NominatorKind
    name: Text | None = Field(None, description="the nominating body; empty for self-nomination")

    @model_validator(mode="after")
    def _body_is_named(self) -> Self:
        if self.kind is not NominatorKind.self_nomination and self.name is None:
            raise ValueError("a nominating body must be named")
        return self


class PersonName(Frozen):
    surname: Text
    given_name: Text
    patronymic: Text | None = None

    @property
    def full(self) -> str:
        return " ".join(p for p in (self.surname, self.given_name, self.patronymic) if p)


class ApplicationStatement(Frozen):
    """Annex 1: the request to take part, consent to the terms, date (and Annex 2's consent)."""

    agrees_to_terms: bool
    consents_to_personal_data: bool
    signed_on: date


class EducationLevel(StrEnum):
    vocational = "vocational"
    higher = "higher"
    postgraduate = "postgraduate"


class Education(Frozen):
    institution: Text
    graduated_in: Year
    speciality: Text
    qualification: Text | None = None
    level: EducationLevel


class ServiceLength(Frozen):
    """Length of civil service (стаж государственной службы)."""

    years: Count
    months: Annotated[int, Field(ge=0, le=11)] = 0

    @property
    def total_months(self) -> int:
        return self.years * 12 + self.months


class AwardKind(StrEnum):
    """Annex 3 criterion 3."""

    departmental = "departmental"
    state = "state"
    honorary_title = "honorary_title"
    international = "international"


class Award(Frozen):
    kind: AwardKind
    title: Text
    year: Year | None = None


class Activity(Frozen):
    """A seminar, internship, course, scientific work or proposal: a title and a year."""

    title: Text
    year: Year | None = None


class ProjectRole(StrEnum):
    developed = "developed"
    implemented = "implemented"


class Project(Frozen):
    title: Text
    role: ProjectRole


class Language(StrEnum):
    state = "state"
    russian = "russian"
    english = "english"
    other = "other"


class LanguageLevel(StrEnum):
    basic = "basic"
    intermediate = "intermediate"
    fluent = "fluent"


class LanguageSkill(Frozen):
    language: Language
    name: Text | None = Field(None, description="the language's name when language is 'other'")
    level: LanguageLevel


class SanctionKind(StrEnum):
    disciplinary = "disciplinary"
    administrative = "administrative"


class Sanction(Frozen):
    """A disciplinary or administrative sanction; §6 admits only akims whose are all lifted."""

    kind: SanctionKind
    imposed_on: date
    lifted: bool
    lifted_on: date | None = None
    description: Text | None = None


class Questionnaire(Frozen):
    """Everything the nominator declares about the akim (Annex 1, Annex 2, §9 item 5)."""

    nominator: Nominator
    akim: PersonName
    birth_date: date | None = None
    position: Text
    rural_district_kato: Kato
    statement: ApplicationStatement
    education: tuple[Education, ...] = ()
    academic_degree: Text | None = None
    civil_service: ServiceLength
    months_as_akim: Count = Field(description="length in the post of akim, months (§6)")
    awards: tuple[Award, ...] = ()
    seminars: tuple[Activity, ...] = ()
    internships: tuple[Activity, ...] = ()
    refresher_courses: tuple[Activity, ...] = ()
    scientific_works: tuple[Activity, ...] = ()
    projects: tuple[Project, ...] = ()
    implements_complex_projects: bool = Field(False, description="§12 tie-break (1)")
    languages: tuple[LanguageSkill, ...] = ()
    proposals: tuple[Activity, ...] = Field((), description="ways to improve the state body")
    sanctions: tuple[Sanction, ...] = ()
    indicators: SocioEconomicIndicators

    def fluent_in(self, *languages: Language) -> bool:
        """True when the akim has free command of every one of ``languages``."""
        fluent = {s.language for s in self.languages if s.level is LanguageLevel.fluent}
        return all(language in fluent for language in languages)

    def count_awards(self, kind: AwardKind) -> int:
        return sum(1 for award in self.awards if award.kind is kind)

    def count_education(self, level: EducationLevel) -> int:
        return sum(1 for item in self.education if item.level is level)
