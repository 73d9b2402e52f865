"""A protocol as published — its HTML and the files its PDF carries — made from what it is
rendered from, and remembered by a fingerprint of that.

A protocol is asked for as HTML and as PDF, in Kazakh and in Russian: four requests, one
protocol. What does not depend on the language (the read models parsed, the signed document
rebuilt and checked against the signed digest, folded, the candidates it names) is done once
for the four; the HTML and the printable page once per language (the PDF is laid out from
the very words its language's page showed). The fingerprint is a hash of every stored text the
protocol is made from, so a changed read model or a renamed candidate is never served from
memory."""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from services.reporting.documents import protocol as protocols
from services.reporting.documents import signed
from shared.events import EventRegistry

Doc = dict[str, Any]
K = TypeVar("K")
V = TypeVar("V")


@dataclass(frozen=True)
class Sources:
    """The stored texts a protocol is made from: its read model, its commission's, and the
    candidates' register (id, JSON text)."""

    sitting_id: str
    protocol: str
    commission: str | None
    candidates: tuple[tuple[str, str], ...]

    def fingerprint(self) -> str:
        digest = hashlib.sha256()
        for part in (self.sitting_id, self.protocol, self.commission or ""):
            digest.update(part.encode("utf-8") + b"\x1e")
        for key, text in self.candidates:
            digest.update(key.encode("utf-8") + b"\x1f" + text.encode("utf-8") + b"\x1e")
        return digest.hexdigest()


@dataclass(frozen=True)
class Prepared:
    """The language-independent part: the read models parsed and, for a signed protocol, the
    signed document checked, folded, and the candidates it names."""

    protocol: Doc
    commission: Doc | None
    candidates: dict[str, Doc]
    number: int | None
    document: Doc | None = None
    shown: Doc | None = None
    named: dict[str, Doc] | None = None


def prepare(sources: Sources, registry: EventRegistry | None) -> Prepared:
    """Parse and check (409 ``protocol_unverified`` when the records do not give the signed
    digest); a signed protocol is folded from its signed document."""
    protocol = json.loads(sources.protocol)
    commission = json.loads(sources.commission) if sources.commission else None
    candidates = {key: json.loads(text) for key, text in sources.candidates}
    number = protocols.number_of(sources.sitting_id, commission)
    document = signed.verified(protocol, commission, registry)
    if document is None or registry is None or commission is None:
        return Prepared(protocol, commission, candidates, number)
    shown = signed.folded(document, protocol["signatures"], registry)
    # a v2 document names its candidates itself; a v1 one is shown with the register's names
    names = document.get("names") is not None
    named = None if names else signed.named_candidates(document, candidates)
    return Prepared(protocol, commission, candidates, number, document, shown, named)


def publish(prepared: Prepared, lang: str) -> protocols.Published:
    """The protocol in ``lang``: a signed one rendered from its signed document (and its PDF's
    attachments), one not signed yet from the read model, as a draft."""
    p = prepared
    if p.document is None or p.shown is None or p.commission is None:
        draft = protocols.render(p.protocol, p.commission, p.candidates, lang, p.number)
        return protocols.Published(draft.html, draft.page, {})
    rendering = signed.rendering_inputs(
        p.document, p.commission, p.candidates, lang, p.number, named=p.named
    )
    signatures = p.protocol["signatures"]
    made = signed.render_folded(p.shown, p.document, rendering)
    return protocols.Published(
        made.html,
        made.page,
        signed.attachments(p.document, signatures, rendering),
        signatures["signed_at"],
    )


class Recent(Generic[K, V]):
    """The last ``size`` values by key (least recently used out first)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        if key in self._items:
            self._items.move_to_end(key)
        return self._items.get(key)

    def put(self, key: K, value: V) -> V:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)
        return value


class Publisher:
    """:func:`prepare` and :func:`publish`, remembered for the last few protocols."""

    def __init__(self, size: int = 8) -> None:
        self._prepared: Recent[str, Prepared] = Recent(size)
        self._published: Recent[tuple[str, str], protocols.Published] = Recent(2 * size)

    def published(
        self, sources: Sources, lang: str, registry: EventRegistry | None
    ) -> protocols.Published:
        fingerprint = sources.fingerprint()
        found = self._published.get((fingerprint, lang))
        if found is not None:
            return found
        prepared = self._prepared.get(fingerprint)
        if prepared is None:
            prepared = self._prepared.put(fingerprint, prepare(sources, registry))
        return self._published.put((fingerprint, lang), publish(prepared, lang))
