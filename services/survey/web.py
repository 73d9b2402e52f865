"""Rendering of the resident survey pages (DOMAIN §14.3, Annex 5) in Kazakh, Russian and English.

Pure helpers, no web framework: routes call :func:`pick_language`, :func:`read_form`,
:func:`render_form`, :func:`render_confirmation` and :func:`message`. Pages work on a phone
without JavaScript. Texts come from the Babel catalogs in ``locales/`` (see its README);
criterion names come from the rubric data.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time
from babel.support import Translations
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from services.survey.domain.answers import refusal
from services.survey.domain.iin import iin_problem
from services.survey.domain.rubric import LANGS, Lang, Rubric
from services.survey.domain.state import SurveyState
from services.survey.domain.survey import ensure_accepting
from shared.errors import DomainError, ErrorItem

_HERE = Path(__file__).parent
LOCALES = _HERE / "locales"
DEFAULT_LANG: Lang = "kk"
LANGUAGE_NAMES: tuple[tuple[Lang, str], ...] = (
    ("kk", "Қазақша"),
    ("ru", "Русский"),
    ("en", "English"),
)
_ZONE = ZoneInfo("Asia/Almaty")  # API.md: deadlines are shown in Asia/Almaty time


def N_(text: str) -> str:
    """Marks a message for ``pybabel extract``; translated later by :func:`message`."""
    return text


def Nn_(singular: str, plural: str) -> tuple[str, str]:
    """Marks a message with a plural form for ``pybabel extract``."""
    return singular, plural


_MESSAGES: dict[str, str] = {
    "response_recorded": N_("Thank you! Your answers have been recorded."),
    "already_answered": N_(
        "An answer has already been recorded for this IIN. Each resident may answer only once."
    ),
    "survey_closed": N_("The survey is closed. Answers are no longer accepted."),
    "survey_not_open": N_("The survey has not started yet. Please come back later."),
    "survey_not_found": N_("This survey does not exist."),
    "invalid_iin": N_("The IIN is not valid. Check all 12 digits and try again."),
    "answer_out_of_range": N_(
        "Some answers are not valid scores. Check the criteria marked below."
    ),
    "answer_not_integer": N_("Some answers are not valid scores. Check the criteria marked below."),
    "answer_missing": N_("Please rate every criterion."),
    "wrong_answer_count": N_("The form is incomplete: every criterion needs a score."),
    "not_on_roll": N_("This IIN is not on the list of residents of this rural district."),
    "rate_limited": N_("Too many attempts. Please try again later."),
    "error": N_("Something went wrong. Please try again."),
}
_RETRY = Nn_(
    "Too many attempts. Please try again in %(num)d second.",
    "Too many attempts. Please try again in %(num)d seconds.",
)
_CRITERION = N_("Criterion %(number)s: choose a score from %(min)s to %(max)s.")
_ALIASES = {"kz": "kk"}  # the country code, often used for Kazakh on local sites
_ANSWER_FIELD = re.compile(r"^answers\[(\d+)\]$")


@cache
def translations(lang: Lang) -> Translations:
    """The compiled catalog of ``lang`` (``locales/<lang>/LC_MESSAGES/messages.mo``)."""
    loaded = Translations.load(str(LOCALES), [lang], "messages")
    if not isinstance(loaded, Translations):
        raise FileNotFoundError(f"no compiled catalog for {lang} under {LOCALES}")
    return loaded


def message(code: str, lang: Lang, **params: Any) -> str:
    """The resident-facing text of a refusal (or ``response_recorded``) in ``lang``."""
    catalog = translations(lang)
    if code == "rate_limited" and params.get("retry_after"):
        num = int(params["retry_after"])
        return catalog.ngettext(*_RETRY, num) % {"num": num}
    return catalog.gettext(_MESSAGES.get(code, _MESSAGES["error"])) % params


def pick_language(query_lang: str | None, accept_language: str | None) -> Lang:
    """``?lang=`` when valid, else the best of ``Accept-Language`` by q-value, else kk."""
    wanted = (query_lang or "").strip().lower()
    wanted = _ALIASES.get(wanted, wanted)
    if wanted in LANGS:
        return _as_lang(wanted)
    best: tuple[float, int, Lang] | None = None
    for order, part in enumerate((accept_language or "").split(",")):
        tag, _, rest = part.strip().partition(";")
        primary = tag.strip().lower().split("-")[0]
        if primary not in LANGS:
            continue
        quality = _quality(rest)
        if quality > 0 and (best is None or (quality, -order) > best[:2]):
            best = (quality, -order, _as_lang(primary))
    return best[2] if best else DEFAULT_LANG


def _quality(params: str) -> float:
    """The q-value of one Accept-Language entry; a malformed one counts as 0 (ignored)."""
    match = re.search(r"q\s*=\s*([^;\s]*)", params)
    if match is None:
        return 1.0
    try:
        quality = float(match.group(1))
    except ValueError:
        return 0.0
    return quality if 0 <= quality <= 1 else 0.0


def _as_lang(code: str) -> Lang:
    return next(lang for lang in LANGS if lang == code)


@dataclass(frozen=True)
class SurveyPage:
    """What the survey page shows; ``notice`` (a refusal code) replaces the form."""

    survey_id: UUID
    rubric: Rubric
    place: Mapping[str, str]  # the rural district's name by language (KATO gives kk and ru)
    closes_at: datetime
    akim: str | None = None
    notice: str | None = None  # "survey_closed" | "survey_not_open" | None
    action: str = ""  # the form's target; "" posts back to the page's own path

    def place_in(self, lang: Lang) -> str:
        for code in (lang, "ru", "kk", "en"):
            if self.place.get(code):
                return self.place[code]
        return ""


@dataclass(frozen=True)
class _Link:
    anchor: str
    message: str


@dataclass(frozen=True)
class _Summary:
    message: str
    links: tuple[_Link, ...]


def notice_for(state: SurveyState | None, now: datetime) -> str | None:
    """The refusal code whose notice replaces the form at ``now``, or None when open."""
    try:
        ensure_accepting(state, now)
    except DomainError as refused:
        return refused.code
    return None


def read_form(form: Mapping[str, str], rubric: Rubric) -> tuple[str, list[int]]:
    """The IIN (spaces and dashes removed) and answers ``a1..aN`` of a posted form; 422 with
    every problem (``invalid_iin``, ``answer_missing``, ``answer_not_integer``)."""
    iin = re.sub(r"[\s-]", "", form.get("iin", ""))
    errors: list[ErrorItem] = []
    problem = iin_problem(iin)
    if problem is not None:
        errors.append(ErrorItem("invalid_iin", problem.detail, field="iin"))
    answers: list[int] = []
    for index, criterion in enumerate(rubric.criteria):
        raw = form.get(f"a{criterion.number}", "").strip()
        where = f"answers[{index}]"
        if not raw:
            errors.append(ErrorItem("answer_missing", f"criterion {criterion.number}", where))
        elif not re.fullmatch(r"[+-]?\d+", raw):
            errors.append(ErrorItem("answer_not_integer", f"criterion {criterion.number}", where))
        else:
            answers.append(int(raw))
    if errors:
        raise refusal(errors)
    return iin, answers


def render_form(
    survey: SurveyPage,
    lang: Lang,
    error: DomainError | None = None,
    values: Mapping[str, str] | None = None,
    *,
    idempotency_key: str | None = None,
) -> str:
    """The survey page: the form (re-filled from ``values``), or the notice that replaces it;
    ``error`` is shown in ``lang`` above the form and next to each field it names."""
    values = values or {}
    fields = _field_errors(error, survey.rubric, lang)
    questions = [
        {
            "number": c.number,
            "name": c.name.in_(lang),
            "max": c.max,
            "options": range(c.max + 1),
            "value": _int_or_none(values.get(f"a{c.number}")),
            "error": fields.get(f"q{c.number}"),
        }
        for c in survey.rubric.criteria
    ]
    summary = None
    if error is not None:
        links = tuple(_Link(anchor, text) for anchor, text in fields.items())
        summary = _Summary(message(error.code, lang, **error.extra), links)
    return (
        _env(lang)
        .get_template("form.html")
        .render(
            lang=lang,
            languages=LANGUAGE_NAMES,
            place=survey.place_in(lang),
            akim=survey.akim,
            notice=message(survey.notice, lang) if survey.notice else None,
            deadline=_deadline(survey.closes_at, lang),
            error=summary,
            action=f"{survey.action}?lang={lang}",
            idempotency_key=idempotency_key,
            iin=values.get("iin", ""),
            iin_error=fields.get("iin"),
            top=max(c.max for c in survey.rubric.criteria),
            questions=questions,
        )
    )


def render_confirmation(lang: Lang) -> str:
    """The page shown once a response is recorded."""
    return (
        _env(lang)
        .get_template("confirmation.html")
        .render(
            lang=lang, languages=LANGUAGE_NAMES, confirmation=message("response_recorded", lang)
        )
    )


def _field_errors(error: DomainError | None, rubric: Rubric, lang: Lang) -> dict[str, str]:
    """Anchor (``iin``, ``q<n>``) -> localised message, in the form's order."""
    if error is None:
        return {}
    found: dict[str, str] = {}
    for item in error.errors:
        match = _ANSWER_FIELD.match(item.field or "")
        if item.field == "iin":
            found["iin"] = message("invalid_iin", lang)
        elif match and int(match.group(1)) < rubric.size:
            criterion = rubric.criteria[int(match.group(1))]
            text = translations(lang).gettext(_CRITERION)
            found[f"q{criterion.number}"] = text % {
                "number": criterion.number,
                "min": 0,
                "max": criterion.max,
            }
    order = ["iin", *(f"q{c.number}" for c in rubric.criteria)]
    return {anchor: found[anchor] for anchor in order if anchor in found}


def _deadline(moment: datetime, lang: Lang) -> str:
    try:
        local = moment.astimezone(_ZONE)
    except OverflowError:  # a moment at the very edge of the calendar: shown as it was given
        local = moment
    return f"{format_date(local, 'long', locale=lang)}, {format_time(local, 'short', locale=lang)}"


def _int_or_none(raw: str | None) -> int | None:
    return int(raw) if raw is not None and raw.strip().isdigit() else None


@cache
def _env(lang: Lang) -> Environment:
    env = Environment(
        loader=FileSystemLoader(_HERE / "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(translations(lang), newstyle=True)  # type: ignore[attr-defined]
    return env


def render_notice(code: str, lang: Lang) -> str:
    """A page with one message in ``lang`` (e.g. ``survey_not_found``) and no form."""
    return (
        _env(lang)
        .get_template("notice.html")
        .render(lang=lang, languages=LANGUAGE_NAMES, notice=message(code, lang))
    )
