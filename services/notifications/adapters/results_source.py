"""The subscription to ``<prefix>.results`` (reporting's contract topic), through the kernel's
:func:`shared.follow.follow`."""

from __future__ import annotations

import asyncio

from shared.consumers import Consumer
from shared.follow import follow


async def run(consumer: Consumer, bootstrap: str, prefix: str, stop: asyncio.Event) -> None:
    await follow(consumer, bootstrap, f"{prefix}.results", f"{prefix}-{consumer.name}", stop)
