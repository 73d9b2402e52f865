"""Notifications HTTP API.

Roles: contacts are recorded by the organiser or a secretary (for anyone), or by a person for
themself (``user:<own token subject>``); erased by the organiser or by the person themself.
Webhook subscriptions are made by an integrator for itself (role ``integrator``, the
subscription's ``integrator`` is the token's subject) or by the organiser on an integrator's
behalf; an integrator sees, cancels and replays only its own. Notifications and the recipients
the service knows are listed to the organiser and the auditor — never with an address or secret.
"""

from __future__ import annotations

import secrets as token_secrets
from base64 import b64encode
from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import uuid4

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import ConfigDict, Field, field_validator

from services.notifications import handlers
from services.notifications.adapters import contacts, known
from services.notifications.domain.commands import (
    EraseContact,
    RecordContact,
    Redeliver,
    Requeue,
    Subscribe,
    Unsubscribe,
)
from services.notifications.domain.signing import secret_bytes
from services.notifications.entrypoints import consumers
from services.notifications.events import AwardCeremonyRecorded
from services.notifications.service import service_of
from shared.auth import Principal
from shared.edge import principal
from shared.errors import Forbidden, NotFound
from shared.events import Actor
from shared.handlers import Cause
from shared.http import command, correlation_id
from shared.runtime import ServiceContext
from shared.store.eventstore import UnitOfWork
from shared.text import CheckedBody

Reference = Annotated[
    str,
    Field(
        pattern=r"^(user|candidate|person):[^\s@]{1,120}$",
        description="recipient reference: user:<token sub>, candidate:<application id>, "
        "person:<commission person id>",
    ),
]
Email = Annotated[str, Field(pattern=r"^[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s]{2,63}$", max_length=254)]
EVENT_TYPE = r"^(\*|[A-Z][A-Za-z]{1,80})$"


class _Body(CheckedBody):
    """No NUL, control character or lone surrogate in any string (``invalid_text``)."""

    model_config = ConfigDict(extra="forbid")


class ContactBody(_Body):
    recipient: Reference
    email: Email = Field(description="kept in this service's database only")
    language: Literal["kk", "ru"] = "kk"


class ErasureBody(_Body):
    reason: str = Field("on the person's request", min_length=1, max_length=500)


class SubscriptionBody(_Body):
    integrator: str = Field(pattern=r"^[A-Za-z0-9._-]{1,64}$")
    url: str = Field(pattern=r"^https?://\S+$", max_length=2000)
    event_types: list[Annotated[str, Field(pattern=EVENT_TYPE)]] = Field(min_length=1)
    secret: str | None = Field(
        None, min_length=24, max_length=200, description="whsec_<base64>; minted when absent"
    )

    @field_validator("secret")
    @classmethod
    def _decodable(cls, value: str | None) -> str | None:
        if value is not None and value.startswith("whsec_"):
            try:
                secret_bytes(value)
            except ValueError as exc:
                raise ValueError("a whsec_ secret must be base64 after the prefix") from exc
        return value


class RedeliverBody(_Body):
    from_position: int = Field(ge=0, description="global position on uzdik.results")


class RequeueBody(_Body):
    reason: str = Field("redelivery on request", min_length=1, max_length=500)


class CeremonyBody(_Body):
    commission_id: str = Field(min_length=1, max_length=64)
    at: datetime
    place_kk: str = Field(min_length=1, max_length=500)
    place_ru: str = Field(min_length=1, max_length=500)
    diploma: bool = True
    gift: str = Field("", max_length=500)


def _cause(ctx: ServiceContext, request: Request, actor: Actor) -> Cause:
    return Cause(actor, correlation_id(request), ctx.now())


def _self_or(who: Principal, recipient: str, *roles: str) -> Actor:
    if recipient == f"user:{who.sub}":
        return Actor(id=who.sub, role=(who.roles or ["user"])[0], region=who.region)
    if not set(roles) & set(who.roles):
        raise Forbidden(
            "role_not_allowed",
            f"this needs one of the roles {', '.join(roles)}, or to be {recipient}",
        )
    return Actor(id=who.sub, role=next(r for r in roles if r in who.roles), region=who.region)


def _integrator(who: Principal, integrator: str) -> Actor:
    """The organiser, or the integrator the subscription is for."""
    actor = who.act_as("organiser", "integrator")
    if actor.role == "integrator" and integrator != who.sub:
        raise Forbidden(
            "subscription_not_yours",
            f"an integrator acts on its own subscriptions; this one is for {integrator!r}",
        )
    return actor


async def _subscription(store: Any, subscription_id: str) -> dict[str, Any]:
    async with store.reader() as uow:
        found = await uow.docs.get(handlers.SUBSCRIPTIONS, subscription_id)
    if found is None:
        raise NotFound("subscription_unknown", f"no webhook subscription {subscription_id}")
    return dict(found)


