"""Scoring service layer: load the commission, decide, append — one function per command.

Every handler runs inside the caller's transaction (:func:`shared.http.command` or a consumer's
batch) and first takes the service's append lock, so what it reads (the commission's stream, the
lookups) cannot move before it appends: a decision is never taken on a stale state.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from services.scoring import intake
from services.scoring.adapters import lookups
from services.scoring.adapters.lookups import CommissionRef
from services.scoring.adapters.repository import Loaded, Repository
from services.scoring.domain import Scoring, decide, protocol, replay
from services.scoring.domain import commands as cmd
from services.scoring.domain.deadlines import ensure_in_time
from services.scoring.events import Signature
from shared.errors import Conflict, DomainError, ErrorItem, Forbidden
from shared.events import Envelope, Event
from shared.handlers import Cause
from shared.store.eventstore import UnitOfWork

__all__ = ["Cause", "Outcome", "act", "act_many", "form_commission", "open_sitting", "sign"]


@dataclass(frozen=True)
class Outcome:
    """The commission after a command, and the events the command appended."""

    loaded: Loaded
    envelopes: list[Envelope]
    events: list[Event] = field(default_factory=list)

    @property
    def state(self) -> Scoring:
        return self.loaded.state

    @property
    def event_ids(self) -> list[str]:
        return [str(e.event_id) for e in self.envelopes]

    def of_type(self, event_type: type[Event]) -> list[Event]:
        return [e for e in self.events if isinstance(e, event_type)]


async def act(
    uow: UnitOfWork, command: cmd.Command, cause: Cause, *, repo: Repository, commission_id: str
) -> Outcome:
    """The one command every route shares: decide it on the commission, append the events."""
    return await act_many(
        uow, (command,), cause, repo=repo, commission_id=commission_id, items=None
    )


async def act_many(
    uow: UnitOfWork,
    commands: Sequence[cmd.Command],
    cause: Cause,
    *,
    repo: Repository,
    commission_id: str,
    items: str | None = "items",
) -> Outcome:
    """Several commands as one decision (a member's sheets): all are appended, or none. A
    refusal names the command by its place in the body's list ``items``."""
    await uow.lock()
    loaded = await repo.load(uow, commission_id)
    state, decided = loaded.state, []
    for index, command in enumerate(commands):
        try:
            events = decide(state, command)
        except DomainError as error:
            if error.code == "candidate_unknown":
                error = await _elsewhere(uow, command, commission_id) or error
            raise (at_index(error, index, items) if items else error) from None
        state = replay(events, state)
        decided += events
    deadlines = await repo.deadlines(uow, loaded.ref.edition_id)
    ensure_in_time(loaded.state, decided, deadlines, cause.at)
    after, envelopes = await repo.append(uow, loaded, decided, cause)
    return Outcome(after, envelopes, decided)


async def _elsewhere(
    uow: UnitOfWork, command: cmd.Command, commission_id: str
) -> DomainError | None:
    """A candidate unknown here but registered with another commission is out of scope (403)."""
    candidate_id = getattr(command, "candidate_id", None)
    if not isinstance(candidate_id, str):
        return None
    found = await lookups.candidate(uow.docs, candidate_id)
    if found is None or found["commission_id"] == commission_id:
        return None
    detail = f"{candidate_id} is a candidate of region {found['region']}, not of this commission"
    return Forbidden("candidate_out_of_scope", detail)


def at_index(error: DomainError, index: int, items: str = "items") -> DomainError:
    """The refusal of item ``index`` of a batch, its fields prefixed with the item's place."""
    found = error.errors or [ErrorItem(error.code, error.detail)]
    place = f"{items}.{index}"
    prefixed = [
        ErrorItem(i.code, i.detail, f"{place}.{i.field}" if i.field else place) for i in found
    ]
    return DomainError(
        code=error.code,
        detail=f"item {index}: {error.detail}",
        status=error.status,
        errors=prefixed,
        extra={**error.extra, "index": index},
    )


async def form_commission(
    uow: UnitOfWork, command: cmd.FormCommission, cause: Cause, *, repo: Repository
) -> Outcome:
    """§3/§4: form a commission; candidates already admitted in its region register with it."""
    await uow.lock()
    ref = CommissionRef(command.commission_id, command.edition_id, command.level, command.region)
    loaded = await repo.new(uow, ref)
    seated = await lookups.seated(uow.docs, command.edition_id, command.region)
    if seated is not None:
        where = f"region {command.region}" if command.region else "the republic"
        detail = f"commission {seated} already sits for {where} in this edition"
        raise Conflict("commission_exists_for_region", detail, commission_id=seated)
    events = decide(loaded.state, command)
    loaded, envelopes = await repo.append(uow, loaded, events, cause)
    await lookups.put_commission(uow.docs, ref)
    loaded, waiting = await intake.register_waiting(uow, repo, loaded, cause)
    return Outcome(loaded, [*envelopes, *waiting], events)


async def open_sitting(
    uow: UnitOfWork,
    command: cmd.OpenSitting,
    cause: Cause,
    *,
    repo: Repository,
    commission_id: str,
) -> Outcome:
    await uow.lock()
    if await lookups.sitting_commission(uow.docs, command.sitting_id) is not None:
        raise Conflict("sitting_already_opened", f"sitting {command.sitting_id} exists")
    outcome = await act(uow, command, cause, repo=repo, commission_id=commission_id)
    await lookups.put_sitting(uow.docs, command.sitting_id, commission_id)
    return outcome


@dataclass(frozen=True)
class Signing:
    """A signature accepted; ``outcome`` holds ProtocolSigned once both signers signed."""

    digest: str
    waiting_for: tuple[str, ...]
    outcome: Outcome | None


async def sign(
    uow: UnitOfWork, command: cmd.GiveSignature, cause: Cause, *, repo: Repository
) -> Signing:
    """Keep one signer's verified signature; with both over the same digest, seal the protocol."""
    sitting_id, signature, seen = command.sitting_id, command.signature, command.seen
    await uow.lock()
    ref = await repo.sitting_ref(uow, sitting_id)
    loaded = await repo.load(uow, ref.commission_id)
    digest = protocol.accept_signature(loaded.state, sitting_id, signature, seen)
    await _pin_key(uow, signature)
    await uow.docs.put(
        lookups.SIGNATURE,
        f"{sitting_id}/{signature.role}",
        {"digest": digest, "signature": signature.model_dump(mode="json")},
    )
    signed = await _signatures(uow, sitting_id, digest)
    waiting = tuple(r for r in ("chair", "secretary") if r not in {s.role for s in signed})
    if waiting:
        return Signing(digest, waiting, None)
    seal = cmd.SignProtocol(sitting_id=sitting_id, signatures=signed, at=cause.at)
    outcome = await act(uow, seal, cause, repo=repo, commission_id=ref.commission_id)
    for role in ("chair", "secretary"):
        await uow.docs.delete(lookups.SIGNATURE, f"{sitting_id}/{role}")
    return Signing(digest, (), outcome)


async def _signatures(uow: UnitOfWork, sitting_id: str, digest: str) -> tuple[Signature, ...]:
    """The pending signatures over ``digest`` (one over an older digest no longer counts)."""
    found = []
    for role in ("chair", "secretary"):
        doc = await uow.docs.get(lookups.SIGNATURE, f"{sitting_id}/{role}")
        if doc is not None and doc["digest"] == digest:
            found.append(Signature.model_validate(doc["signature"]))
    return tuple(found)


async def _pin_key(uow: UnitOfWork, signature: Signature) -> None:
    """A person signs with one key: the first one used is theirs (409 ``signing_key_mismatch``)."""
    known = await uow.docs.get(lookups.KEY, signature.person_id)
    if known is None:
        await uow.docs.put(lookups.KEY, signature.person_id, {"public_key": signature.public_key})
    elif known["public_key"] != signature.public_key:
        detail = f"{signature.person_id} signs with another key: {known['public_key']}"
        raise Conflict("signing_key_mismatch", detail)
