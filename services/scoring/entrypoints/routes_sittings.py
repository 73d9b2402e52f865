"""Sittings (§3): open, attendance and quorum, evaluation sheets, the protocol and its signing."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from services.scoring import handlers
from services.scoring.adapters import lookups, views
from services.scoring.domain import commands as cmd
from services.scoring.domain import protocol
from services.scoring.domain.sitting import require_sitting
from services.scoring.entrypoints.access import authorise, readable
from services.scoring.entrypoints.bodies import (
    Appended,
    Attendance,
    AttendanceBody,
    CorrectionBody,
    OpenSittingBody,
    Sheet,
    SheetBatchBody,
    SheetBody,
    Sheets,
    SignatureBody,
    Signing,
    VerifyBody,
)
from services.scoring.entrypoints.http import Api, new_id
from services.scoring.events import (
    AttendanceRecorded,
    ProtocolSigned,
    ScoreCorrected,
    ScoreRecorded,
    Signature,
)
from shared.auth import Principal
from shared.edge import principal
from shared.store.eventstore import UnitOfWork

SHEET_ROLES = ("member", "chair")


def sheet_of(event: ScoreRecorded | ScoreCorrected) -> Sheet:
    return Sheet(
        sheet_id=event.sheet_id,
        sitting_id=event.sitting_id,
        member_id=event.member_id,
        candidate_id=event.candidate_id,
        kind=event.kind,
        scores=dict(event.scores),
        derived=list(event.derived),
        total=event.total,
        supersedes=event.supersedes if isinstance(event, ScoreCorrected) else None,
    )


def router(api: Api) -> APIRouter:
    r = APIRouter(prefix="/v1", tags=["sittings"])
    _sitting_routes(r, api)
    _sheet_routes(r, api)
    _protocol_routes(r, api)
    return r


def _sitting_routes(r: APIRouter, api: Api) -> None:
    """A sitting opened, and who attended it."""
    repo = api.repo

    @r.post("/sittings", status_code=201, response_model=Appended)
    async def open_sitting(
        body: OpenSittingBody, request: Request, who: Principal = Depends(principal)
    ) -> object:
        """Open a sitting of a commission for one stage (secretary or chair)."""
        sitting_id = body.sitting_id or new_id()

        async def run(uow: UnitOfWork) -> Appended:
            actor = authorise(who, await repo.ref(uow, body.commission_id), "secretary", "chair")
            command = cmd.OpenSitting(
                sitting_id=sitting_id,
                stage=body.stage,
                purpose=body.purpose,
                purpose_kk=body.purpose_kk,
                place=body.place,
                place_kk=body.place_kk,
                at=api.ctx.now(),
            )
            cause = api.cause(request, actor)
            out = await handlers.open_sitting(
                uow, command, cause, repo=repo, commission_id=body.commission_id
            )
            return Appended(id=sitting_id, event_ids=out.event_ids)

        return await api.command(request, "open_sitting", run)

    @r.post("/sittings/{sitting_id}/attendance", status_code=201, response_model=Attendance)
    async def record_attendance(
        sitting_id: str, body: AttendanceBody, request: Request, who: Principal = Depends(principal)
    ) -> object:
        """Who is present; the answer says whether that is a quorum (≥ 2/3 of the members) and,
        if not, that nothing may be scored or decided at the sitting."""

        async def run(uow: UnitOfWork) -> Attendance:
            ref = await repo.sitting_ref(uow, sitting_id)
            actor = authorise(who, ref, "secretary", "chair")
            command = cmd.RecordAttendance(sitting_id=sitting_id, present=tuple(body.present))
            cause = api.cause(request, actor)
            out = await handlers.act(
                uow, command, cause, repo=repo, commission_id=ref.commission_id
            )
            (att,) = out.of_type(AttendanceRecorded)
            assert isinstance(att, AttendanceRecorded)
            return Attendance(
                id=sitting_id,
                event_ids=out.event_ids,
                present=list(att.present),
                absent=list(att.absent),
                members=att.members,
                required=att.required,
                quorate=att.quorate,
                detail=views.quorum_text(att),
            )

        return await api.command(request, "attendance", run)


def _sheet_routes(r: APIRouter, api: Api) -> None:
    """Members' sheets, one at a time or a batch, and their corrections."""
    repo = api.repo

    @r.post("/sittings/{sitting_id}/sheets", status_code=201, response_model=Sheet)
    async def record_sheet(
        sitting_id: str, body: SheetBody, request: Request, who: Principal = Depends(principal)
    ) -> object:
        """One evaluation sheet by the member of the token (``sub``) for one candidate."""

        async def run(uow: UnitOfWork) -> Sheet:
            out = await _sheets(uow, request, who, sitting_id, [body], items=None)
            return out.sheets[0]

        return await api.command(request, "record_sheet", run)

    @r.post("/sittings/{sitting_id}/sheets/batch", status_code=201, response_model=Sheets)
    async def record_sheets(
        sitting_id: str, body: SheetBatchBody, request: Request, who: Principal = Depends(principal)
    ) -> object:
        """Several sheets of the token's member at once: all recorded, or none (a refusal
        names the sheet: ``errors[].field`` = ``sheets.<index>…``, ``index`` its place)."""

        async def run(uow: UnitOfWork) -> Sheets:
            return await _sheets(uow, request, who, sitting_id, body.sheets, items="sheets")

        return await api.command(request, "record_sheets", run)

    async def _sheets(
        uow: UnitOfWork,
        request: Request,
        who: Principal,
        sitting_id: str,
        bodies: list[SheetBody],
        *,
        items: str | None,
    ) -> Sheets:
        ref = await repo.sitting_ref(uow, sitting_id)
        actor = authorise(who, ref, *SHEET_ROLES)
        commands = [
            cmd.RecordScore(
                sheet_id=b.sheet_id or new_id(),
                sitting_id=sitting_id,
                member_id=who.sub,
                candidate_id=b.candidate_id,
                kind=b.kind,
                scores=b.scores,
            )
            for b in bodies
        ]
        cause = api.cause(request, actor)
        out = await handlers.act_many(
            uow, commands, cause, repo=repo, commission_id=ref.commission_id, items=items
        )
        found = [sheet_of(e) for e in out.events if isinstance(e, ScoreRecorded)]
        return Sheets(sheets=found, event_ids=out.event_ids)

    @r.post("/sheets/{sheet_id}/corrections", status_code=201, response_model=Sheet)
    async def correct_sheet(
        sheet_id: str, body: CorrectionBody, request: Request, who: Principal = Depends(principal)
    ) -> object:
        """A new sheet supersedes the member's live one, for a reason; both stay in the history."""

        async def run(uow: UnitOfWork) -> Sheet:
            ref = await repo.sitting_ref(uow, body.sitting_id)
            actor = authorise(who, ref, *SHEET_ROLES)
            command = cmd.CorrectScore(
                sheet_id=body.sheet_id or new_id(),
                supersedes=sheet_id,
                sitting_id=body.sitting_id,
                member_id=who.sub,
                reason=body.reason,
                scores=body.scores,
            )
            cause = api.cause(request, actor)
            out = await handlers.act(
                uow, command, cause, repo=repo, commission_id=ref.commission_id
            )
            (event,) = out.of_type(ScoreCorrected)
            assert isinstance(event, ScoreCorrected)
            return sheet_of(event)

        return await api.command(request, "correct_sheet", run)


