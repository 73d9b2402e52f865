"""The demo's post office: who is told what during the demo edition, delivered for real.

A local SMTP server (aiosmtpd) and a local webhook receiver (an HTTP server) stand for the
region's mail relay and an integrator's endpoint. Through the notifications service's own API
the demo subscribes an integrator to the results, records a contact (kk or ru) for every
recipient the service has come to know before the step that tells them something, records the
award ceremony (§22, §23); the service's own sender then delivers each queued message, and every
delivery is a NotificationSent event on the notifications log.
"""

from __future__ import annotations

import asyncio
import base64
import importlib.util
import json
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from email.parser import BytesHeaderParser
from email.policy import compat32
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from services.embedded import Embedded
from services.embedded_processes import EmbeddedProcesses
from services.notifications.domain.signing import verify
from shared.auth import issue_dev_token
from shared.settings import Settings

INTEGRATOR = "integrator-demo"
RUSSIAN_FIRST = ("110000000", "350000000", "390000000", "550000000", "590000000", "630000000")
"""Regions where the demo's recipients read Russian (the rest read Kazakh): Akmola,
Karaganda, Kostanay, Pavlodar, North and East Kazakhstan."""


@dataclass
class PostOffice:
    """A real SMTP server and a real webhook endpoint on local ports, keeping what arrives: in
    a process of their own (:mod:`demo.post_office`), which spools every mail and delivery into
    a temporary folder that this object reads."""

    smtp_port: int = 0
    hook_port: int = 0

    def __post_init__(self) -> None:
        self._process: subprocess.Popen[str] | None = None
        self._spool: tempfile.TemporaryDirectory[str] | None = None
        self._parsed: list[dict[str, str]] = []

    def _files(self, kind: str, suffix: str) -> list[Path]:
        if self._spool is None:
            return []
        return sorted((Path(self._spool.name) / kind).glob(f"*{suffix}"))

    @property
    def received(self) -> list[bytes]:
        """Each mail's bytes, as they came, in the order they came."""
        return [path.read_bytes() for path in self._files("mail", ".eml")]

    @property
    def hooks(self) -> list[tuple[dict[str, str], bytes]]:
        """Each webhook delivery: its headers (lower-case names) and its body."""
        found = []
        for path in self._files("hook", ".json"):
            record = json.loads(path.read_bytes())
            found.append((dict(record["headers"]), base64.b64decode(record["body"])))
        return found

    @property
    def mails(self) -> list[dict[str, str]]:
        """The mails received: their headers (lower-case names) and "body"."""
        for raw in self.received[len(self._parsed) :]:
            mail = message_from_bytes(raw, policy=policy.default)
            found = {k.lower(): str(v) for k, v in mail.items()}
            self._parsed.append({**found, "body": str(mail.get_content())})
        return list(self._parsed)

    def kinds(self) -> Counter[tuple[str, str]]:
        """How many mails of each (template, language): their headers only, read plainly."""
        parser = BytesHeaderParser(policy=compat32)
        found: Counter[tuple[str, str]] = Counter()
        for raw in self.received:
            headers = parser.parsebytes(raw)
            found[(headers.get("x-uzdik-template", "?"), headers.get("content-language", "?"))] += 1
        return found

    @property
    def hook_url(self) -> str:
        return f"http://127.0.0.1:{self.hook_port}/hooks/uzdik"

    def __enter__(self) -> PostOffice:
        if importlib.util.find_spec("aiosmtpd") is None:  # a production image has no demo tools
            raise RuntimeError(
                "the demo's local mail server needs aiosmtpd (installed by `make demo`)"
            )
        self._spool = tempfile.TemporaryDirectory(prefix="uzdik-post-")
        self._process = subprocess.Popen(
            [sys.executable, "-m", "demo.post_office", self._spool.name],
            stdout=subprocess.PIPE,
            text=True,
            cwd=Path(__file__).resolve().parent.parent,
        )
        assert self._process.stdout is not None
        line = self._process.stdout.readline().split()
        if len(line) != 2:
            self.__exit__(None, None, None)
            raise RuntimeError("the demo's local mail server did not start (see above)")
        self.smtp_port, self.hook_port = int(line[0]), int(line[1])
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        process, self._process = self._process, None
        if process is not None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            if process.stdout is not None:
                process.stdout.close()
        # the spool stays readable after the office closed (a test reads it then); the folder
        # goes with this object (TemporaryDirectory's finaliser)


