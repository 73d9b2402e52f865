"""The commission streams: load a commission's :class:`Scoring`, append what it decided.

One stream per commission (``commission-<id>``) holds its whole record (see
:mod:`services.scoring.domain.state`). A regional commission's stream grows to thousands of
sheets, so folding it from the start on every command would be quadratic: the repository keeps
the last folded state per stream in memory and, on each load, reads only the events after it.
The cache is checked against the database every time — the event at the cached version must
still carry the cached hash (hashes are unique: they chain event ids) — so a rolled-back append,
another process's append or a fresh database are all noticed, and the state is refolded.

The Republican commission's state also folds the ``FinalistSelected`` of every regional stream of
its edition (§18: the regions' decisions reach the Agency), merged on each load.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

import sqlalchemy as sa

from services.scoring.adapters import lookups
from services.scoring.adapters.lookups import CommissionRef
from services.scoring.domain import Scoring, ScoringRules, evolve, initial
from services.scoring.events import (
    CandidateRegistered,
    FinalistAdmitted,
    FinalistSelected,
    registry,
)
from shared.errors import Conflict, NotFound
from shared.events import Envelope, Event
from shared.handlers import Cause, append
from shared.store import schema
from shared.store.eventstore import UnitOfWork
from shared.store.rows import row_to_envelope


def stream_of(commission_id: str) -> str:
    return f"commission-{commission_id}"


@dataclass(frozen=True)
class Loaded:
    """A commission's state at ``version`` of its stream (``head``: that event's hash)."""

    ref: CommissionRef
    state: Scoring
    version: int = 0
    head: str | None = None
    merged: int = 0  # Republican: the last regional FinalistSelected position folded in


class Repository:
    """Per service process; shared by the HTTP routes, the consumers and the queries."""

    def __init__(self) -> None:
        self._states: dict[str, Loaded] = {}
        self._rules: dict[str, ScoringRules] = {}
        self._refs: dict[str, CommissionRef] = {}
        self._sittings: dict[str, str] = {}

    # --- lookups ---------------------------------------------------------------------------

    async def rules(self, uow: UnitOfWork, edition_id: str) -> ScoringRules:
        """The edition's rules (its ``rules.scoring`` overrides); 2020's until it is known."""
        known = self._rules.get(edition_id)
        if known is not None:
            return known
        doc = await uow.docs.get(lookups.EDITION, edition_id)
        if doc is None:
            return ScoringRules()
        rules = ScoringRules.model_validate(doc.get("overrides") or {})
        self._rules[edition_id] = rules
        return rules

    @staticmethod
    async def deadlines(uow: UnitOfWork, edition_id: str) -> dict[str, datetime]:
        """The edition's deadlines that bind scoring, as extended (none until it is known)."""
        doc = await uow.docs.get(lookups.EDITION, edition_id)
        found = (doc or {}).get("deadlines") or {}
        return {step: datetime.fromisoformat(moment) for step, moment in found.items()}

    async def ref(self, uow: UnitOfWork, commission_id: str) -> CommissionRef:
        """The commission, or 404 ``commission_not_found``."""
        known = self._refs.get(commission_id)
        if known is None:
            known = await lookups.commission(uow.docs, commission_id)
            if known is None:
                raise NotFound("commission_not_found", f"no commission {commission_id}")
            self._refs[commission_id] = known
        return known

    async def sitting_ref(self, uow: UnitOfWork, sitting_id: str) -> CommissionRef:
        """The commission holding a sitting, or 404 ``sitting_unknown``."""
        commission_id = self._sittings.get(sitting_id)
        if commission_id is None:
            commission_id = await lookups.sitting_commission(uow.docs, sitting_id)
            if commission_id is None:
                raise NotFound("sitting_unknown", f"no sitting {sitting_id}")
            self._sittings[sitting_id] = commission_id
        return await self.ref(uow, commission_id)

    # --- streams ---------------------------------------------------------------------------

    async def new(self, uow: UnitOfWork, ref: CommissionRef) -> Loaded:
        """The empty state a commission is formed from (409 when its stream exists)."""
        if await uow.stream_version(stream_of(ref.commission_id)):
            raise Conflict("commission_already_formed", f"{ref.commission_id} is already formed")
        return Loaded(ref, initial(await self.rules(uow, ref.edition_id)))

    async def load(self, uow: UnitOfWork, commission_id: str) -> Loaded:
        """The commission's state now (404 ``commission_not_found``)."""
        ref = await self.ref(uow, commission_id)
        rules = await self.rules(uow, ref.edition_id)
        loaded = self._states.get(commission_id)
        if loaded is None or loaded.state.rules != rules:
            loaded = Loaded(ref, initial(rules))
        loaded = await self._catch_up(uow, loaded)
        if ref.level == "republican":
            loaded = await self._merge_finalists(uow, loaded)
        self._states[commission_id] = loaded
        return loaded

    async def append(
        self, uow: UnitOfWork, loaded: Loaded, events: Sequence[Event], cause: Cause
    ) -> tuple[Loaded, list[Envelope]]:
        """Append at the loaded version (a race loses with 409) and fold what was stored."""
        if not events:
            return loaded, []
        envelopes = await append(
            uow, stream_of(loaded.ref.commission_id), loaded.version, events, cause
        )
        after = self._fold(loaded, envelopes)
        self._states[loaded.ref.commission_id] = after
        return after, envelopes

    def _fold(self, loaded: Loaded, envelopes: Sequence[Envelope]) -> Loaded:
        """Fold the events as stored (decoded back from their payloads, as a replay would)."""
        state = loaded.state
        for envelope in envelopes:
            state = evolve(state, registry.load(envelope))
        if not envelopes:
            return loaded
        last = envelopes[-1]
        return replace(loaded, state=state, version=last.stream_version, head=last.hash)

    async def _catch_up(self, uow: UnitOfWork, loaded: Loaded) -> Loaded:
        stream = stream_of(loaded.ref.commission_id)
        rows = await self._rows(uow, stream, loaded.version)
        if loaded.version:
            if not rows or rows[0].stream_version != loaded.version or rows[0].hash != loaded.head:
                fresh = Loaded(loaded.ref, initial(loaded.state.rules))
                return self._fold(fresh, await self._rows(uow, stream, 0))
            rows = rows[1:]
        return self._fold(loaded, rows)

    @staticmethod
    async def _rows(uow: UnitOfWork, stream: str, from_version: int) -> list[Envelope]:
        ev = schema.events
        result = await uow.conn.execute(
            sa.select(ev)
            .where(ev.c.stream_id == stream, ev.c.stream_version >= from_version)
            .order_by(ev.c.stream_version)
        )
        return [row_to_envelope(uow.store.service, r) for r in result]

    async def _merge_finalists(self, uow: UnitOfWork, loaded: Loaded) -> Loaded:
        ev = schema.events
        result = await uow.conn.execute(
            sa.select(ev)
            .where(ev.c.event_type.in_(MERGED))
            .where(ev.c.global_position > loaded.merged)
            .order_by(ev.c.global_position)
        )
        state, merged = loaded.state, loaded.merged
        for row in result:
            found = registry.load(row_to_envelope(uow.store.service, row))
            event = finalist_of(found)
            if event.edition_id == loaded.ref.edition_id:
                state = evolve(state, event)
                name = await _finalist_name(uow, found)
                if name is not None:
                    names = {**state.finalist_names, event.candidate_id: name}
                    state = replace(state, finalist_names=names)
            merged = row.global_position
        return replace(loaded, state=state, merged=merged)