def _protocol_routes(r: APIRouter, api: Api) -> None:
    """A sitting read back, its protocol, its signatures, and a protocol verified."""
    repo = api.repo

    @r.get("/sittings/{sitting_id}", response_model=views.SittingView)
    async def get_sitting(
        sitting_id: str, who: Principal = Depends(principal)
    ) -> views.SittingView:
        """A sitting: its stage, attendance and quorum, and whether its protocol is signed."""
        async with api.reading() as uow:
            ref = await repo.sitting_ref(uow, sitting_id)
            readable(who, ref)
            state = (await repo.load(uow, ref.commission_id)).state
            return views.sitting_view(state, require_sitting(state, sitting_id))

    @r.get("/sittings/{sitting_id}/protocol", response_model=views.ProtocolView)
    async def get_protocol(
        sitting_id: str, who: Principal = Depends(principal)
    ) -> views.ProtocolView:
        """The protocol: the canonical document (attendance, quorum, every sheet, rankings with
        their tie-break steps, decisions), its sha256 digest, and the signatures once signed."""
        async with api.reading() as uow:
            ref = await repo.sitting_ref(uow, sitting_id)
            readable(who, ref)
            state = (await repo.load(uow, ref.commission_id)).state
            require_sitting(state, sitting_id)
            view = views.protocol_view(state, sitting_id, [])
            # a signature counts only over the digest as it stands: one given before a later
            # sheet changed the protocol is asked for again (sealing ignores it too)
            pending = []
            for role in ("chair", "secretary"):
                doc = await uow.docs.get(lookups.SIGNATURE, f"{sitting_id}/{role}")
                if doc is not None and doc["digest"] == view.digest:
                    pending.append(role)
            return views.protocol_view(state, sitting_id, pending)

    @r.post("/sittings/{sitting_id}/protocol/signatures", status_code=201, response_model=Signing)
    async def sign_protocol(
        sitting_id: str, body: SignatureBody, request: Request, who: Principal = Depends(principal)
    ) -> object:
        """The chair or the secretary (the token's subject) signs the digest they read with their
        Ed25519 key. With both signatures over the same digest, ``ProtocolSigned`` seals it."""

        async def run(uow: UnitOfWork) -> Signing:
            ref = await repo.sitting_ref(uow, sitting_id)
            actor = authorise(who, ref, "chair", "secretary")
            role = "chair" if actor.role == "chair" else "secretary"
            signature = Signature(
                role=role, person_id=who.sub, public_key=body.public_key, signature=body.signature
            )
            command = cmd.GiveSignature(sitting_id, signature, body.digest)
            done = await handlers.sign(uow, command, api.cause(request, actor), repo=repo)
            return Signing(
                sitting_id=sitting_id,
                digest=done.digest,
                signed=done.outcome is not None,
                waiting_for=list(done.waiting_for),
                event_ids=done.outcome.event_ids if done.outcome else [],
            )

        return await api.command(request, "sign_protocol", run)

    @r.post("/protocols/verification", response_model=views.Verification)
    async def verify_protocol(
        body: VerifyBody, who: Principal = Depends(principal)
    ) -> views.Verification:
        """Check a protocol as published: its digest recomputed, every signature verified."""
        signed = ProtocolSigned(
            commission_id="-",
            sitting_id="-",
            digest=body.signed.digest,
            signatures=tuple(Signature(**s.model_dump()) for s in body.signed.signatures),
            signed_at=api.ctx.now(),
            # the published document says its own shape: its digest is what was signed
            format=str(body.document.get("format") or protocol.FORMAT_V1),
        )
        verdict = protocol.verify(body.document, signed)
        return views.Verification(valid=verdict.valid, problems=list(verdict.problems))
