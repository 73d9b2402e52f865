"""Email through an SMTP relay with aiosmtplib (the address is read here, never logged).

A round of sending keeps one SMTP session open for all its mails (``close`` ends it): a
connection, greeting and login per mail cost the relay and the sender more than the mail
itself. A session the relay dropped meanwhile (idle timeout, restart) is opened again once
for the mail that found it gone; a refusal of one mail (its recipient unknown) leaves the
session as it is, for the next."""

from __future__ import annotations

from email.message import EmailMessage

import aiosmtplib

from services.notifications.config import NotifySettings
from services.notifications.domain.messages import Message

GONE = (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPConnectError, ConnectionError)
"""What a session found closed under it raises: the mail was not taken, send it again."""


class SmtpMailer:
    def __init__(self, settings: NotifySettings) -> None:
        self.settings = settings
        self._session: aiosmtplib.SMTP | None = None
        self.sessions = 0  # opened so far (one per round while the relay keeps them)

    def compose(self, nid: str, to: str, message: Message) -> EmailMessage:
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
        return mail

    async def send(self, nid: str, to: str, message: Message) -> None:
        mail = self.compose(nid, to, message)
        reused = self._session is not None and self._session.is_connected
        try:
            await (await self._open()).send_message(mail)
        except GONE:
            await self.close()
            if not reused:
                raise
            await (await self._open()).send_message(mail)  # the relay closed an idle session

    async def _open(self) -> aiosmtplib.SMTP:
        if self._session is not None and self._session.is_connected:
            return self._session
        s = self.settings
        session = aiosmtplib.SMTP(
            hostname=s.smtp_host,
            port=s.smtp_port,
            username=s.smtp_username,
            password=s.smtp_password,
            start_tls=s.smtp_starttls,
            timeout=s.smtp_timeout_seconds,
        )
        await session.connect()
        self._session = session
        self.sessions += 1
        return session

    async def close(self) -> None:
        """End the session (QUIT), if one is open; a relay already gone is no error."""
        session, self._session = self._session, None
        if session is None or not session.is_connected:
            return
        try:
            await session.quit()
        except (aiosmtplib.SMTPException, OSError):
            session.close()
