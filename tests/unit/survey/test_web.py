"""The survey pages (§14.3): language choice, no-JavaScript form, errors and confirmation
in Kazakh, Russian and English."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest
from markupsafe import escape

from services.survey.domain.iin import make_iin
from services.survey.domain.rubric import LANGS
from services.survey.web import (
    SurveyPage,
    message,
    notice_for,
    pick_language,
    read_form,
    render_confirmation,
    render_form,
)
from shared.errors import DomainError, RuleViolation

from .builders import CLOSES, DURING, OPENS, RULES, opened_events, state_of

PAGE = SurveyPage(
    survey_id=UUID("0190f5a0-0000-7000-8000-000000000001"),
    rubric=RULES.rubric,
    place={"kk": "Ақши ауылдық округі", "ru": "Акшинский сельский округ"},
    closes_at=datetime(2020, 7, 20, 12, 30, tzinfo=UTC),
    akim="Сейітов Әлібек",
)

# --- language --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "header", "expected"),
    [
        (None, None, "kk"),
        ("ru", "en", "ru"),
        ("EN", None, "en"),
        ("kz", "ru", "kk"),
        (None, "ru;q=2, en;q=0.5", "en"),
        ("de", "ru-RU,ru;q=0.9,en;q=0.8", "ru"),
        (None, "en-US,en;q=0.9,ru;q=0.8", "en"),
        (None, "de-DE,de;q=0.9", "kk"),
        (None, "ru;q=0.5, kk;q=0.9", "kk"),
        (None, "kk-KZ, ru", "kk"),
        (None, "ru;q=0, en;q=0.1", "en"),
        (None, "ru;q=abc", "kk"),
        (None, "*", "kk"),
    ],
)
def test_language_comes_from_query_then_accept_language_then_kazakh(
    query: str | None, header: str | None, expected: str
) -> None:
    assert pick_language(query, header) == expected


# --- the form --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        (
            "kk",
            [
                "Ауыл әкімінің жұмысын қалай бағалайсыз?",
                "Жауаптарды жіберу",
                "ЖСН",
                "Ақши ауылдық округі",
            ],
        ),
        (
            "ru",
            [
                "Как вы оцениваете работу вашего сельского акима?",
                "Отправить ответы",
                "ИИН",
                "Акшинский",
            ],
        ),
        (
            "en",
            ["How do you rate the work of your rural akim?", "Send my answers", "IIN", "Акшинский"],
        ),
    ],
)
def test_the_form_is_rendered_in_the_chosen_language(lang: str, expected: list[str]) -> None:
    html = render_form(PAGE, lang)  # type: ignore[arg-type]
    assert f'<html lang="{lang}">' in html
    for text in expected:
        assert text in html
    for criterion in RULES.rubric.criteria:
        assert str(escape(criterion.name.in_(lang))) in html  # type: ignore[arg-type]


def test_the_deadline_is_shown_in_almaty_time_in_each_language() -> None:
    assert "20 шілде" in render_form(PAGE, "kk")
    assert "до 20 июля 2020" in render_form(PAGE, "ru")
    assert "July 20, 2020" in render_form(PAGE, "en")


def test_a_deadline_at_the_edge_of_the_calendar_still_renders() -> None:
    edge = datetime(9999, 12, 31, 23, 59, tzinfo=UTC)  # Almaty time would be year 10000
    page = SurveyPage(PAGE.survey_id, RULES.rubric, PAGE.place, edge)
    assert "9999" in render_form(page, "en")


def test_the_form_works_on_a_phone_without_javascript() -> None:
    html = render_form(PAGE, "kk")
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert '<form method="post"' in html
    assert "<script" not in html and "http://" not in html and "https://" not in html
    assert "<link" not in html and " src=" not in html


def test_the_iin_field_is_labelled_numeric_and_not_autocompleted() -> None:
    html = render_form(PAGE, "ru")
    field = re.search(r"<input id=\"iin\"[^>]*>", html)
    assert field is not None
    for attribute in (
        'inputmode="numeric"',
        'pattern="[0-9]{12}"',
        'autocomplete="off"',
        "required",
    ):
        assert attribute in field.group(0)
    assert '<label for="iin">' in html


def test_each_criterion_is_an_accessible_radio_group_from_zero_to_its_maximum() -> None:
    html = render_form(PAGE, "en")
    assert html.count("<fieldset") == RULES.rubric.size == html.count("<legend>")
    for criterion in RULES.rubric.criteria:
        radios = re.findall(
            rf'<label><input type="radio" name="a{criterion.number}" value="(\d+)"', html
        )
        assert radios == [str(v) for v in range(criterion.max + 1)]


def test_the_language_switcher_links_to_the_three_languages() -> None:
    html = render_form(PAGE, "ru")
    for code in ("kk", "ru", "en"):
        assert f'href="?lang={code}"' in html
    assert 'href="?lang=ru" hreflang="ru" lang="ru" aria-current="page"' in html
    assert 'action="?lang=ru"' in html


def test_an_idempotency_key_travels_in_the_form() -> None:
    html = render_form(PAGE, "kk", idempotency_key="k-123")
    assert '<input type="hidden" name="idempotency_key" value="k-123">' in html


def test_values_are_kept_when_the_form_comes_back() -> None:
    html = render_form(PAGE, "kk", values={"iin": "860101300126", "a3": "7"})
    assert 'value="860101300126"' in html
    assert '<input type="radio" name="a3" value="7" checked>' in html
    assert html.count(" checked") == 1


def test_text_is_escaped() -> None:
    page = SurveyPage(PAGE.survey_id, RULES.rubric, {"kk": "<b>x</b>"}, PAGE.closes_at)
    assert "&lt;b&gt;x&lt;/b&gt;" in render_form(page, "kk")


# --- refusals on the page --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("kk", "Бұл ЖСН бойынша жауап бұрын қабылданған."),
        ("ru", "По этому ИИН ответ уже был принят."),
        ("en", "An answer has already been recorded for this IIN."),
    ],
)
def test_a_refusal_is_shown_as_an_alert_in_the_pages_language(lang: str, expected: str) -> None:
    error = DomainError(code="already_answered", detail="…", status=409)
    html = render_form(PAGE, lang, error=error)  # type: ignore[arg-type]
    alert = re.search(r'<div class="card alert" role="alert" id="errors">(.*?)</div>', html, re.S)
    assert alert is not None and expected in alert.group(1)
    assert '<form method="post"' in html


def test_each_bad_field_is_marked_next_to_it_and_listed_in_the_alert() -> None:
    with pytest.raises(RuleViolation) as caught:
        read_form({"iin": "123", **{f"a{n}": "5" for n in range(1, 16)}}, RULES.rubric)
    html = render_form(PAGE, "ru", error=caught.value)
    assert '<a href="#iin">ИИН указан неверно.' in html
    assert '<a href="#q16">Критерий 16: выберите оценку от 0 до 10.</a>' in html
    assert 'aria-invalid="true"' in html
    assert '<p class="field-error" id="q16-error">' in html
    assert 'aria-describedby="q16-scale q16-error"' in html


def test_a_rate_limited_refusal_says_when_to_retry() -> None:
    error = DomainError(code="rate_limited", detail="…", status=429, extra={"retry_after": 5})
    assert "Повторите через 5 секунд." in render_form(PAGE, "ru", error=error)


@pytest.mark.parametrize(
    ("lang", "expected"),
    [("kk", "Сауалнама аяқталды."), ("ru", "Опрос завершён."), ("en", "The survey is closed.")],
)
def test_a_closed_survey_shows_a_notice_instead_of_the_form(lang: str, expected: str) -> None:
    page = SurveyPage(
        PAGE.survey_id, RULES.rubric, PAGE.place, PAGE.closes_at, notice="survey_closed"
    )
    html = render_form(page, lang)  # type: ignore[arg-type]
    assert expected in html and "<form" not in html and 'role="alert"' in html


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("kk", "Рақмет! Сіздің жауаптарыңыз қабылданды."),
        ("ru", "Спасибо! Ваши ответы приняты."),
        ("en", "Thank you! Your answers have been recorded."),
    ],
)
def test_the_confirmation_page(lang: str, expected: str) -> None:
    html = render_confirmation(lang)  # type: ignore[arg-type]
    assert f'<html lang="{lang}">' in html and expected in html and 'role="status"' in html
    assert "<form" not in html


# --- messages --------------------------------------------------------------------------------

CODES = [
    "response_recorded",
    "already_answered",
    "survey_closed",
    "survey_not_open",
    "survey_not_found",
    "invalid_iin",
    "answer_out_of_range",
    "answer_not_integer",
    "answer_missing",
    "wrong_answer_count",
    "not_on_roll",
    "rate_limited",
]


@pytest.mark.parametrize("code", CODES)
def test_every_resident_facing_code_is_translated(code: str) -> None:
    texts = {lang: message(code, lang) for lang in LANGS}
    assert all(texts.values()) and len(set(texts.values())) == 3
    assert message(code, "en") != message("error", "en")


def test_an_unknown_code_falls_back_to_a_generic_message() -> None:
    assert message("no_such_code", "ru") == "Что-то пошло не так. Попробуйте ещё раз."


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [(1, "1 секунду"), (3, "3 секунды"), (5, "5 секунд"), (11, "11 секунд"), (21, "21 секунду")],
)
def test_russian_plural_forms_of_retry_after(seconds: int, expected: str) -> None:
    assert expected in message("rate_limited", "ru", retry_after=seconds)


def test_kazakh_and_english_retry_after() -> None:
    assert (
        message("rate_limited", "kk", retry_after=7)
        == "Әрекеттер саны тым көп. 7 секундтан кейін қайталап көріңіз."
    )
    assert message("rate_limited", "en", retry_after=1).endswith("in 1 second.")


# --- reading the posted form -----------------------------------------------------------------


def test_the_notice_follows_the_surveys_state_and_clock() -> None:
    state = state_of(opened_events())
    assert notice_for(state, OPENS - timedelta(seconds=1)) == "survey_not_open"
    assert notice_for(state, DURING) is None
    assert notice_for(state, CLOSES) == "survey_closed"
    assert notice_for(None, DURING) == "survey_not_found"


def test_the_posted_form_gives_the_iin_and_the_answers_in_rubric_order() -> None:
    form = {"iin": " 8601 0130 0126 ", **{f"a{n}": str(n % 11) for n in range(1, 17)}}
    iin, answers = read_form(form, RULES.rubric)
    assert iin == "860101300126"
    assert answers == [n % 11 for n in range(1, 17)]


def test_missing_and_non_numeric_answers_are_named() -> None:
    form = {"iin": make_iin(1), **{f"a{n}": "5" for n in range(1, 17)}}
    form["a2"], form["a9"] = "", "abc"
    del form["a16"]
    with pytest.raises(RuleViolation) as caught:
        read_form(form, RULES.rubric)
    assert [(e.code, e.field) for e in caught.value.errors] == [
        ("answer_missing", "answers[1]"),
        ("answer_not_integer", "answers[8]"),
        ("answer_missing", "answers[15]"),
    ]
