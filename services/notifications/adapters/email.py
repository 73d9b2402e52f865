"""Email through an SMTP relay with aiosmtplib (the address is read here, never logged).

A round of sending keeps one SMTP session open for all its mails (``close`` ends it): a
connection, greeting and login per mail cost the relay and the sender more than the mail
itself. A session the relay dropped meanwhile (idle timeout, restart) is opened again once
for the mail that found it gone; a refusal of one mail (its recipient unknown) leaves the
session as it is, for the next."""

from __future__ import annotations

from email.header import Header
from email.mime.text import MIMEText
from email.utils import formataddr, parseaddr

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

    def compose(self, nid: str, to: str, message: Message) -> bytes:
        """The mail as sent: plain text in UTF-8, the subject and a sender's name as RFC 2047
        encoded words. Built with the ``compat32`` classes, which write headers as given: the
        default policy parses every header it is handed, which cost milliseconds a mail."""
        s = self.settings
        mail = MIMEText(message.body, "plain", "utf-8")
        name, address = parseaddr(s.mail_from)
        mail["From"] = formataddr((name, address), charset="utf-8") if name else address
        mail["To"] = to
        subject = message.subject
        # a Header is written as encoded words when the mail is (typeshed types values as str)
        mail["Subject"] = subject if subject.isascii() else Header(subject, "utf-8")  # type: ignore[assignment]
        mail["Message-ID"] = f"<{nid}@uzdik>"  # a receiver may drop a resent duplicate
        mail["X-Uzdik-Notification"] = nid
        mail["X-Uzdik-Template"] = message.template
        mail["Content-Language"] = message.language
        return mail.as_bytes()

    async def send(self, nid: str, to: str, message: Message) -> None:
        mail = self.compose(nid, to, message)
        sender = parseaddr(self.settings.mail_from)[1]
        reused = self._session is not None and self._session.is_connected
        try:
            await (await self._open()).sendmail(sender, [to], mail)
        except GONE:
            await self.close()
            if not reused:
                raise
            await (await self._open()).sendmail(sender, [to], mail)  # an idle session closed

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
