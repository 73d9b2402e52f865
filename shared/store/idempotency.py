"""Idempotency records: the one way every service keeps the answer it gave to a request that
carried an ``Idempotency-Key`` (API.md), so that the same key with the same body gets the same
answer and nothing is done twice, and the same key with another body is refused.

A record is a document of model ``idempotency`` whose key is ``<scope>|<Idempotency-Key>``
and whose text is ``{"request_hash", "status", "response"}`` (JSON). The scope says
whose key it is (a command and the principal that sent it): another principal's key never
replays. ``request_hash`` is the body's keyed fingerprint (:func:`shared.http.fingerprint`):
never a plain digest, a body may hold an IIN.

Two ways in, one format:

* a command in a transaction (:func:`shared.http.command`): :func:`recall`, :func:`remember`;
* a batch that reads and writes its documents in one round trip each (the survey's responses):
  :func:`doc_key` to read, :func:`answer_of` to decide, :func:`record_text` to write.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from shared.errors import DomainError, RuleViolation
from shared.store.eventstore import UnitOfWork

MODEL = "idempotency"
KEY_MOST = 128  # characters of an Idempotency-Key (API.md); a longer one is refused
_DOC_KEY_MOST = 300  # documents.key


class IdempotencyKeyReused(DomainError):
    """422: the key was used before with another request body."""

    def __init__(self) -> None:
        super().__init__(
            code="idempotency_key_reused",
            status=422,
            detail="this Idempotency-Key was already used with a different request body",
        )


@dataclass(frozen=True)
class Answer:
    """What was answered the first time: the status and the JSON body."""

    status: int
    response: Any


def check_key(key: str) -> str:
    """The header's value, or 422 ``idempotency_key_invalid`` (empty or over 128 characters)."""
    if not key or len(key) > KEY_MOST:
        raise RuleViolation(
            "idempotency_key_invalid",
            f"an Idempotency-Key has 1 to {KEY_MOST} characters; this one has {len(key)}",
        )
    return key


def doc_key(scope: str, key: str) -> str:
    """The record's document key; a scope too long for it is replaced by its SHA-256."""
    found = f"{scope}|{key}"
    if len(found) > _DOC_KEY_MOST:
        found = f"{hashlib.sha256(scope.encode()).hexdigest()}|{key}"
    return found


def record_text(request_hash: str, response: Any, status: int = 201) -> str:
    """A record's text: the answer given to the request whose fingerprint is ``request_hash``
    (the response's keys in their order: a replay is the first answer, byte for byte)."""
    record = {"request_hash": request_hash, "status": status, "response": response}
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))


def answer_of(text: str, request_hash: str) -> Answer:
    """The stored answer for a request with this fingerprint, or 422 if the body differs."""
    record = json.loads(text)
    if record["request_hash"] != request_hash:
        raise IdempotencyKeyReused()
    return Answer(int(record.get("status", 201)), record["response"])


async def recall(uow: UnitOfWork, scope: str, key: str, request_hash: str) -> Answer | None:
    """The answer kept for ``key`` in ``scope`` (None: the key is new)."""
    found = await uow.docs.get_text(MODEL, doc_key(scope, key))
    return None if found is None else answer_of(found, request_hash)


async def remember(
    uow: UnitOfWork, scope: str, key: str, request_hash: str, response: Any, status: int
) -> None:
    """Keep the answer in the command's own transaction: a concurrent request with the same key
    fails on the document's primary key and is answered from this record once it commits."""
    await uow.docs.insert_text(
        MODEL, doc_key(scope, key), record_text(request_hash, response, status)
    )
