"""Nominations HTTP API (thin: validate, authorise, call the handler), versioned under /v1.

Routes are split by concept: :mod:`.editions` (editions, deadlines, territory),
:mod:`.applications` (commands on applications), :mod:`.documents` (uploads),
:mod:`.uploads` (resumable uploads), :mod:`.drafts` (a nominator's drafts),
:mod:`.queries` (reads).
"""

from __future__ import annotations

from fastapi import APIRouter

from shared.runtime import ServiceContext

from . import applications, documents, drafts, editions, queries, uploads


def router(ctx: ServiceContext) -> APIRouter:
    api = APIRouter()
    for module in (editions, applications, documents, uploads, drafts, queries):
        api.include_router(module.router(ctx))
    return api
