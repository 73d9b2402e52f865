"""The service's own lookup tables, as documents written in the command's transaction.

- ``live_application`` — ``<edition>/<rural district>`` → the akim's live application, which is
  what "one live application per akim per edition" (§9) is decided on, under the append lock;
- ``application_region`` — ``<application>`` → its edition, region and listing key, which is
  what a command is authorised on before anything else is read;
- ``application`` — ``<edition>/<region>/<district>/<application>`` → a summary, so that
  listing an edition, a region or a district is one ordered range of keys;
- ``application_by_submitter`` — ``<person>/<edition>/<region>/<district>/<application>``, so
  that a nominator's own applications are one range too.
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.store import schema
from shared.store.docs import DocStore

from ..domain.application_state import ApplicationState

LIVE = "live_application"
WHERE = "application_region"
SUMMARY = "application"
MINE = "application_by_submitter"


def live_key(edition_id: str, rural_district_kato: str) -> str:
    return f"{edition_id}/{rural_district_kato}"


def summary_key(state: ApplicationState) -> str:
    return "/".join(
        (state.edition_id, state.region_kato, state.district_kato, state.application_id)
    )


async def live_application(docs: DocStore, edition_id: str, rural_district_kato: str) -> str | None:
    """The akim's live application in the edition, if any."""
    found = await docs.get(LIVE, live_key(edition_id, rural_district_kato))
    return None if found is None else str(found["application_id"])


async def region_of(docs: DocStore, application_id: str) -> str | None:
    """The region (KATO) of the application, or None when there is no such application."""
    found = await docs.get(WHERE, application_id)
    return None if found is None else str(found["region_kato"])


async def record(
    docs: DocStore, state: ApplicationState, created: bool, submitter: str | None = None
) -> None:
    """Bring every lookup in line with ``state``, the application after the command
    (``submitter``: the person who created it)."""
    live = live_key(state.edition_id, state.rural_district_kato)
    if created and submitter is not None:
        await docs.put(MINE, f"{submitter}/{summary_key(state)}", {})
    if created:
        where = {"edition_id": state.edition_id, "region_kato": state.region_kato}
        await docs.put(WHERE, state.application_id, where)
        await docs.put(LIVE, live, {"application_id": state.application_id})
    elif not state.is_live:
        await _release(docs, live, state.application_id)
    await docs.put(SUMMARY, summary_key(state), summary(state))


async def _release(docs: DocStore, key: str, application_id: str) -> None:
    held = await docs.get(LIVE, key)
    if held is not None and held["application_id"] == application_id:
        await docs.delete(LIVE, key)


def summary(state: ApplicationState) -> dict[str, Any]:
    """What a list of applications shows of one (``ApplicationSummary`` at the HTTP edge)."""
    return {
        "application_id": state.application_id,
        "edition_id": state.edition_id,
        "region_kato": state.region_kato,
        "district_kato": state.district_kato,
        "rural_district_kato": state.rural_district_kato,
        "akim": state.questionnaire.akim.full,
        "nominator_kind": str(state.questionnaire.nominator.kind),
        "status": str(state.status),
        "submitted_at": state.submitted_at.isoformat(),
        "documents": sorted(str(kind) for kind in state.documents),
        "rejection_codes": [failure.code for failure in state.rejection],
        "questionnaire_score": None if state.score is None else state.score.total,
        "score_confirmed": state.score_confirmed,
        "justified_complaints": None if state.complaints is None else state.complaints.count,
    }


async def page(
    conn: AsyncConnection, prefix: str, after: str, limit: int, status: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """Summaries whose key starts with ``prefix``, after the key ``after``, in key order;
    with the key to continue after when there are more."""
    t = schema.documents.c
    query = (
        sa.select(t.key, t.doc)
        .where(t.model == SUMMARY, t.key.startswith(prefix, autoescape=True), t.key > after)
        .order_by(t.key)
    )
    if status is None:
        query = query.limit(limit + 1)
    found: list[tuple[str, dict[str, Any]]] = []
    for row in await conn.execute(query):
        doc = _load(row.doc)
        if status is None or doc["status"] == status:
            found.append((row.key, doc))
            if len(found) > limit:
                break
    more = len(found) > limit
    items = found[:limit]
    return [doc for _, doc in items], (items[-1][0] if more and items else None)


async def submitted_by(docs: DocStore, person: str, edition_id: str) -> list[dict[str, Any]]:
    """The summaries of the applications ``person`` submitted in the edition, in key order."""
    found = []
    for key, _ in await docs.list_text(MINE, f"{person}/{edition_id}/"):
        doc = await docs.get(SUMMARY, key.split("/", 1)[1])
        if doc is not None:
            found.append(doc)
    return found


def _load(text: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(text)
    return loaded
