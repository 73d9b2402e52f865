"""The protocol: read in the browser as it will be signed (reporting's rendering, in Kazakh or
Russian), its digest and what each signer signs, and the chair's and the secretary's
signatures — made on their own device (WebCrypto in this page, or ``uzdik sign-protocol``)
and sent to scoring, which verifies them."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from services.portal.backends import Problem, Refused
from services.portal.i18n import N_
from services.portal.pages.common import Json, commission
from services.portal.signers import SIGNERS
from services.portal.web import back_to, backends, form_of, lang_of, render, signed_in


def router() -> APIRouter:
    r = APIRouter()

    @r.get("/sittings/{sitting_id}/protocol", include_in_schema=False)
    async def protocol(sitting_id: str, request: Request) -> Response:
        return await show(request, sitting_id)

    @r.get("/sittings/{sitting_id}/protocol/document", include_in_schema=False)
    async def document(sitting_id: str, request: Request) -> Response:
        """Reporting's rendering of the protocol (kk or ru), as the person may read it."""
        me = signed_in(request)
        lang = "kk" if lang_of(request) == "kk" else "ru"
        lang = (
            request.query_params.get("doc", lang)
            if request.query_params.get("doc") in ("kk", "ru")
            else lang
        )
        answer = await backends(request).send(
            "reporting", "GET", f"/v1/protocols/{sitting_id}.html", me.token, params={"lang": lang}
        )
        return HTMLResponse(answer.text, headers={"Cache-Control": "no-store"})

    @r.get("/sittings/{sitting_id}/protocol.pdf", include_in_schema=False)
    async def pdf(sitting_id: str, request: Request) -> Response:
        """The signed protocol as reporting publishes it: PDF/A-3 carrying the signed document
        and its signatures (``uzdik verify-protocol`` checks it offline)."""
        me = signed_in(request)
        lang = "kk" if request.query_params.get("doc") == "kk" else "ru"
        answer = await backends(request).send(
            "reporting", "GET", f"/v1/protocols/{sitting_id}.pdf", me.token, params={"lang": lang}
        )
        saved = f'attachment; filename="protocol-{sitting_id}-{lang}.pdf"'
        return Response(
            answer.content,
            media_type="application/pdf",
            headers={"Content-Disposition": saved, "Cache-Control": "no-store"},
        )

    @r.post("/sittings/{sitting_id}/protocol/signatures", include_in_schema=False)
    async def sign(sitting_id: str, request: Request) -> Response:
        me = signed_in(request)
        form = await form_of(request)
        signer = SIGNERS.get(str(form.get("method", "ed25519")))
        digest = str(form.get("digest", ""))
        try:
            if signer is None:
                raise ValueError("unknown signing method")
            body = signer.body(digest, form)
        except ValueError as exc:
            problem = Problem(
                400,
                "signature_incomplete",
                str(exc),
                ({"field": "signature", "code": "signature_incomplete"},),
            )
            return await show(request, sitting_id, problem)
        try:
            answer = await backends(request).call(
                "scoring",
                "POST",
                f"/v1/sittings/{sitting_id}/protocol/signatures",
                me.token,
                json=body,
            )
        except Refused as refused:
            return await show(request, sitting_id, refused.problem)
        done = (
            N_("The protocol is signed by both and sealed.")
            if answer.get("signed")
            else N_("Your signature is recorded; the protocol waits for the other signature.")
        )
        return back_to(request, f"/sittings/{sitting_id}/protocol", flash=done)

    return r


async def show(request: Request, sitting_id: str, problem: Problem | None = None) -> Response:
    me = signed_in(request)
    api, lang = backends(request), lang_of(request)
    view: Json = await api.call("scoring", "GET", f"/v1/sittings/{sitting_id}/protocol", me.token)
    board = await commission(api, me, view["commission_id"])
    role = "chair" if me.has("chair") else "secretary" if me.has("secretary") else None
    given = view.get("pending_signatures") or []  # the signatures given so far, unsealed
    may_sign = role is not None and role not in given and view.get("signed") is None
    return render(
        request,
        "protocol.html",
        status=problem.status if problem else 200,
        problem=problem,
        fields=problem.fields if problem else {},
        view=view,
        board=board,
        title=board.title(lang),
        role=role,
        may_sign=may_sign,
        doc_lang="kk" if lang == "kk" else "ru",
    )
