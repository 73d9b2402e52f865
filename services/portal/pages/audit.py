"""The auditor's pages: find a candidate by name, then their whole trail — every sheet, who
gave it and when, every correction as a before/after with its reason — and each sitting's
protocol with its signatures' status and the signed PDF to verify independently."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.portal.backends import Refused
from services.portal.i18n import KIND_NAMES, place
from services.portal.pages.candidates import _recorded_at
from services.portal.pages.common import Json, names
from services.portal.web import backends, lang_of, render, signed_in

AUDITORS = ("auditor", "organiser")


def router() -> APIRouter:
    r = APIRouter()

    @r.get("/audit", include_in_schema=False)
    async def search(request: Request, q: str = "") -> Response:
        me = signed_in(request)
        api, lang = backends(request), lang_of(request)
        wanted = " ".join(q.split()).casefold()
        found: list[Json] = []
        if len(wanted) >= 2:
            boards = await api.pages("scoring", "/v1/commissions", me.token)
            lists = await asyncio.gather(
                *(
                    api.pages(
                        "scoring", f"/v1/commissions/{b['commission_id']}/candidates", me.token
                    )
                    for b in boards
                    if b.get("region")
                )
            )
            for listed in lists:
                for c in listed:
                    if wanted in " ".join(str(c["name"]).split()).casefold():
                        found.append(
                            {
                                **c,
                                "region_name": place(c["region"], lang),
                                "district_name": place(c["district"], lang),
                            }
                        )
        found.sort(key=lambda c: (str(c["name"]), str(c["region_name"])))
        return render(
            request,
            "audit.html",
            q=q,
            found=found,
            searched=len(wanted) >= 2,
            may=me.has(*AUDITORS),
        )

    @r.get("/audit/candidates/{candidate_id}", include_in_schema=False)
    async def trail(candidate_id: str, request: Request) -> Response:
        me = signed_in(request)
        api, lang = backends(request), lang_of(request)
        candidate: Json = await api.call(
            "scoring", "GET", f"/v1/candidates/{candidate_id}", me.token
        )
        history: Json = await api.call(
            "scoring", "GET", f"/v1/candidates/{candidate_id}/sheets", me.token
        )
        sheets: list[Json] = history["sheets"]
        sitting_ids = list(dict.fromkeys(s["sitting_id"] for s in sheets))
        sittings = await asyncio.gather(
            *(api.call("scoring", "GET", f"/v1/sittings/{sid}", me.token) for sid in sitting_ids)
        )
        protocols = await asyncio.gather(*(_protocol(api, me.token, sid) for sid in sitting_ids))
        boards = {s["commission_id"] for s in sittings} | {candidate["commission_id"]}
        people: dict[str, str] = {}
        criteria: dict[str, dict[str, str]] = {}
        for board_id in boards:
            view = await api.call("scoring", "GET", f"/v1/commissions/{board_id}", me.token)
            for m in [*view["members"], view["secretary"]]:
                people[m["person_id"]] = m["name"]
            rubrics = await api.call(
                "scoring", "GET", f"/v1/commissions/{board_id}/rubrics", me.token
            )
            for sheet in rubrics["sheets"]:
                criteria.setdefault(sheet["kind"], {}).update(
                    {c["key"]: names(c["name"], lang) for c in sheet["criteria"]}
                )
        times = await _recorded_at(api, me.token, sitting_ids)
        by_id = {s["sheet_id"]: s for s in sheets}
        rows = []
        for s in sheets:
            before = by_id.get(s["supersedes"] or "")
            was: dict[str, Any] = before["scores"] if before else {}
            changes = [
                {
                    "criterion": criteria.get(s["kind"], {}).get(k, k),
                    "before": was.get(k),
                    "after": v,
                    "changed": before is not None and was.get(k) != v,
                }
                for k, v in s["scores"].items()
            ]
            rows.append(
                {
                    **s,
                    "member": people.get(s["member_id"], s["member_id"]),
                    "recorded_at": times.get(s["sheet_id"]),
                    "kind_name": KIND_NAMES.get(s["kind"], s["kind"]),
                    "before_total": before["total"] if before else None,
                    "changes": changes,
                }
            )
        rows.sort(key=lambda s: str(s["recorded_at"] or ""))
        shown = [
            {**sitting, "protocol": p, "purpose_shown": _agenda(sitting, lang)}
            for sitting, p in zip(sittings, protocols, strict=True)
        ]
        return render(
            request,
            "audit_candidate.html",
            candidate=candidate,
            region_name=place(candidate["region"], lang),
            district_name=place(candidate["district"], lang),
            sheets=rows,
            corrections=[s for s in rows if s["supersedes"]],
            sittings=shown,
        )

    return r


async def _protocol(api: Any, token: str, sitting_id: str) -> Json | None:
    try:
        found: Json = await api.call("scoring", "GET", f"/v1/sittings/{sitting_id}/protocol", token)
    except Refused:
        return None
    return found


def _agenda(sitting: Json, lang: str) -> str:
    if lang == "kk" and sitting.get("purpose_kk"):
        return str(sitting["purpose_kk"])
    return str(sitting["purpose"])
