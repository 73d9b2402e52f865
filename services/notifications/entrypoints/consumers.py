"""Who is told what (§10–§12, §17, §21–§23), from the other services' events.

* nominations: the nominator (the subject of the token that submitted the application,
  ``user:<sub>``) and the candidate (``candidate:<application id>``) when the application is
  admitted or rejected (every reason);
* scoring: the same two when the candidate is nominated or not (the regional commission
  closes stage I selection), a finalist, a winner; every member of a commission when a sitting
  is called (``person:<id>``); the secretary, once, when every member's sheets of a stage are
  in (the stage can be closed: the stage's deciding sheet — at the interview stage the
  interview sheet, not the essay — or a recusal from the candidate, our reading of §3, §20);
  members are reminded of a stage's deadline by the sender's rounds
  (:func:`.reminders.remind_due`), never of a candidate they recused from; in the republic's
  deployment the finalists stage II awaits are those the federation admitted
  (``FinalistAdmitted``);
* the organiser's record of the award ceremony (§22–§23, ``POST /v1/ceremonies``): the
  winners and their nominators, with its time and place, the diploma and the gift;
* ``uzdik.results`` (reporting's contract): each webhook subscription that wants the type.

Each consumer records what it applied in the transaction of its effect (shared.consumers), and
a notification's id is derived from its cause: a redelivered event queues nothing twice.
"""

from __future__ import annotations

from typing import Any

from services.notifications import handlers
from services.notifications.adapters import known
from services.notifications.adapters.known import (
    APPLICATIONS,
    CANDIDATES,
    COMMISSIONS,
    EDITIONS,
    RECUSALS,
    SHEETS,
    SITTINGS,
    WINNERS,
)
from services.notifications.domain import reminders
from services.notifications.domain.commands import QueueNotification, QueueWebhooks
from services.notifications.domain.edition_figures import NotificationRules
from services.notifications.domain.messages import notification_id
from shared.consumers import Consumer
from shared.events import SYSTEM, Envelope
from shared.handlers import Cause
from shared.runtime import ServiceContext
from shared.store.eventstore import UnitOfWork


def rules_of(ctx: ServiceContext) -> NotificationRules:
    found: NotificationRules = ctx.extras["rules"]
    return found


def of(envelope: Envelope) -> Cause:
    """What an event makes this service do: as the system, in the event's correlation."""
    return Cause.of_event(envelope, SYSTEM)


async def tell(
    uow: UnitOfWork,
    rules: NotificationRules,
    cause: Cause,
    because: str,
    recipient: str,
    role: str,
    template: str,
    params: dict[str, Any],
) -> str | None:
    """Queue one email; ``because``: the id of the event it follows from, or its own key."""
    command = QueueNotification(
        because=because, recipient=recipient, role=role, template=template, params=params
    )
    return await handlers.queue(uow, command, cause, rules=rules)


