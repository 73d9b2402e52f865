"""The sender: sends the queued notifications and records each outcome as an event.

A message is sent outside any transaction, then NotificationSent (or NotificationFailed with
the next attempt's time, by exponential backoff; ``final`` after the channel's limit: a dead
letter) is appended. Delivery is at-least-once: a crash between the send and the record sends
again, with the same ``Message-ID`` / ``webhook-id`` (the notification id) so the receiver can
drop the duplicate. One sender is active per database (an advisory lock); others stand by.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from contextlib import suppress
from datetime import UTC, datetime
from typing import Any, Protocol, cast

import aiosmtplib

from services.notifications import handlers
from services.notifications.adapters import contacts, results_source
from services.notifications.adapters.email import SmtpMailer
from services.notifications.adapters.webhook import WebhookPoster
from services.notifications.config import NotifySettings, catalogue
from services.notifications.domain.commands import RecordFailed, RecordSent
from services.notifications.domain.edition_figures import NotificationRules
from services.notifications.domain.messages import Message, render, scrub
from services.notifications.entrypoints import consumers, reminders
from shared.consumers import Consumer
from shared.events import SYSTEM
from shared.handlers import Cause
from shared.logging import get_logger
from shared.migrations import current_revision, head_revision
from shared.relay import single_active
from shared.runtime import ServiceContext, run_beside_store
from shared.store.eventstore import UnitOfWork

log = get_logger("uzdik.notifications")


class Mailer(Protocol):
    async def send(self, nid: str, to: str, message: Message) -> None: ...

    async def close(self) -> None:
        """The round is over: release what was kept open for it (an SMTP session)."""


def permanent(exc: Exception) -> bool:
    """A refusal that no retry will change: the SMTP server's 5xx (an unknown recipient)."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        return True
    return isinstance(exc, aiosmtplib.SMTPResponseException) and 500 <= exc.code < 600


def wall_clock() -> datetime:
    return datetime.now(UTC)


def sending(nid: str, at: datetime) -> Cause:
    """The sender records an attempt's outcome as the system, in the message's own
    correlation (``send-<notification id>``), at the attempt's time."""
    return Cause(SYSTEM, f"send-{nid}", at)


