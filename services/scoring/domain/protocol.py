"""The protocol (протокол) of a sitting, its digest and its signatures (§3, §4).

The protocol is a pure function of the log: the commission, the SittingOpened, and every event
recorded at the sitting in log order (attendance and quorum, each member's sheets and
corrections, rankings with their tie-break steps, casting votes, decisions), and its register
(:mod:`register`: the number, the region and the people and candidates it names, by name — so
that every name printed is a name signed). Its canonical form
is JSON with sorted keys, no whitespace, UTF-8; the digest is the sha256 of those bytes. The
chair and the secretary sign the digest with Ed25519; once signed, the sitting is sealed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from services.scoring.domain.commands import SignProtocol
from services.scoring.domain.commission import require_commission
from services.scoring.domain.refusals import refuse
from services.scoring.domain.register import register
from services.scoring.domain.signatures import verify_digest
from services.scoring.domain.sitting import require_sitting
from services.scoring.domain.state import Scoring
from services.scoring.events import ProtocolSigned, Role, Signature, as_written
from shared.errors import Conflict, ErrorItem, Forbidden
from shared.events import Event

FORMAT = "uzdik/protocol/v2"
FORMAT_V1 = "uzdik/protocol/v1"
"""v1: the facts only (the commission's id, edition, level and region, the SittingOpened, the
records); v2 adds ``names`` (:mod:`register`): the number and the names it states."""


def document(state: Scoring, sitting_id: str) -> dict[str, Any]:
    """The protocol of a sitting as a JSON-ready document: a signed one as it was signed (its
    names as the ``ProtocolSigned`` keeps them; a v1 one without), one not signed yet with
    the register as it stands."""
    commission = require_commission(state)
    sitting = require_sitting(state, sitting_id)
    head = {
        "commission_id": commission.commission_id,
        "edition_id": commission.edition_id,
        "level": commission.level,
        "region": commission.region,
    }
    records = [_record(e) for e in sitting.records]
    if sitting.signed is not None:
        names = sitting.signed.names
    else:
        names = register(state, sitting_id, records)
    return assemble(head, as_written(sitting.opened)[1], records, names)


def assemble(
    commission: Mapping[str, Any],
    sitting: Mapping[str, Any],
    records: list[dict[str, Any]],
    names: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The canonical protocol from its parts: the commission's id, edition, level and region,
    the SittingOpened payload and the records, each as written, and (v2) its register; without
    a register, the v1 document."""
    keys = ("commission_id", "edition_id", "level", "region")
    doc: dict[str, Any] = {
        "format": FORMAT_V1 if names is None else FORMAT,
        "commission": {k: commission.get(k) for k in keys},
        "sitting": dict(sitting),
        "records": records,
    }
    if names is not None:
        doc["names"] = dict(names)
    return doc


def _record(event: Event) -> dict[str, Any]:
    """As written: a record v1 could express stays v1 (``events.as_written``)."""
    version, payload = as_written(event)
    return {"event_type": event.event_type, "schema_version": version, "payload": payload}


