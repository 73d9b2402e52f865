"""A sitting: open it (secretary), record attendance until quorate, the quorum in words, the
candidates to score (members), the way to decisions and to the protocol."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.portal.backends import Refused
from services.portal.i18n import KIND_NAMES, N_, place
from services.portal.pages.commission import STAGES
from services.portal.pages.commission import show as commission_page
from services.portal.pages.common import Json, candidates, commission, rubrics
from services.portal.web import back_to, backends, form_of, lang_of, render, signed_in


def router() -> APIRouter:
    r = APIRouter()

    @r.post("/commissions/{commission_id}/sittings", include_in_schema=False)
    async def open_sitting(commission_id: str, request: Request) -> Response:
        me = signed_in(request)
        form = await form_of(request)
        body: dict[str, Any] = {
            "commission_id": commission_id,
            "stage": form.get("stage", ""),
            "purpose": str(form.get("purpose", "")).strip(),
            "purpose_kk": str(form.get("purpose_kk", "")).strip() or None,
            "place": str(form.get("place", "")).strip() or None,
            "place_kk": str(form.get("place_kk", "")).strip() or None,
            "sitting_id": str(form.get("sitting_id") or uuid.uuid4()),
        }
        try:
            opened = await backends(request).call(
                "scoring",
                "POST",
                "/v1/sittings",
                me.token,
                json=body,
                idempotency_key=f"open-{body['sitting_id']}",
            )
        except Refused as refused:  # the form again, as typed, the problem beside its field
            return await commission_page(request, commission_id, refused.problem, body)
        return back_to(request, f"/sittings/{opened['id']}", flash=N_("The sitting is open."))

    @r.get("/sittings/{sitting_id}", include_in_schema=False)
    async def sitting_page(sitting_id: str, request: Request) -> Response:
        return await show(request, sitting_id)

    @r.post("/sittings/{sitting_id}/attendance", include_in_schema=False)
    async def attendance(sitting_id: str, request: Request) -> Response:
        me = signed_in(request)
        form = await form_of(request)
        present = form.get("present", [])
        present = present if isinstance(present, list) else [present]
        try:
            await backends(request).call(
                "scoring",
                "POST",
                f"/v1/sittings/{sitting_id}/attendance",
                me.token,
                json={"present": present},
            )
        except Refused as refused:
            return await show(request, sitting_id, problem=refused, status=refused.problem.status)
        return back_to(request, f"/sittings/{sitting_id}", flash=N_("Attendance recorded."))

    return r


async def show(
    request: Request, sitting_id: str, problem: Refused | None = None, status: int = 200
) -> Response:
    me = signed_in(request)
    api, lang = backends(request), lang_of(request)
    sitting: Json = await api.call("scoring", "GET", f"/v1/sittings/{sitting_id}", me.token)
    board = await commission(api, me, sitting["commission_id"])
    sheets = await rubrics(api, me, board.id)
    kinds = [k for k, s in sheets.items() if s["stage"] == sitting["stage"]]
    params = {"nominated": "true"} if sitting["stage"] == "stage1_interview" else {}
    listed = await candidates(api, me, board, params)
    mine: dict[str, dict[str, Json]] = {}
    if me.has("member", "chair") and sitting.get("quorate"):
        histories = await asyncio.gather(
            *(
                api.call("scoring", "GET", f"/v1/candidates/{c['candidate_id']}/sheets", me.token)
                for c in listed
            )
        )
        for c, history in zip(listed, histories, strict=True):
            mine[c["candidate_id"]] = {
                s["kind"]: s for s in history["sheets"] if s["member_id"] == me.sub and s["live"]
            }
    attendance = sitting.get("attendance")
    present = set(attendance["present"]) if attendance else set()
    stage_label = dict(STAGES).get(sitting["stage"], sitting["stage"])
    agenda = sitting.get("purpose_kk") if lang == "kk" and sitting.get("purpose_kk") else None
    return render(
        request,
        "sitting.html",
        status=status,
        problem=problem.problem if problem else None,
        sitting=sitting,
        board=board,
        title=board.title(lang),
        region_name=place(board.region, lang),
        stage_label=stage_label,
        agenda=agenda or sitting["purpose"],
        agenda_other=sitting.get("purpose_kk") if lang != "kk" else sitting["purpose"],
        members=board.view["members"],
        present=present,
        attendance=attendance,
        kinds=kinds,
        kind_names=KIND_NAMES,
        candidates=sorted(listed, key=lambda c: (place(c["district"], lang), c["name"])),
        place_of=lambda kato: place(kato, lang),
        mine=mine,
    )
