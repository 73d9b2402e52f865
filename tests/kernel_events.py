"""Tiny events for the kernel's own tests (no competition rule here either)."""

from __future__ import annotations

from shared.events import Actor, Event, EventRegistry

registry = EventRegistry()
ACTOR = Actor(id="tester", role="organiser", region=None)


@registry.register
class Noted(Event):
    event_type = "Noted"
    text: str
    n: int = 0
