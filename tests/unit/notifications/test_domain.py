"""The notifications service's pure parts: templates as data, ids, backoff, signatures."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.notifications.config import catalogue
from services.notifications.domain.edition_figures import NotificationRules, backoff
from services.notifications.domain.messages import notification_id, render, scrub
from services.notifications.domain.signing import sign, verify

REASONS = [
    {"code": "akim_term_too_short", "detail": "appointed on 2019-07-01"},
    {"code": "sanction_not_lifted", "detail": "a sanction"},
    {"code": "some_new_rule", "detail": "an English detail of a code without a text"},
]


@pytest.mark.parametrize(
    ("language", "subject", "term", "sanction"),
    [
        ("kk", "өтінім қабылданбады", "Әкім лауазымындағы өтілі жеткіліксіз", "Тәртіптік жаза"),
        ("ru", "заявка не допущена", "Недостаточный срок в должности акима", "взыскание не снято"),
    ],
)
def test_a_rejection_lists_every_reason_in_the_recipients_language(
    language: str, subject: str, term: str, sanction: str
) -> None:
    message = render(
        catalogue(), "application_rejected", language, {"application_id": "a-1", "reasons": REASONS}
    )
    assert subject in message.subject
    assert "a-1" in message.body
    assert term in message.body and sanction in message.body
    assert "an English detail of a code without a text" in message.body  # never dropped
    assert message.body.count("• ") == 3


def test_every_template_exists_in_kazakh_and_russian_and_renders() -> None:
    templates = catalogue()["templates"]
    assert len(templates) >= 9
    for key, texts in templates.items():
        assert set(texts) == {"kk", "ru"}, key
        for language in ("kk", "ru"):
            message = render(
                catalogue(), key, language, {"reasons": [], "place": {"kk": "x", "ru": "y"}}
            )
            assert message.subject and message.body


def test_a_notification_id_is_derived_from_its_cause_recipient_template_and_channel() -> None:
    one = notification_id("e-1", "user:n-1", "application_rejected", "email")
    assert one == notification_id("e-1", "user:n-1", "application_rejected", "email")
    assert one != notification_id("e-2", "user:n-1", "application_rejected", "email")
    assert one != notification_id("e-1", "candidate:a-1", "application_rejected", "email")


def test_backoff_doubles_up_to_its_cap() -> None:
    rules = NotificationRules(backoff_first_seconds=2, backoff_factor=2, backoff_cap_seconds=10)
    assert [backoff(rules, n) for n in (1, 2, 3, 4)] == [
        timedelta(seconds=2),
        timedelta(seconds=4),
        timedelta(seconds=8),
        timedelta(seconds=10),
    ]


def test_the_signature_is_the_standard_webhooks_one() -> None:
    """The Standard Webhooks specification's own example."""
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"test": 2432232314}'
    expected = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    assert sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body) == expected
    assert verify(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body, expected)
    assert not verify(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265331, body, expected)


def test_an_error_goes_on_the_record_without_the_address_it_quotes() -> None:
    error = (
        "SMTPRecipientsRefused: {'nominator.kk@example.kz': (550, '5.1.1 <a.b+c@mail.kz> unknown')}"
    )
    cleaned = scrub(error)
    assert "@" not in cleaned and "example.kz" not in cleaned and "mail.kz" not in cleaned
    assert cleaned.startswith("SMTPRecipientsRefused") and "550" in cleaned
