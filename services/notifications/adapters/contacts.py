"""Contacts: addresses kept in this service's database only, outside the hash chain.

They are documents (the kernel's ``documents`` table, model ``contacts``) keyed by recipient
reference: an erasure deletes the row and the event log, hashed over references alone, stays
valid. Nothing here is ever copied into an event.
"""

from __future__ import annotations

from typing import Any

from shared.store.eventstore import UnitOfWork

CONTACTS = "contacts"
PREFERENCES = "preferences"  # language, not personal: kept after an erasure


async def contact(uow: UnitOfWork, recipient: str) -> dict[str, Any] | None:
    return await uow.docs.get(CONTACTS, recipient)


async def language(uow: UnitOfWork, recipient: str, default: str) -> str:
    found = await uow.docs.get(PREFERENCES, recipient)
    return str(found["language"]) if found else default


async def put(uow: UnitOfWork, recipient: str, email: str, language: str) -> None:
    await uow.docs.put(CONTACTS, recipient, {"email": email})
    await uow.docs.put(PREFERENCES, recipient, {"language": language})


async def erase(uow: UnitOfWork, recipient: str) -> bool:
    existed = await uow.docs.get(CONTACTS, recipient) is not None
    await uow.docs.delete(CONTACTS, recipient)
    return existed
