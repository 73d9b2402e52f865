"""uvicorn's HTTP protocol with an answer's writes coalesced: one ``send`` per answer.

uvicorn writes an answer's head (status line and headers) and its body with two
``transport.write`` calls, each a ``write`` syscall on the socket at once. On this machine's
loopback a ``write`` is most of an answer's cost in the kernel (py-spy, survey under load: the
answers' writes 7.9 % of the service's CPU). :class:`CoalescingHttp` hands uvicorn a transport
that gathers what is written during one turn of the event loop and sends it in one ``write``
at the end of that turn (so head and body, written one after the other without waiting, go
together). A large body is not held: beyond :data:`HOLD_BYTES` the gathered bytes go at once,
so the real transport's flow control (pause_writing) sees them as before.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

HOLD_BYTES = 65_536


class CoalescingTransport:
    """A transport whose writes within one turn of the loop go out as one write. Everything
    but ``write`` and ``close`` (which sends what is gathered first) is the real transport's."""

    __slots__ = ("_loop", "_pending", "_real", "_size")

    def __init__(self, real: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._real, self._loop = real, loop
        self._pending: list[bytes] | None = None
        self._size = 0

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not data:
            return
        if self._pending is None:
            self._pending, self._size = [bytes(data)], len(data)
            self._loop.call_soon(self.flush)
        else:
            self._pending.append(bytes(data))
            self._size += len(data)
        if self._size >= HOLD_BYTES:
            self.flush()

    def flush(self) -> None:
        pending, self._pending, self._size = self._pending, None, 0
        if pending and not self._real.is_closing():
            self._real.write(pending[0] if len(pending) == 1 else b"".join(pending))

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def close(self) -> None:
        self.flush()
        self._real.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


class CoalescingHttp(HttpToolsProtocol):
    """uvicorn's httptools protocol on a :class:`CoalescingTransport`."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        corked = CoalescingTransport(transport, asyncio.get_running_loop())
        super().connection_made(corked)  # type: ignore[arg-type]
