"""An answer's writes coalesced (shared.serving): what one turn of the loop writes goes out as
one write, nothing is lost or reordered, close sends what is held, a large body is not held;
and uvicorn on the protocol answers as it does without it (real sockets)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import uvicorn

from shared.serving import HOLD_BYTES, CoalescingHttp, CoalescingTransport


class Recording:
    """The real transport's side: what was written, and whether it was closed."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        assert not self.closed, "written after close"
        self.writes.append(bytes(data))

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 5000)}.get(name, default)


def corked() -> tuple[CoalescingTransport, Recording]:
    real = Recording()
    return CoalescingTransport(real, asyncio.get_running_loop()), real  # type: ignore[arg-type]


async def test_a_head_leaves_with_the_first_bytes_of_its_body_at_once() -> None:
    transport, real = corked()
    transport.write(b"HTTP/1.1 201 Created\r\ncontent-length: 11\r\n\r\n")
    assert real.writes == []  # the head waits for its body
    transport.write(memoryview(b'{"ok":'))
    assert real.writes == [b'HTTP/1.1 201 Created\r\ncontent-length: 11\r\n\r\n{"ok":']
    transport.write(b"")
    transport.write(bytearray(b"true}"))  # the rest of a body: written when it is written
    assert real.writes[1:] == [b"true}"]
    await asyncio.sleep(0)  # the head's scheduled flush finds nothing left
    assert len(real.writes) == 2


async def test_a_head_without_a_body_goes_at_the_end_of_the_turn() -> None:
    transport, real = corked()
    transport.write(b"HTTP/1.1 204 No Content\r\n\r\n")
    assert real.writes == []
    await asyncio.sleep(0)
    assert real.writes == [b"HTTP/1.1 204 No Content\r\n\r\n"]


async def test_close_sends_what_is_held_first_and_once() -> None:
    transport, real = corked()
    transport.write(b"HTTP/1.1 400 Bad Request\r\n\r\n")
    transport.close()
    assert real.writes == [b"HTTP/1.1 400 Bad Request\r\n\r\n"] and real.closed
    await asyncio.sleep(0)
    assert len(real.writes) == 1


async def test_only_a_heads_ending_is_held_and_nothing_large() -> None:
    transport, real = corked()
    transport.write(b"a body")
    assert real.writes == [b"a body"]
    large = b"x" * HOLD_BYTES + b"\r\n\r\n"
    transport.write(large)
    assert real.writes[1:] == [large]


async def test_nothing_is_written_to_a_transport_already_closing() -> None:
    transport, real = corked()
    transport.write(b"HTTP/1.1 200 OK\r\n\r\n")
    real.close()  # the peer went away before the turn ended
    await asyncio.sleep(0)
    assert real.writes == []


async def test_everything_else_is_the_real_transports() -> None:
    transport, _ = corked()
    assert transport.get_extra_info("peername") == ("127.0.0.1", 5000)
    assert transport.is_closing() is False


async def app(scope: Any, receive: Any, send: Any) -> None:
    assert scope["type"] == "http"
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    if scope["path"] == "/stream":  # many chunks of a large body, one after the other
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for i in range(64):
            chunk = bytes([65 + i % 26]) * 32_768
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
        return
    answer = b'{"echo":' + str(len(body)).encode() + b"}"
    await send(
        {
            "type": "http.response.start",
            "status": 201,
            "headers": [(b"content-type", b"application/json"), (b"x-test", b"1")],
        }
    )
    await send({"type": "http.response.body", "body": answer})


@pytest.fixture
async def server() -> AsyncIterator[str]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    served = uvicorn.Server(
        uvicorn.Config(app, http=CoalescingHttp, lifespan="off", log_level="warning")
    )
    task = asyncio.create_task(served.serve(sockets=[listener]))
    for _ in range(500):  # uvicorn's Server has no event to wait for
        if served.started:
            break
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        served.should_exit = True
        await task


async def test_uvicorn_answers_through_it(server: str) -> None:
    async with httpx.AsyncClient(base_url=server) as client:
        for size in (0, 10, 100_000):  # keep-alive: one connection, answers in order
            answer = await client.post("/echo", content=b"x" * size)
            assert answer.status_code == 201
            assert answer.headers["x-test"] == "1"
            assert answer.headers["content-type"] == "application/json"
            assert answer.json() == {"echo": size}
        streamed = await client.get("/stream")
    assert streamed.status_code == 200
    expected = b"".join(bytes([65 + i % 26]) * 32_768 for i in range(64))
    assert streamed.content == expected


async def test_a_bad_request_is_answered_and_closed(server: str) -> None:
    host, port = server.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(b"NOT HTTP AT ALL\r\n\r\n")
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), timeout=5)  # until the server closes
    writer.close()
    assert answer.startswith(b"HTTP/1.1 400 ")
    assert answer.endswith(b"Invalid HTTP request received.")
