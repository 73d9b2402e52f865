"""Refusals with a stable code, rendered as RFC 9457 problem+json at the HTTP edge.

Domain code raises :class:`DomainError` (or a subclass); it imports nothing from the web stack.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ErrorItem:
    """One failed rule among several (e.g. each reason an application is rejected)."""

    code: str
    detail: str
    field: str | None = None

    def as_dict(self) -> dict[str, Any]:
        item: dict[str, Any] = {"code": self.code, "detail": self.detail}
        if self.field is not None:
            item["field"] = self.field
        return item


@dataclass
class DomainError(Exception):
    """A command refused by a rule. ``status`` follows ../API.md (409 state, 422 rule, ...)."""

    code: str
    detail: str
    status: int = 422
    title: str | None = None
    errors: list[ErrorItem] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__(f"{self.code}: {self.detail}")

    @property
    def problem_title(self) -> str:
        return self.title or self.code.replace("_", " ").capitalize()


class NotFound(DomainError):
    def __init__(self, code: str, detail: str) -> None:
        super().__init__(code=code, detail=detail, status=404)


class Conflict(DomainError):
    def __init__(self, code: str, detail: str, **extra: Any) -> None:
        super().__init__(code=code, detail=detail, status=409, extra=extra)


class RuleViolation(DomainError):
    def __init__(
        self, code: str, detail: str, errors: list[ErrorItem] | None = None, **extra: Any
    ) -> None:
        super().__init__(code=code, detail=detail, status=422, errors=errors or [], extra=extra)


class Forbidden(DomainError):
    def __init__(self, code: str, detail: str) -> None:
        super().__init__(code=code, detail=detail, status=403)


class Unauthorized(DomainError):
    def __init__(self, code: str, detail: str) -> None:
        super().__init__(code=code, detail=detail, status=401)


class ConcurrencyError(Conflict):
    """Another command appended to the same stream first."""

    def __init__(self, stream_id: str, expected: int, actual: int | None = None) -> None:
        super().__init__(
            "concurrency_conflict",
            f"stream {stream_id} moved past version {expected}; reload and retry",
            stream_id=stream_id,
            expected_version=expected,
        )


class RunAgain(Exception):
    """A transaction failed before anything was committed, for a reason that is not the
    request's: the whole transaction may be run again as it was."""


class ConnectionLost(RunAgain):
    """A transaction's database connection was lost before anything was committed: the whole
    transaction may be run again (``EventStore.transaction`` raises it; a failure while
    committing stays what it was, since the commit may have landed)."""


class TransactionConflict(RunAgain):
    """The database rolled the transaction back to let a concurrent one proceed (PostgreSQL:
    a deadlock it broke, 40P01, or a serialization failure, 40001): nothing was committed,
    and the same transaction run again sees what the other one did."""


class StaleRead(Exception):
    """A batch written with ``EventStore.write`` expected a document as it had read it, and it
    changed (or a document it creates exists): nothing was written; read again and decide
    again."""
