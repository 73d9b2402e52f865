"""A member's scoring forms (Annex 4, Annex 6, the interview sheet, Annex 7): each criterion
by its name in the person's language with its scale, a draft kept until submitted, a
correction that asks for its reason, and a recusal with its reason.

The service decides everything (the scale, who may score, the quorum, the stage); the page
shows its refusals next to the fields they name, in the page's language.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.portal.backends import Problem, Refused
from services.portal.i18n import KIND_NAMES, N_, place
from services.portal.pages.common import Json, commission, names, rubrics
from services.portal.web import Person, back_to, backends, form_of, lang_of, render, signed_in

DRAFTS = 6
"""Drafts kept in the session at once (the oldest goes first): a cookie holds a few KB."""


def router() -> APIRouter:
    r = APIRouter()
    path = "/sittings/{sitting_id}/candidates/{candidate_id}/sheets/{kind}"

    @r.get(path, include_in_schema=False)
    async def sheet_form(
        sitting_id: str, candidate_id: str, kind: str, request: Request
    ) -> Response:
        me = signed_in(request)
        return await show(request, me, sitting_id, candidate_id, kind)

    @r.post(path, include_in_schema=False)
    async def submit(sitting_id: str, candidate_id: str, kind: str, request: Request) -> Response:
        me = signed_in(request)
        form = await form_of(request)
        scores = scores_of(form)
        key = f"{sitting_id}|{candidate_id}|{kind}"
        drafts: dict[str, Any] = dict(request.session.get("drafts") or {})
        if form.get("action") == "draft":
            drafts.pop(key, None)
            drafts[key] = {"scores": scores, "reason": str(form.get("reason", ""))[:500]}
            request.session["drafts"] = dict(list(drafts.items())[-DRAFTS:])
            here = f"/sittings/{sitting_id}/candidates/{candidate_id}/sheets/{kind}"
            return back_to(
                request, here, flash=N_("Draft kept. It is not recorded until you submit it.")
            )
        api = backends(request)
        nonce = str(form.get("nonce") or uuid.uuid4())
        corrects = str(form.get("corrects") or "")
        try:
            if corrects:
                body: Json = {
                    "sitting_id": sitting_id,
                    "scores": scores,
                    "reason": str(form.get("reason", "")).strip(),
                    "sheet_id": nonce,
                }
                recorded = await api.call(
                    "scoring",
                    "POST",
                    f"/v1/sheets/{corrects}/corrections",
                    me.token,
                    json=body,
                    idempotency_key=f"sheet-{nonce}",
                )
            else:
                body = {
                    "candidate_id": candidate_id,
                    "kind": kind,
                    "scores": scores,
                    "sheet_id": nonce,
                }
                recorded = await api.call(
                    "scoring",
                    "POST",
                    f"/v1/sittings/{sitting_id}/sheets",
                    me.token,
                    json=body,
                    idempotency_key=f"sheet-{nonce}",
                )
        except Refused as refused:
            if refused.problem.status == 401:  # the token expired mid-form: nothing is lost
                drafts.pop(key, None)
                drafts[key] = {"scores": scores, "reason": str(form.get("reason", ""))[:500]}
                request.session["drafts"] = dict(list(drafts.items())[-DRAFTS:])
                request.session["flash"] = N_(
                    "Your sign-in had expired, so the sheet was not recorded. Your entries are "
                    "kept: check them and submit again."
                )
                raise
            return await show(
                request,
                me,
                sitting_id,
                candidate_id,
                kind,
                entered=scores,
                reason=str(form.get("reason", "")),
                problem=refused.problem,
                nonce=nonce,
            )
        drafts.pop(key, None)
        request.session["drafts"] = drafts
        request.session["flash_total"] = recorded.get("total")
        return back_to(
            request, f"/sittings/{sitting_id}#candidate-{candidate_id}", flash=N_("Sheet recorded.")
        )

    @r.post("/sittings/{sitting_id}/candidates/{candidate_id}/recusal", include_in_schema=False)
    async def recuse(sitting_id: str, candidate_id: str, request: Request) -> Response:
        me = signed_in(request)
        form = await form_of(request)
        sitting = await backends(request).call(
            "scoring", "GET", f"/v1/sittings/{sitting_id}", me.token
        )
        body = {"candidate_id": candidate_id, "reason": str(form.get("reason", "")).strip()}
        try:
            await backends(request).call(
                "scoring",
                "POST",
                f"/v1/commissions/{sitting['commission_id']}/recusals",
                me.token,
                json=body,
            )
        except Refused as refused:
            kind = str(form.get("kind", "project"))
            return await show(
                request,
                me,
                sitting_id,
                candidate_id,
                kind,
                problem=refused.problem,
                recusal_reason=body["reason"],
            )
        return back_to(request, f"/sittings/{sitting_id}", flash=N_("Your recusal is recorded."))

    return r


def scores_of(form: dict[str, Any]) -> dict[str, Any]:
    """``score.<criterion>`` fields as whole numbers (anything else is sent as written, and
    the service names it)."""
    found: dict[str, Any] = {}
    for name, value in form.items():
        if not name.startswith("score.") or value in ("", None):
            continue
        text = str(value).strip()
        found[name.removeprefix("score.")] = int(text) if text.lstrip("-").isdigit() else text
    return found


async def show(
    request: Request,
    me: Person,
    sitting_id: str,
    candidate_id: str,
    kind: str,
    *,
    entered: dict[str, Any] | None = None,
    reason: str = "",
    problem: Problem | None = None,
    nonce: str | None = None,
    recusal_reason: str = "",
) -> Response:
    api, lang = backends(request), lang_of(request)
    sitting = await api.call("scoring", "GET", f"/v1/sittings/{sitting_id}", me.token)
    board = await commission(api, me, sitting["commission_id"])
    sheets = await rubrics(api, me, board.id)
    if kind not in sheets:
        raise Refused(Problem(404, "sheet_kind_unknown", f"no sheet of kind {kind!r}"))
    candidate = await api.call("scoring", "GET", f"/v1/candidates/{candidate_id}", me.token)
    history = await api.call("scoring", "GET", f"/v1/candidates/{candidate_id}/sheets", me.token)
    live = next(
        (
            s
            for s in history["sheets"]
            if s["member_id"] == me.sub and s["kind"] == kind and s["live"]
        ),
        None,
    )
    draft = (request.session.get("drafts") or {}).get(f"{sitting_id}|{candidate_id}|{kind}")
    values: dict[str, Any] = dict(live["scores"]) if live else {}
    if draft:
        values.update(draft.get("scores") or {})
        reason = reason or str(draft.get("reason") or "")
    if entered is not None:
        values = entered
    rubric = sheets[kind]
    criteria = [
        {
            "key": c["key"],
            "number": c["number"],
            "name": names(c["name"], lang),
            "max": c["max"],
            "value": values.get(c["key"]),
        }
        for c in rubric["criteria"]
        if not c["derived"]
    ]
    recused = any(
        r["member_id"] == me.sub and r["candidate_id"] == candidate_id
        for r in board.view["recusals"]
    )
    return render(
        request,
        "sheet.html",
        status=problem.status if problem else 200,
        problem=problem,
        fields=problem.fields if problem else {},
        sitting=sitting,
        board=board,
        title=names(rubric["title"], lang),
        kind=kind,
        kind_name=KIND_NAMES.get(kind, kind),
        candidate=candidate,
        district=place(candidate["district"], lang),
        criteria=criteria,
        live=live,
        drafted=bool(draft),
        reason=reason,
        nonce=nonce or str(uuid.uuid4()),
        recused=recused,
        recusal_reason=recusal_reason,
    )