def router(ctx: ServiceContext) -> APIRouter:
    r = APIRouter(prefix="/v1", tags=["notifications"])
    _contacts(r, ctx)
    _outbox(r, ctx)
    _webhooks(r, ctx)
    _people(r, ctx)
    return r


def _contacts(r: APIRouter, ctx: ServiceContext) -> None:
    """A recipient's contact: recorded by the person or the organiser, erased on request."""
    store = ctx.store

    async def run(request: Request, scope: str, fn: Any, status: int = 201) -> JSONResponse:
        return await command(request, store, f"notifications.{scope}", fn, status)

    @r.post("/contacts", status_code=201)
    async def record_contact(
        body: ContactBody, request: Request, who: Principal = Depends(principal)
    ) -> JSONResponse:
        actor = _self_or(who, body.recipient, "organiser", "secretary")

        async def fn(uow: UnitOfWork) -> dict[str, Any]:
            contact = RecordContact(body.recipient, body.email, body.language)
            await handlers.record_contact(uow, contact, _cause(ctx, request, actor))
            return {
                "recipient": body.recipient,
                "event_ids": [str(e.event_id) for e in uow.appended],
            }

        return await run(request, "contact", fn)

    @r.post("/contacts/{recipient}/erasure", status_code=200)
    async def erase_contact(
        recipient: str, body: ErasureBody, request: Request, who: Principal = Depends(principal)
    ) -> JSONResponse:
        actor = _self_or(who, recipient, "organiser")

        async def fn(uow: UnitOfWork) -> dict[str, Any]:
            erasure = EraseContact(recipient, body.reason)
            await handlers.erase_contact(uow, erasure, _cause(ctx, request, actor))
            return {"recipient": recipient, "erased": True}

        return await run(request, "erasure", fn, 200)


def _outbox(r: APIRouter, ctx: ServiceContext) -> None:
    """The messages and their outcomes, and a failed one queued again."""
    store = ctx.store

    async def run(request: Request, scope: str, fn: Any, status: int = 201) -> JSONResponse:
        return await command(request, store, f"notifications.{scope}", fn, status)

    @r.get("/notifications")
    async def list_notifications(
        who: Principal = Depends(principal),
        recipient: str | None = None,
        channel: Literal["email", "webhook"] | None = None,
        status: Literal["queued", "retrying", "sent", "dead"] | None = None,
        limit: int = Query(100, ge=1, le=1000),
    ) -> dict[str, Any]:
        who.act_as("organiser", "auditor")
        async with store.reader() as uow:
            docs = await uow.docs.list(handlers.NOTIFICATIONS)
        items = [
            d
            for _, d in docs
            if (recipient is None or d["recipient"] == recipient)
            and (channel is None or d["channel"] == channel)
            and (status is None or d["status"] == status)
        ]
        return {"items": items[:limit]}

    @r.post("/notifications/{notification_id}/redelivery", status_code=202)
    async def requeue(
        notification_id: str,
        body: RequeueBody,
        request: Request,
        who: Principal = Depends(principal),
    ) -> JSONResponse:
        actor = who.act_as("organiser")

        async def fn(uow: UnitOfWork) -> dict[str, Any]:
            done = await handlers.requeue(
                uow, Requeue(notification_id, body.reason), _cause(ctx, request, actor)
            )
            return {"notification_id": notification_id, "requeued": done}

        return await run(request, "requeue", fn, 202)


