"""The document the chair and the secretary signed, rebuilt from the log reporting folded.

Scoring signs the sha256 of a sitting's canonical protocol: the format, the commission (its
id, edition, level and region), the ``SittingOpened`` payload and every event that names the
sitting, in log order, each as written (the oldest version that says all it says:
``EventRegistry.as_written``), and — format ``uzdik/protocol/v2`` — its ``names``: the number,
the region's and districts' names, the commission's people and the candidates it names, by
name, as the ``ProtocolSigned`` keeps it; as JSON with sorted keys and no spaces. Reporting
keeps the same facts per sitting (``projections.protocols``) and rebuilds the document with
scoring's registry (handed to it by the composition root, as for upcasting): a protocol is
published only when the rebuilt document's digest is the one signed, and a v2 one is rendered
from that document alone — every number and name printed is one the chair and the secretary
signed. A v1 protocol (signed before names were) is rendered with the register's names, and
its PDF says so in ``rendering.json``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

from services.reporting.documents.protocol import Rendered, render
from services.reporting.projections import load_all, targets
from shared.errors import Conflict
from shared.events import EventRegistry
from shared.store.canonical import canonical_json

FORMAT = "uzdik/protocol/v2"
FORMAT_V1 = "uzdik/protocol/v1"
COMMISSION_KEYS = ("commission_id", "edition_id", "level", "region")
Doc = dict[str, Any]


def document(protocol: Doc, commission: Doc, registry: EventRegistry) -> Doc:
    """The canonical protocol of a sitting, from reporting's read models."""
    opened = protocol["opened_event"]
    _, sitting = registry.as_written("SittingOpened", opened["schema_version"], opened["payload"])
    records = []
    for r in protocol.get("records", []):
        version, payload = registry.as_written(r["event_type"], r["schema_version"], r["payload"])
        records.append(
            {"event_type": r["event_type"], "schema_version": version, "payload": payload}
        )
    names = (protocol.get("signatures") or {}).get("names")
    doc = {
        "format": FORMAT_V1 if names is None else FORMAT,
        "commission": {k: commission.get(k) for k in COMMISSION_KEYS},
        "sitting": sitting,
        "records": records,
    }
    if names is not None:
        doc["names"] = names
    return doc


def canonical(doc: Doc) -> bytes:
    return canonical_json(doc).encode("utf-8")


def digest(doc: Doc) -> str:
    return hashlib.sha256(canonical(doc)).hexdigest()


def verified(protocol: Doc, commission: Doc | None, registry: EventRegistry | None) -> Doc | None:
    """The signed document of a signed protocol, checked against the signed digest (None: not
    signed yet). A document that does not give the signed digest is not published (409
    ``protocol_unverified``)."""
    signed = protocol.get("signatures")
    if not signed:
        return None
    if registry is None or commission is None or "opened_event" not in protocol:
        raise Conflict(
            "protocol_unverified",
            f"the protocol of sitting {protocol.get('sitting_id')} cannot be checked against "
            "its signed digest here (its commission or scoring's event registry is missing)",
        )
    doc = document(protocol, commission, registry)
    found = digest(doc)
    if found != signed["digest"]:
        raise Conflict(
            "protocol_unverified",
            f"the records of sitting {protocol.get('sitting_id')} give the digest {found}, "
            f"not the {signed['digest']} the chair and the secretary signed: the protocol is "
            "not published",
            digest=found,
            signed=signed["digest"],
        )
    return doc


def folded(document: Doc, signatures: Doc, registry: EventRegistry) -> Doc:
    """The protocol read model of a signed document: its sitting and records folded by the
    very projection that builds reporting's protocols, in the document's order (a record's
    place stands for its time), with the signatures. What is shown, printed and published of
    a signed protocol is rendered from this — from the document itself."""
    load_all()
    sitting_id = document["sitting"]["sitting_id"]
    events = [{"event_type": "SittingOpened", **_versioned(document["sitting"], 1)}]
    events += [
        {"event_type": r["event_type"], **_versioned(r["payload"], r["schema_version"])}
        for r in document["records"]
    ]
    doc: Doc | None = None
    for place, event in enumerate(events):
        version, payload = registry.newest(
            event["event_type"], event["schema_version"], event["payload"]
        )
        seen = {
            **event,
            "service": "scoring",
            "schema_version": version,
            "payload": payload,
            "metadata": {"actor": None, "occurred_at": f"record {place:06d}"},
        }
        for target in targets(seen):
            if target.model == "protocols" and target.key == sitting_id:
                doc = target.fold(doc, seen)
    assert doc is not None, "a signed document opens its sitting"
    return {**doc, "signatures": signatures}


def _versioned(payload: Doc, version: int) -> Doc:
    return {"schema_version": version, "payload": payload}


RENDER_KEYS = ("level", "region", "chair_id", "secretary", "members", "sittings")
UNSIGNED = (
    "a uzdik/protocol/v1 document: the facts were signed, the number and the names shown "
    "beside them are the register's, not signed"
)


def rendering_inputs(
    document: Doc,
    commission: Doc,
    candidates: dict[str, Doc],
    lang: str,
    number: int | None,
    named: dict[str, Doc] | None = None,
) -> Doc:
    """What a signed protocol is rendered with besides the document: a v2 document, only the
    language (its number and names are signed in it); a v1 one, also its number and the
    register's names of the commission's people and of the candidates it names (not signed:
    shown beside the ids the document holds; ``named``: already picked)."""
    if document.get("names") is not None:
        return {"lang": lang}
    return {
        "lang": lang,
        "number": number,
        "commission": {k: commission.get(k) for k in RENDER_KEYS},
        "candidates": named_candidates(document, candidates) if named is None else named,
        "unsigned": UNSIGNED,
    }


def named_candidates(document: Doc, candidates: dict[str, Doc]) -> dict[str, Doc]:
    """The register's names of the candidates the document names: those whose id is one of
    its strings (searching the document's text for each of thousands of ids took a third of
    a large protocol's rendering)."""
    strings = set(_strings(document))
    named = {cid: {"name": c.get("name")} for cid, c in candidates.items() if cid in strings}
    return dict(sorted(named.items()))


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def render_signed(
    document: Doc, signatures: Doc, rendering: Doc, registry: EventRegistry
) -> Rendered:
    """A signed protocol's HTML and printable page, from the document and the rendering inputs
    only."""
    return render_folded(folded(document, signatures, registry), document, rendering)


def render_folded(shown: Doc, document: Doc, rendering: Doc) -> Rendered:
    """:func:`render_signed` from the document already folded (the fold does not depend on
    the language: one for both)."""
    names = document.get("names")
    if names is None:  # v1: the names and the number are the register's (rendering.json)
        commission = {**rendering["commission"], **document["commission"]}
        candidates, number = rendering["candidates"], rendering["number"]
    else:
        people = {k: names[k] for k in ("chair_id", "members", "secretary", "places")}
        commission = {**document["commission"], **people}
        candidates, number = names["candidates"], names["number"]
    return render(shown, commission, candidates, rendering["lang"], number, verified=True)


def people(document: Doc, rendering: Doc) -> Doc:
    """The commission's people a signed protocol names: its register's (v2), or those its
    rendering was given (v1)."""
    return document.get("names") or rendering.get("commission") or {}


def attachments(document: Doc, signatures: Doc, rendering: Doc) -> dict[str, bytes]:
    """The files a signed protocol's PDF carries."""
    return {
        "protocol.json": canonical(document),
        "signatures.json": canonical_json(signatures).encode("utf-8"),
        "rendering.json": canonical_json(rendering).encode("utf-8"),
    }