async def notify_both(
    uow: UnitOfWork,
    rules: NotificationRules,
    cause: Cause,
    because: str,
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
        await tell(uow, rules, cause, because, app["nominator"], "nominator", template, params)
    await tell(
        uow, rules, cause, because, f"candidate:{application_id}", "candidate", template, params
    )


async def notify_both_of(
    uow: UnitOfWork,
    rules: NotificationRules,
    envelope: Envelope,
    application_id: str,
    template: str,
    params: dict[str, Any],
) -> None:
    """The nominator and the candidate, because of ``envelope``."""
    await notify_both(
        uow, rules, of(envelope), str(envelope.event_id), application_id, template, params
    )


def nominations(ctx: ServiceContext) -> Consumer:
    consumer = Consumer(
        "notifications-nominations", ctx.store, sources=["nominations"], cache_docs=True
    )
    rules = rules_of(ctx)

    @consumer.on("EditionAnnounced")
    async def announced(uow: UnitOfWork, envelope: Envelope) -> None:
        p = envelope.payload
        calendar = p["calendar"]
        deadlines = {step: calendar[f] for step, f in reminders.CALENDAR_FIELD.items()}
        await uow.docs.put(EDITIONS, str(p["edition_id"]), {"deadlines": deadlines})

    @consumer.on("DeadlineExtended")
    async def extended(uow: UnitOfWork, envelope: Envelope) -> None:
        p = envelope.payload
        doc = await uow.docs.get(EDITIONS, str(p["edition_id"]))
        if doc is None or p["step"] not in reminders.CALENDAR_FIELD:
            return
        deadlines = {**doc["deadlines"], p["step"]: p["new_deadline"]}
        await uow.docs.put(EDITIONS, str(p["edition_id"]), {**doc, "deadlines": deadlines})

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
        await notify_both_of(uow, rules, envelope, app_id, "application_admitted", {"akim": name})

    @consumer.on("ApplicationRejected")
    async def rejected(uow: UnitOfWork, envelope: Envelope) -> None:
        p = envelope.payload
        reasons = [{"code": e["code"], "detail": e["detail"]} for e in p["errors"]]
        await notify_both_of(
            uow,
            rules,
            envelope,
            str(p["application_id"]),
            "application_rejected",
            {"reasons": reasons},
        )

    return consumer


def scoring(ctx: ServiceContext) -> Consumer:
    """Scoring's events, in two groups: the commissions and their sittings, the candidates."""
    consumer = Consumer("notifications-scoring", ctx.store, sources=["scoring"], cache_docs=True)
    rules = rules_of(ctx)
    _commissions(consumer, rules)
    _candidates(consumer, rules)
    return consumer


def _commissions(consumer: Consumer, rules: NotificationRules) -> None:
    """Who sits where, which stages are open, who gave which sheets; members told of a sitting
    called, the secretary of a stage that can be closed."""

    @consumer.on("CommissionFormed")
    async def formed(uow: UnitOfWork, envelope: Envelope) -> None:
        p = envelope.payload
        await uow.docs.put(
            COMMISSIONS,
            str(p["commission_id"]),
            {
                "region": p.get("region"),
                "level": p.get("level"),
                "edition_id": str(p["edition_id"]),
                "open": [],
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

    @consumer.on("ScoreRecorded", "ScoreCorrected")
    async def sheet(uow: UnitOfWork, envelope: Envelope) -> None:
        p = envelope.payload
        sitting = await uow.docs.get(SITTINGS, str(p["sitting_id"])) or {}
        if not known.counts(sitting.get("stage"), p.get("kind")):
            return  # an essay sheet: the nominee's interview sheet is still to come
        key = f"{p['commission_id']}|{sitting.get('stage')}|{p['member_id']}"
        doc = await uow.docs.get(SHEETS, key) or {"candidates": []}
        if p["candidate_id"] not in doc["candidates"]:
            doc["candidates"].append(p["candidate_id"])
            await uow.docs.put(SHEETS, key, doc)
        if sitting.get("stage"):
            await _closable(
                uow,
                rules,
                envelope,
                str(p["commission_id"]),
                str(sitting["stage"]),
                sitting.get("present"),
            )

    @consumer.on("MemberRecused")
    async def recused(uow: UnitOfWork, envelope: Envelope) -> None:
        p = envelope.payload
        key = f"{p['commission_id']}|{p['member_id']}"
        doc = await uow.docs.get(RECUSALS, key) or {"candidates": []}
        if p["candidate_id"] not in doc["candidates"]:
            doc["candidates"].append(p["candidate_id"])
            await uow.docs.put(RECUSALS, key, doc)
        commission = await uow.docs.get(COMMISSIONS, str(p["commission_id"])) or {}
        for stage in commission.get("open", []):  # the sheet it awaited may have been the last
            await _closable(uow, rules, envelope, str(p["commission_id"]), str(stage))

    @consumer.on("AttendanceRecorded")
    async def attendance(uow: UnitOfWork, envelope: Envelope) -> None:
        p = envelope.payload
        doc = await uow.docs.get(SITTINGS, str(p["sitting_id"])) or {}
        await uow.docs.put(SITTINGS, str(p["sitting_id"]), {**doc, "present": list(p["present"])})

    @consumer.on("StageReopened")
    async def reopened(uow: UnitOfWork, envelope: Envelope) -> None:
        p = envelope.payload
        commission = await uow.docs.get(COMMISSIONS, str(p["commission_id"]))
        if commission is not None and p["stage"] not in commission.get("open", []):
            commission["open"] = [*commission.get("open", []), p["stage"]]
            await uow.docs.put(COMMISSIONS, str(p["commission_id"]), commission)

    @consumer.on("SittingOpened")
    async def sitting(uow: UnitOfWork, envelope: Envelope) -> None:
        p = envelope.payload
        commission = await uow.docs.get(COMMISSIONS, str(p["commission_id"]))
        await uow.docs.put(SITTINGS, str(p["sitting_id"]), {"stage": p["stage"]})
        if commission is None:
            return
        if p["stage"] not in commission.get("open", []):
            commission["open"] = [*commission.get("open", []), p["stage"]]
            await uow.docs.put(COMMISSIONS, str(p["commission_id"]), commission)
        params = {
            "commission_id": p["commission_id"],
            "purpose": p["purpose"],
            "at": str(p["opened_at"]),
            "sitting_id": p["sitting_id"],
        }
        for person in commission["members"]:
            await tell(
                uow,
                rules,
                of(envelope),
                str(envelope.event_id),
                f"person:{person}",
                "member",
                "sitting_called",
                params,
            )


def _candidates(consumer: Consumer, rules: NotificationRules) -> None:
    """The candidates' way through the stages: the nominator and the candidate told of a
    nomination or none, a finalist, a winner."""

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
        await notify_both_of(uow, rules, envelope, cid, "nominated", params)

    @consumer.on("StageClosed")
    async def closed(uow: UnitOfWork, envelope: Envelope) -> None:
        p = envelope.payload
        commission = await uow.docs.get(COMMISSIONS, str(p["commission_id"]))
        if commission is not None:
            commission["open"] = [s for s in commission.get("open", []) if s != p["stage"]]
            await uow.docs.put(COMMISSIONS, str(p["commission_id"]), commission)
        if p["stage"] != "stage1_selection" or not commission or not commission.get("region"):
            return
        for cid, doc in await uow.docs.list(CANDIDATES):
            if doc.get("region") == commission["region"] and not doc.get("nominated"):
                # once per candidate: a stage reopened and closed again tells nobody twice
                why = f"not_nominated|{cid}"
                await notify_both(uow, rules, of(envelope), why, cid, "not_nominated", {})

    @consumer.on("FinalistSelected")
    async def finalist(uow: UnitOfWork, envelope: Envelope) -> None:
        p = envelope.payload
        doc = await uow.docs.get(CANDIDATES, str(p["candidate_id"])) or {}
        await uow.docs.put(CANDIDATES, str(p["candidate_id"]), {**doc, "finalist": True})
        params = {"region": p["region"], "regional_total": str(p["regional_total"])}
        await notify_both_of(uow, rules, envelope, str(p["candidate_id"]), "finalist", params)

    @consumer.on("FinalistAdmitted")
    async def admitted(uow: UnitOfWork, envelope: Envelope) -> None:
        # the republic's deployment: a region's finalist, admitted over the federation, is one
        # the republican commission assesses at stage II (its region's deployment told the
        # nominator and the candidate when it was selected; their contacts are the region's)
        p = envelope.payload
        cid = str(p["candidate_id"])
        doc = await uow.docs.get(CANDIDATES, cid) or {
            "region": str(p["region"]),
            "district": str(p.get("district") or ""),
        }
        await uow.docs.put(
            CANDIDATES, cid, {**doc, "nominated": True, "finalist": True, "from_region": True}
        )

    @consumer.on("WinnersDecided")
    async def winners(uow: UnitOfWork, envelope: Envelope) -> None:
        p = envelope.payload
        places = {str(w["candidate_id"]): int(w["place"]) for w in p["winners"]}
        await uow.docs.put(WINNERS, str(p["commission_id"]), {"places": places})
        for cid, place in places.items():
            if await _told_by_region(uow, cid):
                continue
            await notify_both_of(uow, rules, envelope, cid, "winner", {"place": place})


async def _told_by_region(uow: UnitOfWork, candidate_id: str) -> bool:
    """A finalist the federation admitted whose application this deployment has not: its
    region's deployment has the people and tells them (``entrypoints/republic.py``)."""
    doc = await uow.docs.get(CANDIDATES, candidate_id) or {}
    return bool(doc.get("from_region")) and await uow.docs.get(APPLICATIONS, candidate_id) is None


async def _closable(
    uow: UnitOfWork,
    rules: NotificationRules,
    envelope: Envelope,
    commission_id: str,
    stage: str,
    present: list[str] | None = None,
) -> None:
    """Tell the secretary, once, when the sheet of every member present at the sitting (every
    member, when no attendance is known) is in for the stage: it can close."""
    commission = await uow.docs.get(COMMISSIONS, commission_id)
    if commission is None or stage not in commission.get("open", []):
        return
    why = f"closable|{commission_id}|{stage}"
    secretary = f"person:{commission['secretary']}"
    told = notification_id(why, secretary, "stage_closable", "email")
    if await uow.stream_version(handlers.stream_of(told)) > 0:
        return  # told already (queue would do nothing): every later sheet is left at that
    # the candidates every member present is done with (a sheet given, or recused from), before
    # the candidates are read (all of the edition's): while one has none, it cannot be closable
    done: set[str] | None = None
    for member in present or commission["members"]:
        given = (await known.assessed(uow, commission_id, stage, [member]))[member]
        done = given if done is None else done & given
        if not done:
            return
    expected = known.expected(stage, commission.get("region"), await uow.docs.list(CANDIDATES))
    if not expected or (done is not None and expected - done):
        return
    params = {"commission_id": commission_id, "stage": stage}
    await tell(uow, rules, of(envelope), why, secretary, "secretary", "stage_closable", params)


def results(ctx: ServiceContext) -> Consumer:
    """Result events (``uzdik.results``, published by reporting) → webhook deliveries."""
    consumer = Consumer("notifications-results", ctx.store, sources=["reporting"])
    rules = rules_of(ctx)

    @consumer.on("*")
    async def result(uow: UnitOfWork, envelope: Envelope) -> None:
        await handlers.queue_webhooks(uow, QueueWebhooks(envelope), of(envelope), rules=rules)

    return consumer