async def _finalist_name(uow: UnitOfWork, event: Event) -> str | None:
    """A finalist's name, for the protocols the republic signs: as admitted from a region's
    deployment, or as registered with its regional commission in this one."""
    if isinstance(event, FinalistAdmitted):
        return event.name
    assert isinstance(event, FinalistSelected)
    ev = schema.events
    result = await uow.conn.execute(
        sa.select(ev)
        .where(ev.c.stream_id == stream_of(event.commission_id))
        .where(ev.c.event_type == CandidateRegistered.event_type)
        .order_by(ev.c.stream_version)
    )
    for row in result:
        registered = registry.load(row_to_envelope(uow.store.service, row))
        if isinstance(registered, CandidateRegistered):
            if registered.candidate_id == event.candidate_id:
                return registered.name
    return None


MERGED = (FinalistSelected.event_type, FinalistAdmitted.event_type)


def finalist_of(event: Event) -> FinalistSelected:
    """A finalist of this deployment's regions, or one a region's deployment sent and the
    republic admitted (the ``FinalistSelected`` its regional commission signed)."""
    if isinstance(event, FinalistAdmitted):
        found = registry.decode(
            FinalistSelected.event_type, event.finalist_schema_version, event.finalist
        )
        assert isinstance(found, FinalistSelected)
        return found
    assert isinstance(event, FinalistSelected)
    return event