def canonical(doc: Mapping[str, Any]) -> bytes:
    """Sorted keys, compact separators, UTF-8, no NaN: the same bytes on every replay."""
    text = json.dumps(
        doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    return text.encode("utf-8")


def digest(doc: Mapping[str, Any]) -> str:
    """Lowercase hex sha256 of the canonical document."""
    return hashlib.sha256(canonical(doc)).hexdigest()


def sign_protocol(state: Scoring, cmd: SignProtocol) -> list[Event]:
    """The chair and the secretary sign; a forged signature is 422 ``signature_invalid``."""
    commission = require_commission(state)
    sitting = require_sitting(state, cmd.sitting_id)
    if sitting.signed is not None:
        raise Conflict("protocol_already_signed", f"sitting {cmd.sitting_id} is signed")
    if sitting.attendance is None:
        raise Conflict("attendance_not_recorded", "a protocol states who attended")
    signers: dict[Role, str] = {
        "chair": commission.chair_id,
        "secretary": commission.secretary.person_id,
    }
    _ensure_signers(cmd.signatures, signers)
    doc = document(state, cmd.sitting_id)
    wanted = digest(doc)
    if forged := [
        s for s in cmd.signatures if not verify_digest(s.public_key, wanted, s.signature)
    ]:
        refuse(
            [
                ErrorItem("signature_invalid", f"the {s.role}'s signature does not verify", s.role)
                for s in forged
            ]
        )
    return [
        ProtocolSigned(
            commission_id=commission.commission_id,
            sitting_id=cmd.sitting_id,
            digest=wanted,
            signatures=cmd.signatures,
            signed_at=cmd.at,
            format=doc["format"],
            names=doc.get("names"),
        )
    ]


def accept_signature(state: Scoring, sitting_id: str, signature: Signature, seen: str) -> str:
    """One signer's signature, checked on its own before the other arrives; returns the digest.

    ``seen`` is the digest the signer read and signed: when the protocol changed since, the
    signature is over another document (409 ``protocol_digest_mismatch``, naming the new one).
    """
    commission = require_commission(state)
    sitting = require_sitting(state, sitting_id)
    if sitting.signed is not None:
        raise Conflict("protocol_already_signed", f"sitting {sitting_id} is signed")
    if sitting.attendance is None:
        raise Conflict("attendance_not_recorded", "a protocol states who attended")
    wanted = digest(document(state, sitting_id))
    if seen != wanted:
        detail = f"the protocol changed since it was read: its digest is now {wanted}"
        raise Conflict("protocol_digest_mismatch", detail, digest=wanted)
    signers = {"chair": commission.chair_id, "secretary": commission.secretary.person_id}
    _ensure_signers((signature,), {signature.role: signers[signature.role]})
    if not verify_digest(signature.public_key, wanted, signature.signature):
        refuse([ErrorItem("signature_invalid", "the signature does not verify", "signature")])
    return wanted


def _ensure_signers(signatures: tuple[Signature, ...], signers: Mapping[Role, str]) -> None:
    roles = [s.role for s in signatures]
    if sorted(roles) != sorted(signers):
        missing = [str(r) for r in signers if r not in roles] or ["one signature per role"]
        refuse([ErrorItem("signature_missing", f"needed: {m}", "signatures") for m in missing])
    for signature in signatures:
        if signature.person_id != signers[signature.role]:
            raise Forbidden(
                f"signer_not_{signature.role}", f"{signature.person_id} is not the {signature.role}"
            )


@dataclass(frozen=True)
class Verification:
    """An auditor's verdict; ``problems`` names every failure (empty when valid)."""

    problems: tuple[str, ...]

    @property
    def valid(self) -> bool:
        return not self.problems


def verify(doc: Mapping[str, Any], signed: ProtocolSigned) -> Verification:
    """Recompute the digest of ``doc`` and check it and every signature against ``signed``.

    A v2 ``doc`` rebuilt from a log that knows less than scoring did at the signing (an
    auditor's replay of one commission's stream does not hold the republic's finalists'
    registrations) is checked with the names the ``ProtocolSigned`` keeps, and every name the
    log does state must be the one signed (``names_differ:<part>``). A protocol signed as v1
    (before names were signed) is checked as the v1 document: the facts alone."""
    problems: list[str] = []
    if signed.format == FORMAT_V1 and doc.get("format") != FORMAT_V1:
        # signed before names were signed: the facts alone, as v1 documents were built
        doc = {**{k: v for k, v in doc.items() if k != "names"}, "format": FORMAT_V1}
    stated = doc.get("names")
    if signed.names is not None and stated is not None and stated != signed.names:
        problems.extend(f"names_differ:{part}" for part in _differences(stated, signed.names))
        doc = {**doc, "names": signed.names}
    if digest(doc) != signed.digest:
        problems.append("digest_mismatch")
    for s in signed.signatures:
        if not verify_digest(s.public_key, signed.digest, s.signature):
            problems.append(f"signature_invalid:{s.role}")
    for role in ("chair", "secretary"):
        if role not in {s.role for s in signed.signatures}:
            problems.append(f"signature_missing:{role}")
    return Verification(problems=tuple(problems))


def _differences(stated: Mapping[str, Any], signed: Mapping[str, Any]) -> list[str]:
    """The parts of the names where the log states something other than what was signed (a
    candidate the log does not name is not a difference)."""
    parts = [
        k
        for k in sorted({*stated, *signed})
        if k != "candidates" and stated.get(k) != signed.get(k)
    ]
    named = signed.get("candidates") or {}
    parts += [
        f"candidate {cid}"
        for cid, c in sorted((stated.get("candidates") or {}).items())
        if named.get(cid) != c
    ]
    return parts
