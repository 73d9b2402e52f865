"""Admission to stage I (§6, §10, §11): every rule is checked, every failure is named.

The secretary records the Regional commission's decision within the check period (§5, §10):
after the window closes and before ``check_period_ends_at``.
"""

from __future__ import annotations

from datetime import datetime

from shared.errors import Conflict, ErrorItem, RuleViolation
from shared.events import Actor, Event

from ..events import ApplicationAdmitted, ApplicationRejected, RuleFailure
from .application_state import ApplicationState, require_undecided
from .calendar import CalendarStep
from .documents import DOCUMENTS, missing_kinds
from .edition import EditionState
from .edition_rules import NominationRules
from .files import file_problems
from .questionnaire import Questionnaire
from .roles import SECRETARY, require_region, require_role
from .tenure import almaty_day, served_full_term, years_after
from .values import Frozen, Id, almaty_iso, almaty_seconds, almaty_text


def check_eligibility(application: ApplicationState, edition: EditionState) -> list[ErrorItem]:
    """Every failed admission rule of ``application`` (an empty list admits it)."""
    rules = edition.nomination_rules
    questionnaire = application.questionnaire
    return [
        *consents(questionnaire),
        *term_in_post(questionnaire, application.submitted_at, rules),
        *unlifted_sanctions(questionnaire),
        *arrived_late(application, edition),
        *missing_documents(application, rules),
        *document_problems(application, rules),
        *indicators_date(questionnaire, rules),
    ]


def consents(questionnaire: Questionnaire) -> list[ErrorItem]:
    """Annex 1 and Annex 2: the akim accepts the terms and the processing of personal data."""
    statement = questionnaire.statement
    missing = {
        "agrees_to_terms": (statement.agrees_to_terms, "the terms of the competition (Annex 1)"),
        "consents_to_personal_data": (
            statement.consents_to_personal_data,
            "the processing of personal data (Annex 2)",
        ),
    }
    return [
        ErrorItem("consent_missing", f"no consent to {what}", f"questionnaire.statement.{name}")
        for name, (given, what) in missing.items()
        if not given
    ]


def term_in_post(
    questionnaire: Questionnaire, submitted_at: datetime, rules: NominationRules
) -> list[ErrorItem]:
    """§6: at least ``min_years_in_post`` years in the post of akim on the day of submission,
    counted to the day in Asia/Almaty from the appointment date."""
    appointed = questionnaire.appointed_akim_on
    if served_full_term(appointed, submitted_at, rules.min_years_in_post):
        return []
    detail = (
        f"appointed akim on {appointed.isoformat()}; on {almaty_day(submitted_at).isoformat()}, "
        f"the day of submission, that is less than {rules.min_years_in_post} year(s), "
        f"which are complete on {years_after(appointed, rules.min_years_in_post).isoformat()} (§6)"
    )
    return [ErrorItem("akim_term_too_short", detail, "questionnaire.appointed_akim_on")]


def unlifted_sanctions(questionnaire: Questionnaire) -> list[ErrorItem]:
    """§6: no unlifted disciplinary or administrative sanction; one item per sanction."""
    return [
        ErrorItem(
            "sanction_not_lifted",
            f"the {s.kind} sanction imposed on {s.imposed_on.isoformat()} is not lifted (§6)",
            f"questionnaire.sanctions[{index}]",
        )
        for index, s in enumerate(questionnaire.sanctions)
        if not s.lifted
    ]


def arrived_late(application: ApplicationState, edition: EditionState) -> list[ErrorItem]:
    """§11.2: the application arrived after the (possibly extended) window."""
    closes = edition.calendar.application_window_closes_at
    if application.submitted_at < closes:
        return []
    detail = (
        f"submitted {almaty_seconds(application.submitted_at)}; the window closed "
        f"{almaty_seconds(closes)} Asia/Almaty (§11.2)"
    )
    return [ErrorItem("application_late", detail, "submitted_at")]


def missing_documents(application: ApplicationState, rules: NominationRules) -> list[ErrorItem]:
    """§9, §11.2: one item per required document not attached, by name; item 6 names both
    kinds when either would do (the field is the first of them)."""
    missing = missing_kinds(
        rules.required_document_kinds,
        application.documents,
        all_of_item=rules.project_work_requires_both,
    )
    return [
        ErrorItem(
            "document_missing",
            f"missing: {' or '.join(DOCUMENTS[k].names.en for k in kinds)} / "
            f"{' или '.join(DOCUMENTS[k].names.ru for k in kinds)} "
            f"(§9 item {DOCUMENTS[kinds[0]].item})",
            f"documents.{kinds[0]}",
        )
        for kinds in missing
    ]


def document_problems(application: ApplicationState, rules: NominationRules) -> list[ErrorItem]:
    """§9: every attached file still fits its kind (the video at most ``video_max_seconds``)."""
    return [
        problem
        for doc in application.documents.values()
        for problem in file_problems(
            rules, doc.kind, doc.media_type, doc.duration_seconds, doc.page_count
        )
    ]


def indicators_date(questionnaire: Questionnaire, rules: NominationRules) -> list[ErrorItem]:
    """§9 item 5: the indicators are as of 1 January of the edition year."""
    as_of = questionnaire.indicators.as_of
    if as_of == rules.indicators_as_of:
        return []
    detail = f"indicators as of {as_of}; they must be as of {rules.indicators_as_of} (§9)"
    return [ErrorItem("indicators_wrong_date", detail, "questionnaire.indicators.as_of")]


class CheckApplication(Frozen):
    """Command: the secretary's admission check of one application (§10, §11)."""

    application_id: Id


def decide_admission(
    application: ApplicationState, edition: EditionState, actor: Actor, at: datetime
) -> list[Event]:
    """§10, §11: the region's secretary admits or rejects, within the check period."""
    require_role(actor, SECRETARY, "decide on admission")
    require_region(actor, application.region_kato, "decide on admission")
    require_undecided(application)
    require_check_period(edition, at)
    failures = check_eligibility(application, edition)
    if failures:
        return [_rejected(application, failures, at)]
    return [_admitted(application, at)]


def require_check_period(edition: EditionState, at: datetime) -> None:
    """§10: the check runs from the window's close until ``check_period_ends_at``."""
    calendar = edition.calendar
    if not calendar.is_over(CalendarStep.application_window, at):
        raise Conflict(
            "check_period_not_started",
            "the file may still change until the application window closes at "
            f"{almaty_text(calendar.application_window_closes_at)} Asia/Almaty",
        )
    if calendar.is_over(CalendarStep.check_period, at):
        raise RuleViolation(
            "check_period_over",
            f"the check period ended at {almaty_text(calendar.check_period_ends_at)} "
            "Asia/Almaty (§10)",
            deadline=almaty_iso(calendar.check_period_ends_at),
        )


def _rejected(
    application: ApplicationState, failures: list[ErrorItem], at: datetime
) -> ApplicationRejected:
    return ApplicationRejected(
        application_id=application.application_id,
        edition_id=application.edition_id,
        errors=tuple(RuleFailure.of(item) for item in failures),
        decided_at=at,
    )


def _admitted(application: ApplicationState, at: datetime) -> ApplicationAdmitted:
    return ApplicationAdmitted(
        application_id=application.application_id,
        edition_id=application.edition_id,
        region_kato=application.region_kato,
        district_kato=application.district_kato,
        rural_district_kato=application.rural_district_kato,
        akim=application.questionnaire.akim,
        decided_at=at,
    )
