"""Text from clients at the edge (issue 13, item 4): a NUL, a control character or a lone
surrogate is refused with 400 ``invalid_text`` before any store sees it (PostgreSQL failed on
it with a 500 where SQLite stored it); ids the client chooses can always be addressed again."""

from __future__ import annotations

import json
from typing import Annotated

import httpx
import pytest
from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field, ValidationError

from shared.auth import Principal, TokenVerifier, issue_dev_token
from shared.edge import principal
from shared.http import create_app
from shared.settings import Settings
from shared.text import TEXT_CHECKED, CheckedBody, ClientId

SETTINGS = Settings(dev_jwt_secret="unit-test-secret-that-is-long-enough-for-hs256")
JSON = {"Content-Type": "application/json"}
AUTH = {"Authorization": f"Bearer {issue_dev_token(SETTINGS, 'org-1', ['organiser'])}"}


class Person(BaseModel):
    name: str


class Board(CheckedBody):
    board_id: ClientId
    note: str = ""
    members: list[Person] = Field(default_factory=list)
    scores: dict[str, int] = Field(default_factory=dict)


class Plain(BaseModel):
    title: str


def client() -> httpx.AsyncClient:
    api = APIRouter(prefix="/v1")

    @api.post("/boards", status_code=201)
    async def form(body: Board, who: Principal = Depends(principal)) -> dict[str, str]:
        return {"id": body.board_id}

    @api.post("/plain", status_code=201)
    async def plain(body: Annotated[Plain, TEXT_CHECKED]) -> dict[str, str]:
        return {"title": body.title}

    @api.get("/boards/{board_id}")
    async def read(board_id: str, after: str | None = None) -> dict[str, str]:
        return {"id": board_id}

    app = create_app("unit", TokenVerifier(SETTINGS), [api])
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


@pytest.mark.parametrize(
    "body",
    [
        {"board_id": "b-1", "note": "a\u0000b"},
        {"board_id": "b-1", "members": [{"name": "Ақжол\u0007"}]},
        {"board_id": "b-1", "scores": {"c\u0000": 1}},
        {"board_id": "b-1", "note": "\ud800"},
    ],
)
async def test_a_nul_or_control_character_anywhere_in_a_body_is_400_invalid_text(
    body: dict[str, object],
) -> None:
    async with client() as c:
        raw = json.dumps(body).encode()  # \u escapes, as a client would send them
        r = await c.post("/v1/boards", content=raw, headers={**AUTH, **JSON})
    assert r.status_code == 400, r.text
    assert r.json()["code"] == "invalid_text"
    assert r.json()["errors"][0]["code"] == "invalid_text"


async def test_line_breaks_in_free_text_and_any_language_are_accepted() -> None:
    body = {"board_id": "b-1", "note": "бірінші жол\nвторая строка\tok", "members": []}
    async with client() as c:
        r = await c.post("/v1/boards", json=body, headers=AUTH)
        plain = await c.post("/v1/plain", json={"title": "a\u0000"})
    assert r.status_code == 201, r.text
    assert (plain.status_code, plain.json()["code"]) == (400, "invalid_text")


async def test_a_control_character_in_a_path_or_query_is_400_invalid_text() -> None:
    async with client() as c:
        in_path = await c.get("/v1/boards/a%00b")
        in_query = await c.get("/v1/boards/a", params={"after": "x\u0000"})
        fine = await c.get("/v1/boards/a", params={"after": "ключ"})
    assert (in_path.status_code, in_path.json()["code"]) == (400, "invalid_text")
    assert in_path.json()["errors"][0]["field"] == "path"
    assert (in_query.status_code, in_query.json()["code"]) == (400, "invalid_text")
    assert fine.status_code == 200


@pytest.mark.parametrize("bad", ["../../x", "..", "a..b", "a/b", "-a", "", "a" * 65, "a\u0000"])
def test_an_id_the_client_chooses_must_be_addressable(bad: str) -> None:
    with pytest.raises(ValidationError) as refused:
        Board(board_id=bad)
    assert refused.value.errors()[0]["type"] in ("invalid_id", "invalid_text")


@pytest.mark.parametrize("good", ["0190f5a0-0000-7000-8000-000000000001", "board-1.v2", "A_b"])
def test_uuids_and_plain_names_are_ids(good: str) -> None:
    assert Board(board_id=good).board_id == good


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b"{", "application/json"),
        (b'{"board_id": "\xff"}', "application/json"),  # not UTF-8: was code http_error
        (b'{"board": 1}', "application/json"),
        (b"[1]", "application/json"),
        (b'{"board_id": "b"}', "text/plain"),
        (b"", "application/json"),
    ],
)
async def test_a_body_that_is_not_json_or_of_the_wrong_shape_is_400_request_invalid(
    content: bytes, content_type: str
) -> None:
    async with client() as c:
        r = await c.post(
            "/v1/boards", content=content, headers={**AUTH, "Content-Type": content_type}
        )
    assert (r.status_code, r.json()["code"]) == (400, "request_invalid")
