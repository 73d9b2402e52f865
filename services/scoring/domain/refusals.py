"""Refusing a command that breaks several rules at once: every failed rule is listed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NoReturn

from shared.errors import ErrorItem, RuleViolation


def refuse(items: Sequence[ErrorItem]) -> NoReturn:
    """Raise a 422 whose ``code`` and ``detail`` are the first item's; all items are listed."""
    first = items[0]
    raise RuleViolation(first.code, first.detail, errors=list(items))


def require_text(value: str | None, code: str, detail: str, field: str) -> str:
    """A non-blank text (a reason, a note) or a 422 with ``code``."""
    if value is None or not value.strip():
        refuse([ErrorItem(code, detail, field)])
    return value.strip()
