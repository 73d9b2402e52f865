"""Email through an SMTP relay with aiosmtplib (the address is read here, never logged)."""

from __future__ import annotations

from email.message import EmailMessage

import aiosmtplib

from services.notifications.config import NotifySettings
from services.notifications.domain.messages import Message


class SmtpMailer:
    def __init__(self, settings: NotifySettings) -> None:
        self.settings = settings

    async def send(self, nid: str, to: str, message: Message) -> None:
        s = self.settings
        mail = EmailMessage()
        mail["From"] = s.mail_from
        mail["To"] = to
        mail["Subject"] = message.subject
        mail["Message-ID"] = f"<{nid}@uzdik>"  # a receiver may drop a resent duplicate
        mail["X-Uzdik-Notification"] = nid
        mail["X-Uzdik-Template"] = message.template
        mail.set_content(message.body)
        mail["Content-Language"] = message.language  # after set_content, which resets Content-*
        await aiosmtplib.send(
            mail,
            hostname=s.smtp_host,
            port=s.smtp_port,
            username=s.smtp_username,
            password=s.smtp_password,
            start_tls=s.smtp_starttls,
            timeout=s.smtp_timeout_seconds,
        )