class DemoNotifications:
    """The demo's organiser and integrator, as far as telling people goes."""

    def __init__(
        self, system: Embedded | EmbeddedProcesses, settings: Settings, post: PostOffice
    ) -> None:
        self.system, self.settings, self.post = system, settings, post
        self.client: httpx.AsyncClient = system.clients["notifications"]
        self.organiser = self._bearer("organiser-1", "organiser")
        self.secret = ""
        self.contacts = 0

    async def use_post_office(self) -> None:
        """The notifications service sends through the demo's post office from now on."""
        await self.system.control(
            "notifications",
            "use",
            smtp_host="127.0.0.1",
            smtp_port=self.post.smtp_port,
            smtp_timeout_seconds=5,
        )

    def _bearer(self, sub: str, role: str) -> dict[str, str]:
        token = issue_dev_token(self.settings, sub, [role])
        return {"Authorization": f"Bearer {token}"}

    async def _ok(self, response: httpx.Response) -> dict[str, Any]:
        if response.status_code >= 300:
            raise RuntimeError(
                f"notifications refused {response.request.method} {response.request.url.path}: "
                f"{response.status_code} {response.text[:300]}"
            )
        found: dict[str, Any] = response.json()
        return found

    async def subscribe(self) -> None:
        """The integrator subscribes its endpoint to every result event."""
        body = {"integrator": INTEGRATOR, "url": self.post.hook_url, "event_types": ["*"]}
        made = await self._ok(
            await self.client.post(
                "/v1/webhooks/subscriptions",
                json=body,
                headers=self._bearer(INTEGRATOR, "integrator"),
            )
        )
        self.secret = str(made["secret"])

    async def reach_everyone(self) -> int:
        """A contact for every recipient the service knows and cannot reach yet."""
        listed = await self._ok(
            await self.client.get(
                "/v1/recipients", params={"missing": "true"}, headers=self.organiser
            )
        )
        for item in listed["items"]:
            ref = str(item["recipient"])
            language = "ru" if item.get("region") in RUSSIAN_FIRST else "kk"
            body = {
                "recipient": ref,
                "email": ref.replace(":", ".") + "@demo.uzdik.kz",
                "language": language,
            }
            await self._ok(
                await self.client.post("/v1/contacts", json=body, headers=self.organiser)
            )
            self.contacts += 1
        await self.system.control("notifications", "remind_due")
        return len(listed["items"])

    async def ceremony(self, commission_id: str, now: datetime) -> None:
        """The organiser records the award ceremony; the winners are told where and when."""
        body = {
            "commission_id": commission_id,
            "at": (now + timedelta(days=30)).replace(hour=11, minute=0).isoformat(),
            "place_kk": "Астана қ., «Тәуелсіздік сарайы», Мәңгілік Ел даңғылы, 57",
            "place_ru": "г. Астана, Дворец Независимости, проспект Мангилик Ел, 57",
            "diploma": True,
            "gift": "",
        }
        await self._ok(await self.client.post("/v1/ceremonies", json=body, headers=self.organiser))

    async def deliver(self) -> int:
        """Run the service's sender until nothing is due."""
        attempted = 0
        while True:
            done = int(await self.system.control("notifications", "send_due", limit=500))
            attempted += done
            if done == 0:
                return attempted
            await asyncio.sleep(0)

    async def on_record(self) -> Counter[str]:
        """The notifications log's own count of what was queued, sent and failed."""
        return Counter(await self.system.control("notifications", "event_counts"))

    def signed_hooks(self) -> int:
        valid = 0
        for headers, body in self.post.hooks:
            stamp = int(headers.get("webhook-timestamp", "0"))
            msg_id = headers.get("webhook-id", "")
            valid += verify(self.secret, msg_id, stamp, body, headers.get("webhook-signature", ""))
        return valid

    async def show(self, console: Console) -> None:
        record = await self.on_record()
        table = Table(title="Who was told what (§12, §17, §23): mails at the local SMTP server")
        for column in ("message", "kk", "ru"):
            table.add_column(column, justify="left" if column == "message" else "right")
        kinds = self.post.kinds()
        for template in sorted({t for t, _ in kinds}):
            table.add_row(template, str(kinds[(template, "kk")]), str(kinds[(template, "ru")]))
        console.print(table)
        console.print(
            f"mails received {len(self.post.received)}; webhook deliveries received "
            f"{len(self.post.hooks)} ({self.signed_hooks()} with a valid signature); "
            f"contacts recorded {self.contacts}; on the notifications log: "
            f"{record['NotificationQueued']} queued, {record['NotificationSent']} sent, "
            f"{record['NotificationFailed']} failed"
        )
