"""The services the portal calls: their own HTTP APIs, with the signed-in person's token.

Distributed, each is a URL (``UZDIK_PORTAL_<SERVICE>_URL``); embedded (``uzdik serve``), the
services' ASGI apps in the same process. Either way the request is the one an integrator
would send, so the portal can do nothing the API does not allow.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from shared.settings import Settings

Content = bytes | AsyncIterable[bytes] | None
SERVICES = ("nominations", "scoring", "survey", "reporting")
PROBLEM = "application/problem+json"


@dataclass(frozen=True)
class Problem:
    """A service's refusal (RFC 9457): its stable code, its words and the fields it names."""

    status: int
    code: str
    detail: str
    errors: tuple[Mapping[str, Any], ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def fields(self) -> dict[str, str]:
        """The refusal's items by the field they name (``scores.budget`` → ``budget``)."""
        named: dict[str, str] = {}
        for item in self.errors:
            where = str(item.get("field") or "")
            if where:
                named.setdefault(where.split(".")[-1], str(item.get("code", "")))
        return named


class Refused(Exception):
    """A service answered with a problem; the page shows it in the person's language."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(f"{problem.status} {problem.code}: {problem.detail}")
        self.problem = problem


class Unreachable(Exception):
    """A service did not answer (down, or too slow): the page says so and nothing is lost."""

    def __init__(self, service: str, reason: str) -> None:
        super().__init__(f"the {service} service did not answer: {reason}")
        self.service = service


class Backends:
    """One client per service; ``call`` sends a request as the person and reads its JSON."""

    def __init__(self, clients: Mapping[str, httpx.AsyncClient]) -> None:
        missing = [s for s in SERVICES if s not in clients]
        if missing:
            raise ValueError(f"the portal needs a client for {', '.join(missing)}")
        self.clients = dict(clients)

    @classmethod
    def over_http(cls, settings: Settings, timeout: float = 10.0) -> Backends:
        urls = {
            "nominations": settings.portal_nominations_url,
            "scoring": settings.portal_scoring_url,
            "survey": settings.portal_survey_url,
            "reporting": settings.portal_reporting_url,
        }
        return cls(
            {name: httpx.AsyncClient(base_url=url, timeout=timeout) for name, url in urls.items()}
        )

    async def aclose(self) -> None:
        for client in self.clients.values():
            await client.aclose()

    async def call(
        self,
        service: str,
        method: str,
        path: str,
        token: str | None,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
        content: Content = None,
        media_type: str | None = None,
    ) -> Any:
        """The answer's JSON; a problem raises :class:`Refused`, silence :class:`Unreachable`."""
        response = await self.send(
            service,
            method,
            path,
            token,
            json=json,
            params=params,
            idempotency_key=idempotency_key,
            content=content,
            media_type=media_type,
        )
        return response.json() if response.content else None

    async def send(
        self,
        service: str,
        method: str,
        path: str,
        token: str | None,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
        content: Content = None,
        media_type: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """The answer; ``content``: bytes, or a stream of them (an upload, not held whole)."""
        headers = {"Accept": "application/json", **(headers or {})}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        if media_type:
            headers["Content-Type"] = media_type
        try:
            response = await self.clients[service].request(
                method,
                path,
                json=json,
                content=content,
                params=dict(params or {}),
                headers=headers,
            )
        except httpx.HTTPError as exc:
            raise Unreachable(service, str(exc) or type(exc).__name__) from exc
        if response.status_code >= 400:
            raise Refused(problem_of(response))
        return response

    async def pages(
        self, service: str, path: str, token: str | None, params: Mapping[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """Every item of a paged list (``items`` + ``next``)."""
        query: dict[str, Any] = {"limit": 200, **(params or {})}
        items: list[dict[str, Any]] = []
        while True:
            page = await self.call(service, "GET", path, token, params=query)
            items += page["items"]
            if not page.get("next"):
                return items
            query["after"] = page["next"]


def problem_of(response: httpx.Response) -> Problem:
    """The problem a refusal carries (or one made from its status when it carries none)."""
    body: Any = None
    if response.headers.get("content-type", "").startswith(("application/json", PROBLEM)):
        try:
            body = response.json()
        except ValueError:
            body = None
    if not isinstance(body, dict):
        return Problem(response.status_code, f"http_{response.status_code}", response.text[:300])
    known = {"type", "title", "status", "code", "detail", "errors"}
    return Problem(
        status=response.status_code,
        code=str(body.get("code") or f"http_{response.status_code}"),
        detail=str(body.get("detail") or body.get("title") or ""),
        errors=tuple(e for e in body.get("errors") or () if isinstance(e, dict)),
        extra={k: v for k, v in body.items() if k not in known},
    )
