"""What the demo's scripted steps share: HTTP calls that must succeed, a bounded gather."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

import httpx

T = TypeVar("T")


class DemoStepFailed(RuntimeError):
    """A service refused a step the demo expected to succeed."""


async def gather(
    work: Callable[[T], Awaitable[Any]], items: Iterable[T], concurrency: int
) -> list[Any]:
    """``work`` on every item, ``concurrency`` at a time, results in the items' order."""
    gate = asyncio.Semaphore(concurrency)

    async def one(item: T) -> Any:
        async with gate:
            return await work(item)

    return list(await asyncio.gather(*(one(item) for item in items)))


async def call(request: Awaitable[httpx.Response]) -> Any:
    """The JSON of a response, or DemoStepFailed naming the request and the refusal."""
    response = await request
    if response.status_code >= 400:
        raise DemoStepFailed(
            f"{response.request.method} {response.request.url.path}: "
            f"{response.status_code} {response.text[:2000]}"
        )
    return response.json()
