"""What a protocol's text names beside the facts of its sitting: its register (§3, §4).

A ``uzdik/protocol/v2`` document carries, under ``names``, the protocol's number (its
sitting's place among its commission's sittings opened in the same year, Almaty time), the
commission's region and every district its rankings are scoped to, by KATO code with their
Kazakh and Russian names, the commission's chair, members and secretary as recorded (name,
gender, position), and every candidate the records name, by name. The chair and the secretary
sign it with the facts: a name in the printed protocol is a name they signed. The register is
read from the state when the protocol is signed and kept in the ``ProtocolSigned`` afterwards.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any
from zoneinfo import ZoneInfo

from services.scoring.domain.commission import require_commission
from services.scoring.domain.state import Scoring
from services.scoring.events import Person
from shared.territory import load_territory

ALMATY = ZoneInfo("Asia/Almaty")
KATO = re.compile(r"^[0-9]{9}$")


def register(state: Scoring, sitting_id: str, records: list[dict[str, Any]]) -> dict[str, Any]:
    """The register of a sitting's protocol now (see the module's docstring)."""
    commission = require_commission(state)
    scopes = [str(r["payload"]["scope"]) for r in records if r["payload"].get("scope")]
    places = [commission.region, *scopes] if commission.region else scopes
    return {
        "number": number(state, sitting_id),
        "region": commission.region,
        "places": {kato: _place(kato) for kato in sorted(set(places)) if KATO.match(kato)},
        "chair_id": commission.chair_id,
        "members": [_person(m) for m in commission.members],
        "secretary": _person(commission.secretary),
        "candidates": _candidates(state, records),
    }


def number(state: Scoring, sitting_id: str) -> int:
    """The sitting's place among its commission's sittings opened in the same year."""
    opened = {sid: s.opened.opened_at.astimezone(ALMATY).year for sid, s in state.sittings.items()}
    same = [sid for sid, year in opened.items() if year == opened[sitting_id]]
    return same.index(sitting_id) + 1


def _place(kato: str) -> dict[str, str]:
    unit = load_territory().find(kato)
    if unit is None:
        return {"kk": kato, "ru": kato}
    return {"kk": unit.name_kk, "ru": unit.name_ru}


def _person(person: Person) -> dict[str, Any]:
    return {
        "person_id": person.person_id,
        "name": person.name,
        "gender": person.gender,
        "position": person.position,
    }


def _candidates(state: Scoring, records: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
    """The candidates whose id is one of the records' strings, by their registered name."""
    known: Mapping[str, str] = {
        **state.finalist_names,
        **{cid: c.registration.name for cid, c in state.candidates.items()},
    }
    named = {s for s in _strings(records) if s in known}
    return {cid: {"name": known[cid]} for cid in sorted(named)}


CRITERIA = frozenset({"scores", "derived"})
"""A sheet's criteria and points: they name no one (skipped: most of a protocol's strings)."""


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield k
            if k not in CRITERIA:
                yield from _strings(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _strings(v)
