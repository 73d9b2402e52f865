"""The document the chair and the secretary signed, rebuilt from the log reporting folded.

Scoring signs the sha256 of a sitting's canonical protocol: the format, the commission (its
id, edition, level and region), the ``SittingOpened`` payload and every event that names the
sitting, in log order, each as written (the oldest version that says all it says:
``EventRegistry.as_written``), as JSON with sorted keys and no spaces. Reporting keeps the same
facts per sitting (``projections.protocols``) and rebuilds the document with scoring's registry
(handed to it by the composition root, as for upcasting): a protocol is published only when
the rebuilt document's digest is the one signed, so what is shown and printed is what was
signed.
"""

from __future__ import annotations

import hashlib
from typing import Any

from shared.errors import Conflict
from shared.events import EventRegistry
from shared.store.canonical import canonical_json

FORMAT = "uzdik/protocol/v1"
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
    return {
        "format": FORMAT,
        "commission": {k: commission.get(k) for k in COMMISSION_KEYS},
        "sitting": sitting,
        "records": records,
    }


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