class NotificationService:
    def __init__(
        self,
        ctx: ServiceContext,
        rules: NotificationRules,
        settings: NotifySettings,
        clock: Callable[[], datetime] = wall_clock,
    ) -> None:
        self.ctx, self.rules, self.settings, self.clock = ctx, rules, settings, clock
        self.mailer: Mailer = SmtpMailer(settings)
        self.poster = WebhookPoster(settings.webhook_timeout_seconds)
        self.results: Consumer = consumers.results(ctx)
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._ready = False

    def use(self, settings: NotifySettings) -> None:
        """Send through other channels from now on (the demo's local post office)."""
        self.settings = settings
        self.mailer = SmtpMailer(settings)  # the one replaced had no session open: between rounds
        self.poster = WebhookPoster(settings.webhook_timeout_seconds)

    # --- one round ---------------------------------------------------------------------

    async def send_due(self, limit: int = 200) -> int:
        """Attempt every message due now; how many were attempted."""
        now = self.clock()
        store = self.ctx.store
        async with store.reader() as uow:
            due = [
                key
                for key, doc in await uow.docs.list(handlers.OUTBOX)
                if datetime.fromisoformat(doc["next_at"]) <= now
            ][:limit]
            work = [await self._prepare(uow, nid) for nid in due]
        try:
            for item in work:
                await self._attempt(item)
        finally:
            await self.mailer.close()
        return len(work)

    async def remind_due(self) -> list[str]:
        """Queue the members' deadline reminders due at business time (each once)."""
        async with self.ctx.store.transaction() as uow:
            return await reminders.remind_due(uow, self.rules, self.ctx.now())

    async def _prepare(self, uow: UnitOfWork, nid: str) -> dict[str, Any]:
        doc = await uow.docs.get(handlers.NOTIFICATIONS, nid) or {}
        item: dict[str, Any] = {"nid": nid, "doc": doc, "attempt": int(doc.get("attempts", 0)) + 1}
        [queued] = [
            e
            for e in await uow.load(handlers.stream_of(nid))
            if e.event_type == "NotificationQueued"
        ]
        item["queued"] = queued.payload
        if doc.get("channel") == "webhook":
            sid = str(doc.get("subscription_id"))
            item["subscription"] = await uow.docs.get(handlers.SUBSCRIPTIONS, sid)
            item["secret"] = await uow.docs.get(handlers.SECRETS, sid)
            item["body"] = await uow.docs.get(handlers.BODIES, str(doc.get("event_id")))
        else:
            item["contact"] = await contacts.contact(uow, str(doc.get("recipient")))
        return item

    async def _attempt(self, item: dict[str, Any]) -> None:
        nid, attempt = item["nid"], item["attempt"]
        try:
            if item["doc"].get("channel") == "webhook":
                await self._post(item)
            else:
                await self._mail(item)
        except Exception as exc:
            error = scrub(f"{type(exc).__name__}: {exc}")[:500]
            log.warning("notification.failed", notification=nid, attempt=attempt, error=error)
            async with self.ctx.store.transaction() as uow:
                await handlers.record_failed(
                    uow,
                    RecordFailed(nid, attempt, error, permanent=permanent(exc)),
                    sending(nid, self.clock()),
                    rules=self.rules,
                )
            return
        async with self.ctx.store.transaction() as uow:
            await handlers.record_sent(uow, RecordSent(nid, attempt), sending(nid, self.clock()))

    async def _mail(self, item: dict[str, Any]) -> None:
        contact = item["contact"]
        if not contact:
            raise LookupError("no contact recorded for the recipient")
        q = item["queued"]
        message = render(catalogue(), q["template"], q["language"], q["params"])
        await self.mailer.send(item["nid"], str(contact["email"]), message)

    async def _post(self, item: dict[str, Any]) -> None:
        sub, secret, body = item["subscription"], item["secret"], item["body"]
        if not sub or not sub.get("active") or not secret:
            raise LookupError("the subscription is no longer active")
        if body is None:
            raise LookupError("the result event to deliver is not stored")
        envelope = {k: v for k, v in body.items() if k != "position"}
        raw = json.dumps(envelope, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        timestamp = int(self.clock().timestamp())
        await self.poster.post(sub["url"], item["nid"], timestamp, raw.encode(), secret["secret"])

    # --- background work ------------------------------------------------------------------

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        if self.settings.send_every_seconds > 0:
            self._tasks.append(loop.create_task(self._send_periodically()))
        bootstrap = self.ctx.settings.kafka_bootstrap_servers
        if bootstrap and self.settings.consume_results:
            self._tasks.append(
                loop.create_task(
                    results_source.run(
                        self.results, bootstrap, self.ctx.settings.topic_prefix, self._stop
                    )
                )
            )

    async def stop(self) -> None:
        self._stop.set()
        for task in self._tasks:
            with suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(task, timeout=10)
        self._tasks.clear()

    async def _migrated(self) -> bool:
        """The runtime migrates after setup: no round before the schema is there."""
        try:
            return await current_revision(self.ctx.store.engine) == head_revision()
        except Exception:  # the database may be away
            return False

    async def _send_periodically(self) -> None:
        """One active sender per database (a PostgreSQL advisory lock, as the relay's); the
        sender of another replica waits as a standby."""
        while not self._stop.is_set():
            try:
                async with single_active(self.ctx.store, "notifications.sender", self._stop):
                    await self._rounds()
                return
            except Exception as exc:  # the database went away: take the lock again
                log.warning("notification.sender_lost", error=str(exc)[:200])
                with suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), timeout=1.0)

    async def _rounds(self) -> None:
        while not self._stop.is_set():
            with suppress(TimeoutError):  # first wait: the runtime migrates after setup
                await asyncio.wait_for(self._stop.wait(), timeout=self.settings.send_every_seconds)
            if self._stop.is_set():
                return
            if not self._ready:
                self._ready = await self._migrated()
                if not self._ready:
                    continue
            try:
                await self.remind_due()
                await self.send_due()
            except Exception as exc:  # the database may be away: try again next round
                log.warning("notification.send_round_failed", error=str(exc)[:200])


def service_of(ctx: ServiceContext) -> NotificationService:
    return cast(NotificationService, ctx.extras["service"])


def install(ctx: ServiceContext) -> None:
    """``ServiceSpec.setup``: rules, the sender and the results subscription (started when
    the service runs in an event loop on PostgreSQL, as the survey's closer; stopped when the
    runtime closes the store — the kernel has no start/stop hook for a service's own tasks)."""
    settings = NotifySettings()
    ctx.extras.setdefault("rules", settings.rules)
    service = NotificationService(ctx, ctx.extras["rules"], settings)
    ctx.extras["service"] = service
    run_beside_store(ctx, service.start, service.stop)
