"""The application form (Annex 1) and the participant's questionnaire (Annex 2) as data.

The questionnaire carries what §6 (eligibility), §7 (nominator), §9 item 5 (indicators),
§12 (tie-break facts) and Annex 3 (the questionnaire score) need.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Self

from pydantic import Field, StringConstraints, model_validator

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
    kind: NominatorKind = Field(description="which of the four nominators of §7")
    name: Text | None = Field(None, description="the nominating body; empty for self-nomination")

    @model_validator(mode="after")
    def _body_is_named(self) -> Self:
        if self.kind is not NominatorKind.self_nomination and self.name is None:
            raise ValueError("a nominating body must be named")
        return self


class PersonName(Frozen):
    surname: Text = Field(description="family name (фамилия)")
    given_name: Text = Field(description="given name (имя)")
    patronymic: Text | None = Field(None, description="patronymic (отчество), if any")

    @property
    def full(self) -> str:
        return " ".join(p for p in (self.surname, self.given_name, self.patronymic) if p)


class ApplicationStatement(Frozen):
    """Annex 1: the request to take part, consent to the terms, date (and Annex 2's consent)."""

    agrees_to_terms: bool = Field(description="Annex 1: accepts the terms of the competition")
    consents_to_personal_data: bool = Field(
        description="Annex 2: consents to the processing of personal data"
    )
    signed_on: date = Field(description="the date of the signature")


class EducationLevel(StrEnum):
    vocational = "vocational"
    higher = "higher"
    postgraduate = "postgraduate"


class Education(Frozen):
    institution: Text = Field(description="the school, college or university")
    graduated_in: Year = Field(description="year of graduation")
    speciality: Text = Field(description="speciality (специальность)")
    qualification: Text | None = Field(None, description="qualification, if stated")
    level: EducationLevel = Field(description="vocational, higher or postgraduate")


class ServiceLength(Frozen):
    """Length of civil service (стаж государственной службы)."""

    years: Count = Field(le=70, description="whole years")
    months: Annotated[int, Field(ge=0, le=11)] = Field(0, description="months beyond the years")

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
    kind: AwardKind = Field(description="Annex 3 criterion 3: the kind of award")
    title: Text = Field(description="the award's name")
    year: Year | None = Field(None, description="year awarded")


class Activity(Frozen):
    """A seminar, internship, course, scientific work or proposal: a title and a year; for
    additional education (Annex 2: "учебное заведение, год окончания, направление,
    специализация") also the institution and the specialisation."""

    title: Text = Field(description="its title (for additional education: the direction)")
    year: Year | None = Field(None, description="the year")
    institution: Text | None = Field(None, description="the institution, if any")
    specialisation: Text | None = Field(None, description="the specialisation, if any")


class ProjectRole(StrEnum):
    developed = "developed"
    implemented = "implemented"


class Project(Frozen):
    title: Text = Field(description="the project's title")
    role: ProjectRole = Field(description="whether the akim developed or implemented it")


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
    language: Language = Field(description="state (Kazakh), russian, english or other")
    name: Text | None = Field(None, description="the language's name when language is 'other'")
    level: LanguageLevel = Field(description="basic, intermediate or fluent (free command)")


class SanctionKind(StrEnum):
    disciplinary = "disciplinary"
    administrative = "administrative"


class Sanction(Frozen):
    """A disciplinary or administrative sanction; §6 admits only akims whose are all lifted."""

    kind: SanctionKind = Field(description="disciplinary or administrative")
    imposed_on: date = Field(description="when it was imposed")
    lifted: bool = Field(description="whether it has been lifted (§6 admits only lifted ones)")
    lifted_on: date | None = Field(None, description="when it was lifted")
    description: Text | None = Field(None, description="what it was for")


Phone = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=5, max_length=40, pattern=r"^\+?[0-9 ()-]+$"
    ),
]
Email = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
    ),
]


class Contacts(Frozen):
    """Annex 2: telephone and e-mail."""

    phone: Phone | None = Field(None, description="telephone, digits with + ( ) - and spaces")
    email: Email | None = Field(None, description="e-mail address")


class Questionnaire(Frozen):
    """Everything the nominator declares about the akim (Annex 1, Annex 2, §9 item 5)."""

    nominator: Nominator = Field(description="who puts the akim forward (§7)")
    akim: PersonName = Field(description="the candidate")
    birth_date: date | None = Field(None, description="the akim's date of birth")
    position: Text = Field(description="the post held, as in the service record")
    place_of_work: Text | None = Field(
        None, description="Annex 2: place of work (the rural district's akimat, by name)"
    )
    contacts: Contacts | None = Field(None, description="Annex 2: telephone and e-mail")
    rural_district_kato: Kato = Field(description="KATO code of the akim's rural district")
    statement: ApplicationStatement = Field(description="Annex 1 statement and consents")
    education: tuple[Education, ...] = Field((), description="every education completed")
    academic_degree: Text | None = Field(None, description="academic degree, if any")
    academic_title: Text | None = Field(
        None, description="academic title (учёное звание), apart from the degree, if any"
    )
    civil_service: ServiceLength = Field(description="length of civil service")
    field_experience: ServiceLength | None = Field(
        None, description="Annex 2: length of work in the field of the competition work"
    )
    appointed_akim_on: date = Field(
        description="the date of appointment to the post of akim (§6: one year, to the day)"
    )
    awards: tuple[Award, ...] = Field((), description="awards by kind (Annex 3 criterion 3)")
    seminars: tuple[Activity, ...] = Field((), description="seminars and forums attended")
    internships: tuple[Activity, ...] = Field((), description="internships completed")
    refresher_courses: tuple[Activity, ...] = Field((), description="refresher courses")
    scientific_works: tuple[Activity, ...] = Field((), description="publications")
    implemented_developments: tuple[Activity, ...] = Field(
        (), description="Annex 2: scientific developments implemented in public administration"
    )
    planned_research: tuple[Activity, ...] = Field(
        (), description="Annex 2: research planned in public service or the field"
    )
    projects: tuple[Project, ...] = Field((), description="projects developed or implemented")
    implements_complex_projects: bool = Field(False, description="§12 tie-break (1)")
    languages: tuple[LanguageSkill, ...] = Field((), description="languages and their level")
    proposals: tuple[Activity, ...] = Field((), description="ways to improve the state body")
    sanctions: tuple[Sanction, ...] = Field((), description="every sanction, lifted or not")
    indicators: SocioEconomicIndicators = Field(description="§9 item 5, as of 1 January")

    def fluent_in(self, *languages: Language) -> bool:
        """True when the akim has free command of every one of ``languages``."""
        fluent = {s.language for s in self.languages if s.level is LanguageLevel.fluent}
        return all(language in fluent for language in languages)

    def count_awards(self, kind: AwardKind) -> int:
        return sum(1 for award in self.awards if award.kind is kind)

    def count_education(self, level: EducationLevel) -> int:
        return sum(1 for item in self.education if item.level is level)