def _webhooks(r: APIRouter, ctx: ServiceContext) -> None:
    """Integrators' webhook subscriptions and their deliveries."""
    store = ctx.store

    async def run(request: Request, scope: str, fn: Any, status: int = 201) -> JSONResponse:
        return await command(request, store, f"notifications.{scope}", fn, status)

    @r.post("/webhooks/subscriptions", status_code=201)
    async def subscribe(
        body: SubscriptionBody, request: Request, who: Principal = Depends(principal)
    ) -> JSONResponse:
        actor = _integrator(who, body.integrator)
        secret = body.secret or "whsec_" + b64encode(token_secrets.token_bytes(32)).decode()
        sid = str(uuid4())

        async def fn(uow: UnitOfWork) -> dict[str, Any]:
            subscription = Subscribe(
                sid, body.integrator, body.url, tuple(body.event_types), secret
            )
            await handlers.subscribe(uow, subscription, _cause(ctx, request, actor))
            return {"subscription_id": sid, "secret": secret}

        return await run(request, "subscribe", fn)

    @r.get("/webhooks/subscriptions")
    async def subscriptions(who: Principal = Depends(principal)) -> dict[str, Any]:
        actor = who.act_as("organiser", "auditor", "integrator")
        async with store.reader() as uow:
            docs = await uow.docs.list(handlers.SUBSCRIPTIONS)
        mine = actor.role != "integrator"
        return {"items": [d for _, d in docs if mine or d.get("integrator") == who.sub]}

    @r.post("/webhooks/subscriptions/{subscription_id}/cancellation", status_code=200)
    async def unsubscribe(
        subscription_id: str, request: Request, who: Principal = Depends(principal)
    ) -> JSONResponse:
        actor = _integrator(who, str((await _subscription(store, subscription_id))["integrator"]))

        async def fn(uow: UnitOfWork) -> dict[str, Any]:
            await handlers.unsubscribe(
                uow, Unsubscribe(subscription_id), _cause(ctx, request, actor)
            )
            return {"subscription_id": subscription_id, "active": False}

        return await run(request, "unsubscribe", fn, 200)

    @r.post("/webhooks/subscriptions/{subscription_id}/redelivery", status_code=202)
    async def redeliver(
        subscription_id: str,
        body: RedeliverBody,
        request: Request,
        who: Principal = Depends(principal),
    ) -> JSONResponse:
        actor = _integrator(who, str((await _subscription(store, subscription_id))["integrator"]))

        async def fn(uow: UnitOfWork) -> dict[str, Any]:
            ids = await handlers.redeliver_from(
                uow,
                Redeliver(subscription_id, body.from_position),
                _cause(ctx, request, actor),
                rules=service_of(ctx).rules,
            )
            return {"subscription_id": subscription_id, "requeued": ids}

        return await run(request, "redeliver", fn, 202)

    @r.get("/webhooks/deliveries")
    async def deliveries(
        who: Principal = Depends(principal),
        subscription_id: str | None = None,
        status: Literal["queued", "retrying", "sent", "dead"] | None = None,
    ) -> dict[str, Any]:
        actor = who.act_as("organiser", "auditor", "integrator")
        async with store.reader() as uow:
            docs = await uow.docs.list(handlers.NOTIFICATIONS)
            subs = dict(await uow.docs.list(handlers.SUBSCRIPTIONS))
        if actor.role == "integrator":
            own = {k for k, d in subs.items() if d.get("integrator") == who.sub}
            if subscription_id is not None and subscription_id not in own:
                raise Forbidden(
                    "subscription_not_yours", "an integrator lists its own deliveries only"
                )
            docs = [(k, d) for k, d in docs if d.get("subscription_id") in own]
        items = sorted(
            (
                d
                for _, d in docs
                if d["channel"] == "webhook"
                and (subscription_id is None or d.get("subscription_id") == subscription_id)
                and (status is None or d["status"] == status)
            ),
            key=lambda d: (int(d.get("position") or 0), d["notification_id"]),
        )
        return {"items": items}


def _people(r: APIRouter, ctx: ServiceContext) -> None:
    """Who may be told something, and the award ceremony the winners are told of."""
    store = ctx.store

    async def run(request: Request, scope: str, fn: Any, status: int = 201) -> JSONResponse:
        return await command(request, store, f"notifications.{scope}", fn, status)

    @r.get("/recipients")
    async def recipients(
        who: Principal = Depends(principal), missing: bool = False
    ) -> dict[str, Any]:
        """Whom the service may tell something, and whether a contact is recorded for them
        (``missing=true``: only those without one). No address is ever listed."""
        who.act_as("organiser", "auditor")
        async with store.reader() as uow:
            recipients = await known.known_recipients(uow)
            reachable = {k for k, _ in await uow.docs.list(contacts.CONTACTS)}
            languages = dict(await uow.docs.list(contacts.PREFERENCES))
        items = [
            {
                **k,
                "contact": k["recipient"] in reachable,
                "language": languages.get(k["recipient"], {}).get("language"),
            }
            for k in recipients
        ]
        return {"items": [i for i in items if not (missing and i["contact"])]}

    @r.post("/ceremonies", status_code=201)
    async def ceremony(
        body: CeremonyBody, request: Request, who: Principal = Depends(principal)
    ) -> JSONResponse:
        actor = who.act_as("organiser")
        rules = service_of(ctx).rules

        async def fn(uow: UnitOfWork) -> dict[str, Any]:
            event = AwardCeremonyRecorded(**body.model_dump())
            [envelope] = await handlers.record_ceremony(uow, event, _cause(ctx, request, actor))
            winners = await uow.docs.get(known.WINNERS, body.commission_id) or {}
            gift = {
                "kk": f" және {body.gift}" if body.gift else "",
                "ru": f" и {body.gift}" if body.gift else "",
            }
            params = {
                "at": body.at.isoformat(),
                "place": {"kk": body.place_kk, "ru": body.place_ru},
                "gift": gift,
            }
            for cid in sorted(winners.get("places", {})):
                await consumers.notify_both_of(uow, rules, envelope, cid, "award_ceremony", params)
            return {"event_ids": [str(e.event_id) for e in uow.appended]}

        return await run(request, "ceremony", fn)
