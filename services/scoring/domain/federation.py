"""The republic's examination of a region's finalist (ARCHITECTURE "Regions and the republic").

A region's deployment publishes its finalist's dossier: the candidate, and the signed regional
protocol that selected them — its parts (the commission, the ``SittingOpened``, every record as
the region's reporting folded it), the digest the chair and the secretary signed and their
signatures, and the chain link (the ``ProtocolSigned`` event as stored) that sealed it.

The republic admits the finalist only when

* the region is trusted for the edition (``RegionTrusted``: its issuer and its commission's
  signing keys, registered by the republic's organiser as edition data), the dossier names that
  issuer and that commission;
* the protocol rebuilt from its parts, every record as written, has the signed digest; the
  chair's and the secretary's signatures verify over it with keys the republic trusts for those
  roles; the sealing ``ProtocolSigned`` names the same sitting and digest, and its chain link
  recomputes (checked by the caller, which holds the kernel's hash);
* the protocol's ``FinalistSelected`` names the dossier's candidate in the dossier's region.

* it arrived before stage II opened (the edition's materials deadline, §18).

The finalist admitted is the one in the signed records, not a copy beside them: what stage II
folds is what the regional commission signed. A dossier that does not verify is held
(``FinalistHeld``) with every problem named, and examined again when a later dossier arrives or
the region is trusted (at the time it first arrived). Only a verified dossier is refused as
late (``FinalistRefused``): what both sides see as refused is the region's own finalist, not
whatever reached the topic.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from services.scoring.domain.protocol import assemble, digest
from services.scoring.domain.signatures import same_key, verify_digest
from services.scoring.events import (
    FinalistAdmitted,
    FinalistHeld,
    FinalistRefused,
    Problem,
    RegionTrusted,
    registry,
)
from shared.events import Event, UnknownEvent

Doc = Mapping[str, Any]


def examine(
    dossier: Doc,
    trust: RegionTrusted | None,
    *,
    deadline: datetime | None,
    arrived_at: datetime,
    seal_problem: str | None,
) -> Event:
    """``FinalistAdmitted``, ``FinalistHeld`` or ``FinalistRefused`` for one dossier."""
    edition, region = str(dossier.get("edition_id")), str(dossier.get("region"))
    candidate = dict(dossier.get("candidate") or {})
    candidate_id = str(candidate.get("candidate_id") or dossier.get("candidate_id") or "?")
    problems, finalist = _problems(dossier, trust, seal_problem)
    if problems or finalist is None or trust is None:
        held = problems or [Problem(code="finalist_missing", detail="no finalist was signed")]
        return FinalistHeld(
            edition_id=edition, region=region, candidate_id=candidate_id, problems=tuple(held)
        )
    if deadline is not None and arrived_at > deadline:
        reason = (
            f"the finalist of region {region} arrived at {arrived_at.isoformat()}, after stage II "
            f"opened at {deadline.isoformat()} (§18: the materials' deadline)"
        )
        return FinalistRefused(
            edition_id=edition,
            region=region,
            candidate_id=candidate_id,
            reason=reason,
            deadline=deadline,
            arrived_at=arrived_at,
        )
    version, payload = finalist
    protocol = dossier["protocol"]
    seal = dossier["seal"]
    return FinalistAdmitted(
        edition_id=edition,
        region=region,
        issuer=trust.issuer,
        candidate_id=candidate_id,
        name=str(candidate.get("name") or candidate_id),
        district=candidate.get("district"),
        rural_district=candidate.get("rural_district"),
        gender=candidate.get("gender"),
        finalist=payload,
        finalist_schema_version=version,
        source_commission_id=str(protocol["commission"]["commission_id"]),
        source_sitting_id=str(protocol["opened_event"]["payload"]["sitting_id"]),
        protocol_digest=str(protocol["digest"]),
        chain_position=int(seal["global_position"]),
        chain_hash=str(seal["hash"]),
        published_at=dossier["published_at"],
    )


def _problems(
    dossier: Doc, trust: RegionTrusted | None, seal_problem: str | None
) -> tuple[list[Problem], tuple[int, dict[str, Any]] | None]:
    region = dossier.get("region")
    problems: list[Problem] = []

    def problem(code: str, detail: str) -> None:
        problems.append(Problem(code=code, detail=detail))

    if trust is None:
        problem("region_not_trusted", f"the republic has registered no keys for region {region}")
    elif dossier.get("issuer") != trust.issuer:
        problem(
            "issuer_unknown",
            f"the dossier names issuer {dossier.get('issuer')!r}, "
            f"the republic trusts {trust.issuer!r} for region {region}",
        )
    try:
        protocol = dossier["protocol"]
        doc = rebuilt(protocol, (dossier.get("seal") or {}).get("payload"))
    except (KeyError, TypeError, ValueError, UnknownEvent) as error:
        problem("dossier_malformed", f"the protocol cannot be rebuilt: {error!s}"[:400])
        return problems, None
    signed = str(protocol.get("digest"))
    if digest(doc) != signed:
        problem(
            "protocol_altered",
            f"the protocol rebuilt from the dossier has digest "
            f"{digest(doc)}, the chair and the secretary signed {signed}",
        )
    commission = doc["commission"]
    if commission.get("region") != region or commission.get("level") != "regional":
        problem(
            "protocol_not_of_region",
            f"the protocol is of {commission.get('level')} "
            f"commission {commission.get('region')}, not region {region}",
        )
    if commission.get("edition_id") != dossier.get("edition_id"):
        problem("protocol_not_of_edition", "the protocol is of another edition")
    if trust is not None and commission.get("commission_id") != trust.commission_id:
        problem(
            "commission_unknown",
            f"the protocol is of commission "
            f"{commission.get('commission_id')}, the republic trusts {trust.commission_id}",
        )
    problems.extend(_signature_problems(protocol, signed, trust))
    if seal_problem:
        problem("seal_invalid", seal_problem)
    seal = dossier.get("seal") or {}
    sealed = seal.get("payload") or {}
    if sealed.get("digest") != signed or sealed.get("sitting_id") != doc["sitting"].get(
        "sitting_id"
    ):
        problem("seal_invalid", "the sealing ProtocolSigned names another sitting or digest")
    finalist = _finalist(protocol, dossier)
    if finalist is None:
        problem("finalist_not_in_protocol", "the signed protocol selects no such finalist")
    return problems, finalist


def rebuilt(protocol: Doc, sealed: Doc | None = None) -> dict[str, Any]:
    """The canonical protocol from the dossier's parts, every record as written; a v2 one
    with the register its sealing ``ProtocolSigned`` (``sealed``: the seal's payload) keeps."""
    opened = protocol["opened_event"]
    _, sitting = registry.as_written(
        "SittingOpened", int(opened["schema_version"]), dict(opened["payload"])
    )
    records = []
    for r in protocol["records"]:
        version, payload = registry.as_written(
            str(r["event_type"]), int(r["schema_version"]), dict(r["payload"])
        )
        records.append(
            {"event_type": r["event_type"], "schema_version": version, "payload": payload}
        )
    names = (sealed or {}).get("names")
    return assemble(protocol["commission"], sitting, records, names)


def _signature_problems(protocol: Doc, signed: str, trust: RegionTrusted | None) -> list[Problem]:
    found: list[Problem] = []
    signatures = {str(s.get("role")): s for s in protocol.get("signatures") or ()}
    for role in ("chair", "secretary"):
        s = signatures.get(role)
        if s is None:
            found.append(Problem(code="signature_missing", detail=f"no {role}'s signature"))
            continue
        key = str(s.get("public_key"))
        if not verify_digest(key, signed, str(s.get("signature"))):
            found.append(
                Problem(code="signature_invalid", detail=f"the {role}'s signature does not verify")
            )
        if trust is not None and not any(
            k.role == role and k.person_id == s.get("person_id") and same_key(k.public_key, key)
            for k in trust.keys
        ):
            found.append(
                Problem(
                    code="signer_not_trusted",
                    detail=f"the {role}'s key is not one the republic registered for the region",
                )
            )
    return found


def _finalist(protocol: Doc, dossier: Doc) -> tuple[int, dict[str, Any]] | None:
    """The signed ``FinalistSelected`` of the dossier's candidate, upcast to the newest version."""
    candidate = (dossier.get("candidate") or {}).get("candidate_id")
    for r in protocol["records"]:
        if r.get("event_type") != "FinalistSelected":
            continue
        version, payload = registry.newest(
            "FinalistSelected", int(r["schema_version"]), dict(r["payload"])
        )
        if payload.get("candidate_id") == candidate and payload.get("region") == dossier.get(
            "region"
        ):
            return version, payload
    return None
