"""The organiser forms a commission (§3, §4, §5): its level and region, the chair, the voting
members and the secretary, with the posts and genders the protocols need. Scoring decides
whether the commission may be formed (its size, the chair's and secretary's posts, one per
region); the portal mints the ids and shows the refusal beside the inputs."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.portal.backends import Problem, Refused
from services.portal.i18n import N_, gettext, place
from services.portal.web import back_to, backends, form_of, lang_of, render, signed_in
from shared.territory import Level, load_territory

MEMBER_ROWS = 9
"""Rows offered for the voting members besides the chair (2020: nine members in all)."""

POSITIONS = {
    "head_of_regional_department": N_("head of the regional Department of the Agency"),
    "deputy_head_of_regional_department": N_("deputy head of the regional Department"),
    "agency_deputy_chairperson": N_("deputy chairperson of the Agency"),
    "agency_employee": N_("employee of the Agency"),
    "regional_department_employee": N_("employee of the regional Department"),
    "akimat_employee": N_("employee of the akimat"),
    "other": N_("other"),
}
GENDERS = {"female": N_("woman"), "male": N_("man")}


def router() -> APIRouter:
    r = APIRouter()

    @r.get("/organiser/editions/{edition_id}/commissions/new", include_in_schema=False)
    async def new(edition_id: str, request: Request) -> Response:
        return await show(request, edition_id, {})

    @r.post("/organiser/editions/{edition_id}/commissions", include_in_schema=False)
    async def form(edition_id: str, request: Request) -> Response:
        me = signed_in(request)
        typed = {k: str(v).strip() for k, v in (await form_of(request)).items()}
        body = commission_body(edition_id, typed)
        try:
            await backends(request).call(
                "scoring",
                "POST",
                "/v1/commissions",
                me.token,
                json=body,
                idempotency_key=f"portal-commission-{typed.get('commission_id')}",
            )
        except Refused as refused:
            return await show(request, edition_id, typed, refused.problem)
        return back_to(
            request,
            f"/organiser/editions/{edition_id}",
            flash=N_("The commission is formed. Its people can sign in now."),
        )

    return r


def _person(typed: dict[str, str], key: str, position: bool) -> dict[str, Any]:
    person: dict[str, Any] = {
        "person_id": typed.get(f"{key}.person_id") or str(uuid.uuid4()),
        "name": typed.get(f"{key}.name", ""),
    }
    if typed.get(f"{key}.gender"):
        person["gender"] = typed[f"{key}.gender"]
    if position and typed.get(f"{key}.position"):
        person["position"] = typed[f"{key}.position"]
    return person


def commission_body(edition_id: str, typed: dict[str, str]) -> dict[str, Any]:
    """Scoring's body from the form: the chair first among the members, empty rows left out."""
    chair = _person(typed, "chair", position=True)
    members = [chair] + [
        _person(typed, f"members.{i}", position=True)
        for i in range(MEMBER_ROWS)
        if typed.get(f"members.{i}.name")
    ]
    body: dict[str, Any] = {
        "commission_id": typed.get("commission_id") or str(uuid.uuid4()),
        "edition_id": edition_id,
        "level": typed.get("level") or "regional",
        "members": members,
        "chair_id": chair["person_id"],
        "secretary": _person(typed, "secretary", position=True),
    }
    if body["level"] == "regional":
        body["region"] = typed.get("region") or None
    return body


async def show(
    request: Request, edition_id: str, typed: dict[str, str], problem: Problem | None = None
) -> Response:
    me = signed_in(request)
    lang = lang_of(request)
    edition = await backends(request).call(
        "nominations", "GET", f"/v1/editions/{edition_id}", me.token
    )
    # the ids stay the same when a refused form is sent again (one commission, not two)
    typed = {**typed}
    typed.setdefault("commission_id", str(uuid.uuid4()))
    for key in ["chair", "secretary", *(f"members.{i}" for i in range(MEMBER_ROWS))]:
        typed.setdefault(f"{key}.person_id", str(uuid.uuid4()))
    regions = sorted(
        ((u.kato, place(u.kato, lang)) for u in load_territory().of_level(Level.region)),
        key=lambda kv: kv[1],
    )
    fields: dict[str, str] = {}
    for item in problem.errors if problem else ():
        where = str(item.get("field") or "")
        fields.setdefault(where, str(item.get("code") or ""))
    return render(
        request,
        "commission_form.html",
        status=problem.status if problem else 200,
        problem=problem,
        title=gettext(lang, "Form a commission"),
        edition=edition,
        typed=typed,
        regions=regions,
        positions=POSITIONS,
        genders=GENDERS,
        rows=range(MEMBER_ROWS),
        fields=fields,
    )
