"""The body guard at the edge: a command that needs a token is answered 401 before a byte of
its body is read, and no body is read past its route's limit (413 ``body_too_large``)."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel
from starlette.types import Message

from shared.auth import Principal, TokenVerifier, issue_dev_token
from shared.edge import body_limit, principal
from shared.http import create_app
from shared.settings import Settings

SETTINGS = Settings(
    dev_jwt_secret="unit-test-secret-that-is-long-enough-for-hs256", max_body_bytes=1000
)
TOKEN = issue_dev_token(SETTINGS, "org-1", ["organiser"])


class Thing(BaseModel):
    name: str


def service() -> Any:
    api = APIRouter(prefix="/v1")

    @api.post("/things", status_code=201)
    async def create(body: Thing, who: Principal = Depends(principal)) -> dict[str, str]:
        return {"name": body.name, "by": who.sub}

    @api.post("/public")
    async def public(body: Thing) -> dict[str, str]:
        return {"name": body.name}

    @api.put("/uploads")
    @body_limit(5000)
    async def upload(request: Request, who: Principal = Depends(principal)) -> dict[str, int]:
        return {"bytes": len(await request.body())}

    nested = APIRouter(prefix="/v1/nested")
    nested.include_router(api)
    return create_app("unit", TokenVerifier(SETTINGS), [api, nested])


class Upload:
    """An ASGI request whose body arrives in chunks; counts the chunks the app asked for."""

    def __init__(self, path: str, size: int, token: str | None, length: bool = True) -> None:
        self.chunks = [b"x" * 100] * (size // 100)
        self.read = 0
        headers = [(b"content-type", b"application/json")]
        if token is not None:
            headers.append((b"authorization", f"Bearer {token}".encode()))
        if length:
            headers.append((b"content-length", str(size).encode()))
        self.scope = {
            "type": "http",
            "http_version": "1.1",
            "method": "PUT" if "uploads" in path else "POST",
            "path": path,
            "raw_path": path.encode(),
            "root_path": "",
            "scheme": "http",
            "query_string": b"",
            "headers": headers,
            "client": ("127.0.0.1", 1),
            "server": ("t", 80),
        }
        self.sent: list[Message] = []

    async def receive(self) -> Message:
        self.read += 1
        chunk = self.chunks.pop(0) if self.chunks else b""
        return {"type": "http.request", "body": chunk, "more_body": bool(self.chunks)}

    async def send(self, message: Message) -> None:
        self.sent.append(message)

    async def run(self, app: Any) -> tuple[int, bytes]:
        await app(self.scope, self.receive, self.send)
        status = next(m["status"] for m in self.sent if m["type"] == "http.response.start")
        body = b"".join(m.get("body", b"") for m in self.sent if m["type"] == "http.response.body")
        return status, body


async def test_a_command_without_a_token_is_answered_401_without_reading_its_body() -> None:
    for path in ("/v1/things", "/v1/nested/v1/things"):
        request = Upload(path, 100_000, token=None)
        status, body = await request.run(service())
        assert status == 401 and b'"code":"token_missing"' in body
        assert request.read == 0


async def test_a_bad_token_is_answered_401_without_reading_the_body() -> None:
    request = Upload("/v1/things", 100_000, token="not-a-jwt", length=False)
    status, body = await request.run(service())
    assert status == 401 and b'"code":"token_invalid"' in body
    assert request.read == 0


async def test_an_over_limit_body_is_413_from_its_length_without_reading_it() -> None:
    request = Upload("/v1/things", 1100, token=TOKEN)
    status, body = await request.run(service())
    assert status == 413 and b'"code":"body_too_large"' in body
    assert request.read == 0


async def test_an_over_limit_body_without_a_length_is_413_once_it_passes_the_limit() -> None:
    for path in ("/v1/things", "/v1/public"):
        request = Upload(path, 100_000, token=TOKEN, length=False)
        status, body = await request.run(service())
        assert status == 413 and b'"code":"body_too_large"' in body
        assert request.read == 11  # 1,100 bytes: just past the limit of 1,000


async def test_a_route_may_declare_its_own_limit_and_a_body_within_it_is_served() -> None:
    assert (await Upload("/v1/uploads", 4000, token=TOKEN).run(service()))[0] == 200
    assert (await Upload("/v1/uploads", 6000, token=TOKEN).run(service()))[0] == 413
    transport = httpx.ASGITransport(app=service())
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        auth = {"Authorization": f"Bearer {TOKEN}"}
        created = await client.post("/v1/things", json={"name": "a"}, headers=auth)
        assert created.status_code == 201 and created.json() == {"name": "a", "by": "org-1"}
        bad = await client.post("/v1/things", content=b"{", headers=auth)
        assert bad.status_code == 400 and bad.json()["code"] == "request_invalid"
        assert (await client.get("/healthz")).status_code == 200
