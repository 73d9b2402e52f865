"""A mail as the SMTP relay gets it reads back as written: subject, sender's name, body, ids."""

from __future__ import annotations

from email import message_from_bytes, policy

from services.notifications.adapters.email import SmtpMailer
from services.notifications.config import NotifySettings
from services.notifications.domain.messages import Message


def test_a_kazakh_mail_reads_back_whole_with_its_headers() -> None:
    mailer = SmtpMailer(NotifySettings(mail_from="Үздік ауыл әкімі <uzdik@example.kz>"))
    subject = "Өтінім қабылданды — «Үздік ауыл әкімі» 2020 " * 2  # long: folded on the wire
    body = "Құрметті өтініш беруші!\nСіздің өтініміңіз қабылданды.\n"
    raw = mailer.compose(
        "n-1", "nominator@example.kz", Message(subject, body, "application_admitted", "kk")
    )
    assert raw.isascii()  # encoded words and base64: any relay carries it
    mail = message_from_bytes(raw, policy=policy.default)
    assert mail["Subject"] == subject
    assert mail["From"].addresses[0].display_name == "Үздік ауыл әкімі"
    assert mail["From"].addresses[0].addr_spec == "uzdik@example.kz"
    assert mail["To"] == "nominator@example.kz"
    assert mail["Message-ID"] == "<n-1@uzdik>"
    assert mail["X-Uzdik-Template"] == "application_admitted"
    assert mail["Content-Language"] == "kk"
    assert mail.get_content() == body


def test_an_ascii_subject_and_a_bare_sender_are_written_as_they_are() -> None:
    raw = SmtpMailer(NotifySettings()).compose("n-2", "a@example.kz", Message("Reminder", "x"))
    assert b"\nSubject: Reminder\n" in raw and b"\nFrom: uzdik@localhost\n" in raw
