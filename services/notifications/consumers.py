"""Who is told what (§10–§12, §17, §21–§23), from the other services' events.

* nominations: the nominator (the subject of the token that submitted the application,
  ``user:<sub>``) and the candidate (``candidate:<application id>``) when the application is
  admitted or rejected (every reason);
* scoring: the same two when the candidate is nominated or not (the regional commission
  closes stage I selection), a finalist, a winner; every member of a commission when a sitting
  is called (``person:<id>``);
* ``uzdik.results`` (reporting's contract): each webhook subscription that wants the type.

Each consumer records what it applied in the transaction of its effect (shared.consumers), and
a notification's id is derived from its cause: a redelivered event queues nothing twice.
"""

from __future__ import annotations

from typing import Any

from services.notifications import handlers
from services.notifications.domain.rules import NotificationRules
from shared.consumers import Consumer
from shared.events import Envelope
from shared.runtime import ServiceContext
from shared.store.eventstore import UnitOfWork

APPLICATIONS = "applications"
CANDIDATES = "candidates"
COMMISSIONS = "commissions"
WINNERS = "winners"


def rules_of(ctx: ServiceContext) -> NotificationRules:
    found: NotificationRules = ctx.extras["rules"]
    return found


async def notify_both(
    uow: UnitOfWork,
    rules: NotificationRules,
    envelope: Envelope,
    application_id: str,
    template: str,
    params: dict[str, Any],
) -> None:
    """The nominator (when known) and the candidate."""
    app = await uow.docs.get(APPLICATIONS, application_id) or {}
    params = {"application_id": application_id, **params}
    if app.get("akim"):
        params.setdefault("akim", app["akim"])
    if app.get("nominator"):
        await handlers.queue(uow, rules, envelope, app["nominator"], "nominator", template, params)
    await handlers.queue(
        uow, rules, envelope, f"candidate:{application_id}", "candidate", template, params
    )


def nominations(ctx: ServiceContext) -> Consumer:
    consumer = Consumer("notifications.nominations", ctx.store, sources=["nominations"])
    rules = rules_of(ctx)

    @consumer.on("ApplicationSubmitted")
    async def submitted(uow: UnitOfWork, envelope: Envelope) -> None:
        p = envelope.payload
        await uow.docs.put(
            APPLICATIONS,
            str(p["application_id"]),
            {
                "nominator": f"user:{envelope.actor.id}",
                "edition_id": str(p["edition_id"]),
                "region": str(p["region_kato"]),
            },
        )

    @consumer.on("ApplicationAdmitted")
    async def admitted(uow: UnitOfWork, envelope: Envelope) -> None:
        p = envelope.payload
        akim = p.get("akim") or {}
        name = " ".join(
            str(akim[k]) for k in ("surname", "given_name", "patronymic") if akim.get(k)
        )
        app_id = str(p["application_id"])
        doc = await uow.docs.get(APPLICATIONS, app_id) or {}
        await uow.docs.put(APPLICATIONS, app_id, {**doc, "akim": name})
        await notify_both(uow, rules, envelope, app_id, "application_admitted", {"akim": name})

    @consumer.on("ApplicationRejected")
    async def rejected(uow: UnitOfWork, envelope: Envelope) -> None:
        p = envelope.payload
        reasons = [{"code": e["code"], "detail": e["detail"]} for e in p["errors"]]
        await notify_both(
            uow,
            rules,
            envelope,
            str(p["application_id"]),
            "application_rejected",
            {"reasons": reasons},
        )

    return consumer


def scoring(ctx: ServiceContext) -> Consumer:
    consumer = Consumer("notifications.scoring", ctx.store, sources=["scoring"])
    rules = rules_of(ctx)

    @consumer.on("CommissionFormed")
    async def formed(uow: UnitOfWork, envelope: Envelope) -> None:
        p = envelope.payload
        await uow.docs.put(
            COMMISSIONS,
            str(p["commission_id"]),
            {
                "region": p.get("region"),
                "level": p.get("level"),
                "members": [m["person_id"] for m in p["members"]],
                "secretary": p["secretary"]["person_id"],
            },
        )

    @consumer.on("MemberReplaced")
    async def replaced(uow: UnitOfWork, envelope: Envelope) -> None:
        p = envelope.payload
        doc = await uow.docs.get(COMMISSIONS, str(p["commission_id"]))
        if doc is None:
            return
        members = [m for m in doc["members"] if m != p["outgoing_id"]]
        members.append(p["incoming"]["person_id"])
        await uow.docs.put(COMMISSIONS, str(p["commission_id"]), {**doc, "members": members})

    @consumer.on("CandidateRegistered")
    async def registered(uow: UnitOfWork, envelope: Envelope) -> None:
        p = envelope.payload
        await uow.docs.put(
            CANDIDATES,
            str(p["candidate_id"]),
            {"region": str(p["region"]), "district": str(p["district"]), "nominated": False},
        )

    @consumer.on("CandidateNominated")
    async def nominated(uow: UnitOfWork, envelope: Envelope) -> None:
        p = envelope.payload
        cid = str(p["candidate_id"])
        doc = await uow.docs.get(CANDIDATES, cid) or {}
        await uow.docs.put(CANDIDATES, cid, {**doc, "nominated": True})
        params = {"district": p["district"], "points": str(p["points"]), "rank": p["rank"]}
        await notify_both(uow, rules, envelope, cid, "nominated", params)

    @consumer.on("StageClosed")
    async def closed(uow: UnitOfWork, envelope: Envelope) -> None:
        p = envelope.payload
        commission = await uow.docs.get(COMMISSIONS, str(p["commission_id"]))
        if p["stage"] != "stage1_selection" or not commission or not commission.get("region"):
            return
        for cid, doc in await uow.docs.list(CANDIDATES):
            if doc.get("region") == commission["region"] and not doc.get("nominated"):
                await notify_both(uow, rules, envelope, cid, "not_nominated", {})

    @consumer.on("FinalistSelected")
    async def finalist(uow: UnitOfWork, envelope: Envelope) -> None:
        p = envelope.payload
        params = {"region": p["region"], "regional_total": str(p["regional_total"])}
        await notify_both(uow, rules, envelope, str(p["candidate_id"]), "finalist", params)

    @consumer.on("WinnersDecided")
    async def winners(uow: UnitOfWork, envelope: Envelope) -> None:
        p = envelope.payload
        places = {str(w["candidate_id"]): int(w["place"]) for w in p["winners"]}
        await uow.docs.put(WINNERS, str(p["commission_id"]), {"places": places})
        for cid, place in places.items():
            await notify_both(uow, rules, envelope, cid, "winner", {"place": place})

    @consumer.on("SittingOpened")
    async def sitting(uow: UnitOfWork, envelope: Envelope) -> None:
        p = envelope.payload
        commission = await uow.docs.get(COMMISSIONS, str(p["commission_id"]))
        if commission is None:
            return
        params = {
            "commission_id": p["commission_id"],
            "purpose": p["purpose"],
            "at": str(p["opened_at"]),
            "sitting_id": p["sitting_id"],
        }
        for person in commission["members"]:
            await handlers.queue(
                uow, rules, envelope, f"person:{person}", "member", "sitting_called", params
            )

    return consumer


def results(ctx: ServiceContext) -> Consumer:
    """Result events (``uzdik.results``, published by reporting) → webhook deliveries."""
    consumer = Consumer("notifications.results", ctx.store, sources=["reporting"])
    rules = rules_of(ctx)

    @consumer.on("*")
    async def result(uow: UnitOfWork, envelope: Envelope) -> None:
        await handlers.queue_webhooks(uow, rules, envelope)

    return consumer
