"""Lookups the scoring service keeps as documents in its own database, in the same transaction as
the events they index (``UnitOfWork.docs``). All are derived from the log (its own events and the
events it consumed), so a replay rebuilds them.

==================  ==========================================  ==================================
model               key                                         document
==================  ==========================================  ==================================
scoring.edition     edition id                                  the edition's ScoringRules overrides
scoring.commission  commission id                               edition, level, region
scoring.seat        ``<edition>/<region>`` or ``<edition>/rep``  the commission sitting for it
scoring.sitting     sitting id                                  its commission
scoring.candidate   candidate id                                commission, region, district
scoring.intake      application id                              what nominations said so far
scoring.waiting     ``<edition>/<region>/<application>``        ready, but no commission yet
scoring.survey      survey id                                   the candidate it surveys
scoring.signature   ``<sitting>/<role>``                        a protocol signature, pending
scoring.key         person id                                   the person's Ed25519 public key
==================  ==========================================  ==================================
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.store.docs import DocStore

EDITION = "scoring.edition"
COMMISSION = "scoring.commission"
SEAT = "scoring.seat"
SITTING = "scoring.sitting"
CANDIDATE = "scoring.candidate"
INTAKE = "scoring.intake"
WAITING = "scoring.waiting"
SURVEY = "scoring.survey"
SIGNATURE = "scoring.signature"
KEY = "scoring.key"

REPUBLIC = "rep"


@dataclass(frozen=True)
class CommissionRef:
    """What routing and authorisation need to know about a commission."""

    commission_id: str
    edition_id: str
    level: str
    region: str | None


def seat(edition_id: str, region: str | None) -> str:
    return f"{edition_id}/{region or REPUBLIC}"


def waiting_key(edition_id: str, region: str, application_id: str) -> str:
    return f"{edition_id}/{region}/{application_id}"


async def commission(docs: DocStore, commission_id: str) -> CommissionRef | None:
    found = await docs.get(COMMISSION, commission_id)
    if found is None:
        return None
    return CommissionRef(commission_id, found["edition_id"], found["level"], found["region"])


async def put_commission(docs: DocStore, ref: CommissionRef) -> None:
    doc = {"edition_id": ref.edition_id, "level": ref.level, "region": ref.region}
    await docs.put(COMMISSION, ref.commission_id, doc)
    await docs.put(SEAT, seat(ref.edition_id, ref.region), {"commission_id": ref.commission_id})


async def seated(docs: DocStore, edition_id: str, region: str | None) -> str | None:
    """The commission formed for ``region`` (None: the Republican one) of an edition."""
    found = await docs.get(SEAT, seat(edition_id, region))
    return None if found is None else str(found["commission_id"])


async def commissions(docs: DocStore) -> list[CommissionRef]:
    return [
        CommissionRef(key, d["edition_id"], d["level"], d["region"])
        for key, d in await docs.list(COMMISSION)
    ]


async def sitting_commission(docs: DocStore, sitting_id: str) -> str | None:
    found = await docs.get(SITTING, sitting_id)
    return None if found is None else str(found["commission_id"])


async def put_sitting(docs: DocStore, sitting_id: str, commission_id: str) -> None:
    await docs.put(SITTING, sitting_id, {"commission_id": commission_id})


async def candidate(docs: DocStore, candidate_id: str) -> dict[str, Any] | None:
    return await docs.get(CANDIDATE, candidate_id)


async def put_candidate(docs: DocStore, candidate_id: str, doc: dict[str, Any]) -> None:
    await docs.put(CANDIDATE, candidate_id, doc)
